#!/usr/bin/env python3
"""Sync the data lake into Hive and the warehouse; --help lists the options.

The same command as the console script iptv-sync-lake; its code is iptv.lake_sync_cli."""

from iptv.lake_sync_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
