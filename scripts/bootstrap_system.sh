#!/usr/bin/env bash
# Debian packages the stack needs: Maven (to resolve Kafka, Hadoop, NiFi from Maven Central),
# PostgreSQL 15 (the Greenplum stand-in); for the browser test of the NiFi canvas
# (tests/integration/test_nifi_canvas.py) Debian's Chromium + ChromeDriver (nothing may download a browser) and
# the NSS tools that import the admin's client certificate into Chromium's store. Installs only what is missing.
set -euo pipefail
need=()
command -v mvn >/dev/null 2>&1 || need+=(maven)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v pk12util >/dev/null 2>&1 || need+=(libnss3-tools)
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian package starts its own cluster on 5432; the stack runs its own, so stop that one.
  if [[ " ${need[*]} " == *" postgresql-15 "* ]]; then
    (service postgresql stop || pg_ctlcluster 15 main stop || true) >/dev/null 2>&1
  fi
fi
