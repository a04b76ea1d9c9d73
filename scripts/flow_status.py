#!/usr/bin/env python3
"""Operator's view of the IPTV NiFi flows; --help lists the options.

The same command as the console script iptv-flow-status; its code is iptv.nifi.status."""

from iptv.nifi.status import main

if __name__ == "__main__":
    raise SystemExit(main())
