#!/usr/bin/env python3
"""Deploy or upgrade the IPTV NiFi flows; --help lists the options.

The same command as the console script iptv-deploy-flows; its code is iptv.nifi.deploy_cli."""

from iptv.nifi.deploy_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
