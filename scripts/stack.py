#!/usr/bin/env python3
"""Control the local data platform: install, up, down, status, logs; --help lists the options.

The same command as the console script iptv-stack; its code is local_stack.cli."""

from local_stack.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
