#!/usr/bin/env python3
"""Reconcile the pipeline's counts end to end (Kafka -> lake -> warehouse -> marts); --help lists the options.

The same command as the console script iptv-reconcile; its code is iptv.reconcile_cli."""

from iptv.reconcile_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
