#!/usr/bin/env python3
"""Deploy the Superset dashboards of superset/; --help lists the options.

The same command as the console script iptv-deploy-dashboards; its code is iptv.superset.deploy_cli."""

from iptv.superset.deploy_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
