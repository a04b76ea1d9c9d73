#!/usr/bin/env python3
"""Check the data platform end to end; --help lists the options.

The same command as the console script iptv-platform-check; its code is iptv.platform_check_cli."""

from iptv.platform_check_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
