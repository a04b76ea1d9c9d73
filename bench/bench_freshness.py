#!/usr/bin/env python
"""Freshness at an operator's scale (issue #15): the day so far of 1,000,000 subscribers already in the warehouse,
then a live stream in real time for 10 minutes; how long a session takes from its end to its row in fact_session
and its minutes in mart_hourly.

    .venv/bin/python bench/bench_freshness.py                        # 1,000,000 subscribers, from 21:00, 10 min
    .venv/bin/python bench/bench_freshness.py --users 200000 --start 18:00 --seed 3

bench/bench_soak.py with --preload, no faults and its own results (bench/results/bench_freshness*.json/csv):
the sessions of --date that end before --start are landed on the lake as the flow lands them and the bench waits
until the warehouse holds them; then the producer's real-time mode (`live --start`, the day from --start at
speed 1: `--from-now` with a chosen clock) streams for --minutes while the bench samples, every --poll seconds,
the run's sessions in fact_session (mart_hourly is written in the same transaction), PSS and CPU of every engine
and ERROR bulletins. Prints p50, p95 and max lag and the p95 against the goal of 30 s as a ratio, side by side
with the stack's memory and CPU. Every bench_soak option applies. --date and --start must be within 48 hours of now
(the ingestion quarantines a timer that far from its Kafka timestamp as implausible_timer); a --seed of its own
keeps the run's sessions apart from an earlier run of the same date.
"""

from __future__ import annotations

import sys

import bench_soak

DEFAULTS = ["--preload", "--minutes", "10", "--warmup", "3", "--faults", "0", "--start", "21:00", "--name",
            "bench_freshness"]  # fmt: skip

if __name__ == "__main__":
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__)
    sys.exit(bench_soak.main([*DEFAULTS, *sys.argv[1:]]))
