#!/usr/bin/env python3
"""`make demo`: the local stack up and a week of viewing through the pipeline; --help lists the options.

The same command as the console script iptv-demo; its code is local_stack.demo."""

from local_stack.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
