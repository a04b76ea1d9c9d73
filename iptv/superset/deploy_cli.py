"""Deploy the Superset dashboards of superset/ (database, datasets, charts, dashboards) to the configured Superset.

    .venv/bin/python scripts/deploy_dashboards.py             # deploy what changed, set up the viewer login
    .venv/bin/python scripts/deploy_dashboards.py --dry-run   # print the plan only
    .venv/bin/python scripts/deploy_dashboards.py --export    # write the instance's dashboards back into superset/

Deploy: log in as the admin (superset.credentials_file), compare the tree with the instance's export of the same
dashboards, and if anything differs import the whole tree with overwrite (the warehouse connection as the
read-only role, its password from postgres.credentials_file). A second deploy changes nothing. Then the viewer
role and login (read-only: published dashboards, no edits, no SQL Lab) are made to match.
--export: the dashboards as the instance has them (edited in the UI, say), normalised into the tree's files so
`git diff superset/` shows the change.
Exit codes: 0 done (or, with --dry-run, nothing to change); 1 error; 2 usage; 3 --dry-run found changes.
"""

from __future__ import annotations

import argparse
import logging
import sys

import requests

from iptv.config import ConfigError, load_config
from iptv.superset import bundle, deploy
from iptv.superset.client import SupersetError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    mode.add_argument("--export", action="store_true", help="write the instance's dashboards into the tree")
    ap.add_argument("--no-viewer", action="store_true", help="do not touch the viewer role and login")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        cfg = load_config(args.config)
        if args.export:
            touched = deploy.export(cfg)
            for path in touched:
                print(f"  wrote superset/{path}")
            print(f"exported: {len(touched)} file(s) changed in superset/")
            return 0
        report = deploy.deploy(cfg, dry_run=args.dry_run, viewer=not args.no_viewer)
    except (ConfigError, SupersetError, bundle.TreeError, requests.RequestException) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    for what in ("create", "update"):
        for path in report.plan[what]:
            print(f"  {what:7} superset/{path}")
    counts = ", ".join(f"{len(v)} {k}" for k, v in report.plan.items())
    if args.dry_run:
        print(f"plan: {counts}")
        return 3 if report.changed else 0
    for title, url in report.dashboards.items():
        print(f"  {title}: {url}")
    viewer = report.viewer
    if viewer:
        extra = ", ".join(
            k for k in ("role_created", "permissions_set", "user_created", "user_roles_set") if k in viewer
        )
        print(f"  viewer login {viewer['user']} (role {viewer['role']}){': ' + extra if extra else ''}")
    print(f"deployed: {counts}{' (imported)' if report.imported else ' (nothing to import)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
