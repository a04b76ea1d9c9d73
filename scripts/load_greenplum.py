#!/usr/bin/env python3
"""Load the IPTV warehouse (Greenplum, or PostgreSQL locally); --help lists the options.

The same command as the console script iptv-load-greenplum; its code is iptv.warehouse_cli."""

from iptv.warehouse_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
