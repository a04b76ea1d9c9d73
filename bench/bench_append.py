#!/usr/bin/env python
"""Benchmark: what one sync of a live day costs in the warehouse -- appending a few seconds of new sessions to a
day already loaded, against reloading the whole day (what every sync did before the ledger).

    PYTHONPATH=tests .venv/bin/python bench/bench_append.py [--users 1000000] [--date 2026-03-04] [--seed 0] \
        [--at 21:00] [--batch-seconds 5] [--batches 12] [--files 8]

Simulates one day of --users subscribers with the producer's model (Python API, no Kafka) and a programme guide
for every channel (bench_programmes.write_guide). The sessions that end before --at (the day so far) are written
as --files files in time_end order, as the flow lands them; those ending in the next --batches windows of
--batch-seconds each are one file per window (what the ingestion flow lands in that time). Into a bench-only
warehouse schema (not timed: DDL, dimensions, the guide, a whole load of the day so far), it times side by side:

- append: each window's file arriving alone, loaded with iptv.warehouse.load_sessions(append=True) as the lake
  sync does (the ledger finds the one new file; its sessions are added to the facts and to every mart of the
  dates they reach);
- whole (the reference): iptv.warehouse.load_sessions of the whole date from all those files, once at the end
  (every mart of the date and the next recomputed from the facts).

Prints the median and the largest append, the whole reload, their ratio and the sessions per window; checks that
the marts after the appends equal the marts the whole reload recomputes (every mart table, viewers counted
included) and writes bench/results/bench_append.json (git-ignored). Reads local files (no HDFS or Hive needed).
The bench schema and the local files are removed at the end, also after a failure or Ctrl-C. Needs
PostgreSQL/Greenplum up (`.venv/bin/python scripts/stack.py up postgres`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from bench_programmes import cleanup, write_guide
from bench_warehouse import write_catalogs, write_session_rows
from harness import DEFAULT_DATE, REPO, RESULTS_DIR, console, date_arg, run_bench, steps, write_results
from rich.table import Table

from iptv import db, warehouse
from iptv.config import load_config
from producer import catalogs
from producer.model import Simulator

RESULTS = RESULTS_DIR / "bench_append.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=1_000_000, help="subscribers (default 1000000)")
    ap.add_argument("--date", type=date_arg, default=DEFAULT_DATE, help=f"day to simulate (default {DEFAULT_DATE})")
    ap.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    ap.add_argument("--at", default="21:00", help="time of day the live part starts, HH:MM (default 21:00)")
    ap.add_argument("--batch-seconds", type=int, default=5, help="seconds of sessions per appended file (5)")
    ap.add_argument("--batches", type=int, default=12, help="files appended one by one (default 12)")
    ap.add_argument("--files", type=int, default=8, help="files of the day so far (default 8)")
    ap.add_argument("--no-progress", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    try:
        args.at_time = dt.time.fromisoformat(args.at)
    except ValueError:
        ap.error(f"--at {args.at!r}: use HH:MM")
    if min(args.users, args.batch_seconds, args.batches, args.files) < 1:
        ap.error("--users, --batch-seconds, --batches and --files must be at least 1")
    return args


def write_day(args: argparse.Namespace, day_dir: Path, later_dir: Path) -> dict[str, Any]:
    """The day so far as --files files in ``day_dir``, each later window as one file in ``later_dir``."""
    s = Simulator(args.users, args.seed).day(args.date)
    at = dt.datetime.combine(args.date, args.at_time)
    epoch = dt.datetime(1970, 1, 1)
    cut = int((at - epoch).total_seconds())  # the sessions' times are epoch seconds of the wall clock
    order = np.lexsort((s.session_id, s.end))
    ends = s.end[order]
    before = order[ends < cut]
    day_files = [
        write_session_rows(s, part, day_dir / f"part-{uuid.uuid4()}.csv") for part in np.array_split(before, args.files)
    ]
    windows = []
    for k in range(args.batches):
        lo, hi = cut + k * args.batch_seconds, cut + (k + 1) * args.batch_seconds
        idx = order[(ends >= lo) & (ends < hi)]
        windows.append((write_session_rows(s, idx, later_dir / f"part-{uuid.uuid4()}.csv"), len(idx)))
    return {"sessions_day": len(s), "sessions_before": len(before), "day_files": day_files, "windows": windows}


def marts(conn: Any, wh: warehouse.Warehouse) -> dict[str, list[tuple]]:
    """Every mart table and the viewers they counted, sorted."""
    out = {}
    with conn.cursor() as cur:
        for t in (*warehouse.MART_TABLES, *warehouse.MART_VIEWER_TABLES):
            cur.execute(f"SELECT * FROM {wh.table(t)}")
            out[t] = sorted(cur.fetchall(), key=repr)
    conn.rollback()
    return out


def main() -> int:
    args = parse_args()
    tag = uuid.uuid4().hex[:8]
    cfg = load_config()
    paths = cfg.hdfs.paths.as_dict()
    schema = f"iptv_dw_bench_append_{tag}"
    local = Path(tempfile.mkdtemp(prefix=f"iptv-bench-append-{tag}-"))
    day_dir = local / paths["sessions"].lstrip("/") / f"dt={args.date.isoformat()}"
    later_dir = local / "later"
    guide_dir = local / paths["catalogs"].lstrip("/") / "epg" / f"dt={args.date.isoformat()}"
    console.print(f"bench {tag}: schema {schema}, dialect {warehouse.dialect_of(cfg)}, files under {local}")
    wh = warehouse.Warehouse(cfg, schema=schema)
    conn: Any = None
    appends: list[dict[str, Any]] = []

    def sources() -> list[warehouse.Source]:
        return warehouse.list_sources(cfg, warehouse.session_dir(cfg, args.date), local)

    def body() -> int:
        nonlocal conn
        with steps(6 + args.batches, enabled=not args.no_progress) as bench:
            data, _ = bench.run(
                f"simulate {args.date} ({args.users:,} subscribers) + write CSV",
                lambda: write_day(args, day_dir, later_dir),
            )
            cats, _ = bench.run(
                "catalogs (producer) + guide",
                lambda: (
                    write_catalogs(args.users, args.seed, local, paths["catalogs"]),
                    write_guide(args.date, sorted(int(r[0]) for r in catalogs.channel_rows()), args.seed, guide_dir),
                ),
            )
            conn = db.connect(cfg, "loader", application_name="bench_append")

            def prepare() -> warehouse.LoadResult:
                warehouse.apply_ddl(conn, wh)
                cat = paths["catalogs"]
                warehouse.load_dims(
                    conn, wh, warehouse.list_sources(cfg, cat + "/channels", local),
                    warehouse.list_sources(cfg, cat + "/users", local),
                )  # fmt: skip
                warehouse.load_programmes(
                    conn, wh, args.date, warehouse.list_sources(cfg, warehouse.programme_dir(cfg, args.date), local)
                )
                return warehouse.load_sessions(conn, wh, args.date, sources(), append=True)

            first, t_first = bench.run(f"prepare: DDL, dimensions, guide, the day until {args.at}", prepare)
            for k, (path, n) in enumerate(data["windows"]):

                def append(path: Path = path) -> warehouse.LoadResult:
                    path.rename(day_dir / path.name)
                    return warehouse.load_sessions(conn, wh, args.date, sources(), append=True)

                res, t = bench.run(f"append window {k + 1} ({n:,} sessions)", append)
                appends.append({"sessions": n, "seconds": round(t, 3), "summary": res.summary(), "mode": res.mode})
            after_appends, _ = bench.run("read the marts", lambda: marts(conn, wh))
            whole, t_whole = bench.run(
                "whole reload of the date (reference)",
                lambda: warehouse.load_sessions(conn, wh, args.date, sources()),
            )
            after_whole, _ = bench.run("read the marts again", lambda: marts(conn, wh))
        agree = after_appends == after_whole
        differing = [t for t in after_whole if after_appends.get(t) != after_whole[t]]
        times = [a["seconds"] for a in appends]
        median, largest = statistics.median(times), max(times)
        table = Table(
            title=f"one sync of a live day ({args.date}, {args.users:,} subscribers: {data['sessions_before']:,} "
            f"sessions ended by {args.at}, then {args.batches} windows of {args.batch_seconds} s)"
        )
        table.add_column("what is timed")
        table.add_column("sessions", justify="right")
        table.add_column("seconds", justify="right")
        table.add_column("x whole reload", justify="right")
        table.add_row("append one window (median)", f"{int(statistics.median(a['sessions'] for a in appends)):,}",
                      f"{median:.2f}", f"{median / t_whole:.3f}")  # fmt: skip
        table.add_row("append one window (largest)", f"{max(a['sessions'] for a in appends):,}", f"{largest:.2f}",
                      f"{largest / t_whole:.3f}")  # fmt: skip
        table.add_row("whole reload of the date (reference)", f"{whole.rows_loaded:,}", f"{t_whole:.2f}", "1.000")
        console.print(table)
        console.print("[green]the appended marts equal the whole reload's" if agree else f"[red]MISMATCH: {differing}")
        summary = write_results(
            RESULTS,
            {
                "users": args.users,
                "date": args.date.isoformat(),
                "seed": args.seed,
                "at": args.at,
                "batch_seconds": args.batch_seconds,
                "sessions_day": data["sessions_day"],
                "sessions_before": data["sessions_before"],
                "first_load_seconds": round(t_first, 3),
                "first_load": first.summary(),
                "appends": appends,
                "append_median_seconds": round(median, 3),
                "append_max_seconds": round(largest, 3),
                "whole_reload_seconds": round(t_whole, 3),
                "whole_reload": whole.summary(),
                "ratio_append_median_whole": round(median / t_whole, 4),
                "dialect": warehouse.dialect_of(cfg),
                "marts_agree": agree,
                "differing": differing,
            },
        )
        console.print(
            f"summary: append of {args.batch_seconds} s of sessions {median:.2f} s median ({largest:.2f} s max) = "
            f"{summary['ratio_append_median_whole']:.3f} x a whole reload of the date ({t_whole:.2f} s); "
            f"-> {RESULTS.relative_to(REPO)}"
        )
        return 0 if agree else 1

    def close() -> None:
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection
                conn.close()
        cleanup(cfg, schema, local)

    return run_bench(body, close)


if __name__ == "__main__":
    sys.exit(main())
