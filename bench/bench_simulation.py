#!/usr/bin/env python
"""Benchmark: the producer's model simulating a week of subscribers, against writing the same sessions as CSV.

    .venv/bin/python bench/bench_simulation.py [--users 10000] [--days 7] [--rounds 3]

Times per round, side by side:

- simulate: ``producer.model.Simulator(users, seed=round).days(monday, days)`` (the week the calibration test
  checks against the rating table);
- csv (the reference): pandas writing the same sessions (five columns, one row each) to a CSV file in a
  temporary directory -- the cost of merely putting those rows on disk.

Prints the median seconds of each, the sessions per second of the model and the ratio simulate/csv; the goal is a
week of 10,000 subscribers within 30 s on this machine, a ratio of at most 3 (a model that is a small multiple of
writing its own output). Writes bench/results/bench_simulation.json (git-ignored). Needs no service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from producer.model import Sessions, Simulator

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "bench_simulation.json"
MONDAY = dt.date(2025, 3, 3)
GOAL_SECONDS = 30.0
GOAL_RATIO = 3.0


def write_csv(sessions: Sessions, path: Path) -> None:
    frame = pd.DataFrame(
        {
            "session_id": sessions.session_id,
            "user_id": sessions.user_id,
            "channel_id": sessions.channel_id,
            "start": sessions.start,
            "end": sessions.end,
        }
    )
    frame.to_csv(path, index=False, header=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=10_000, help="subscribers (default 10,000)")
    ap.add_argument("--days", type=int, default=7, help="days from a Monday (default 7)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    args = ap.parse_args()
    console = Console()
    simulate, csv, sessions = [], [], 0
    with tempfile.TemporaryDirectory(prefix="iptv-bench-simulation-") as tmp:
        for r in range(args.rounds):
            t0 = time.perf_counter()
            week = Simulator(args.users, seed=r).days(MONDAY, args.days)
            simulate.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            write_csv(week, Path(tmp) / f"round-{r}.csv")
            csv.append(time.perf_counter() - t0)
            sessions = len(week)
            console.print(f"round {r + 1}/{args.rounds}: {sessions:,} sessions, simulate {simulate[-1]:.2f} s, "
                          f"csv {csv[-1]:.2f} s")  # fmt: skip
    sim_s, csv_s = statistics.median(simulate), statistics.median(csv)
    ratio = sim_s / csv_s
    table = Table(title=f"{args.users:,} subscribers x {args.days} days ({sessions:,} sessions), median of "
                        f"{args.rounds}")  # fmt: skip
    for col in ("run", "seconds", "sessions/s"):
        table.add_column(col, justify="right")
    table.add_row("simulate", f"{sim_s:.2f}", f"{sessions / sim_s:,.0f}")
    table.add_row("csv (reference)", f"{csv_s:.2f}", f"{sessions / csv_s:,.0f}")
    console.print(table)
    met = sim_s <= GOAL_SECONDS and ratio <= GOAL_RATIO
    console.print(f"simulate/csv = {ratio:.2f} (goal <= {GOAL_RATIO:g}; {sim_s:.1f} s, goal <= {GOAL_SECONDS:g} s): "
                  f"{'met' if met else 'NOT met'}")  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "users": args.users,
                "days": args.days,
                "sessions": sessions,
                "simulate_s": simulate,
                "csv_s": csv,
                "ratio": ratio,
                "goal_met": met,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
