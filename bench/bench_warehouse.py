#!/usr/bin/env python
"""Benchmark: one day of sessions aggregated by Hive and loaded into Greenplum, against DuckDB over the same files.

    PYTHONPATH=tests .venv/bin/python bench/bench_warehouse.py [--users 1000000] [--date 2026-03-04] [--seed 0] \
        [--rounds 1]

Simulates one day of --users subscribers with the producer's model (Python API, no Kafka), writes the day's
sessions as the flow lands them (headerless CSV session_id,user_id,channel_id,time_start,time_end,duration_s,
split into --files part-<uuid>.csv files) plus the producer's channel and user catalogs, uploads them to a
bench-only HDFS base (/tmp/iptv-bench-warehouse-<tag>/...), then times per round, side by side:

- hive: what iptv.lake_sync does for a changed sessions date -- register the date's partitions and recompute the
  Hive marts (hive/marts/<name>.sql, INSERT OVERWRITE) of the date and the next one from the sessions parsed
  once and cached (HiveTables.recompute_marts), in a bench-only Hive database (tables, views and mart tables are
  created before, not timed);
- hive_per_mart: the same marts each reading the lake's CSV files itself, one Spark job per mart and date (what
  the sync did before the cache), for comparison;
- greenplum: iptv.warehouse.load_sessions of the date from HDFS into a bench-only schema (staging COPY,
  validation, fact replacement, recompute of the marts of the date and the next one, mart_weekday_hour); the
  dimensions are loaded before, not timed;
- duckdb (the reference): the test oracle's compute_marts (tests/oracle/marts.py) over the same CSV files (local
  copies) and catalogs.

Prints median seconds, the ratios hive/duckdb and greenplum/duckdb and sessions/s, the warehouse load's time per
SQL file, checks that the three agree on mart_daily (sessions, viewers, watch seconds), and writes
bench/results/bench_warehouse.json. The bench HDFS path, Hive database and warehouse schema are removed at the
end, also after a failure, Ctrl-C or SIGTERM (a running PostgreSQL statement is cancelled at once; a running
Hive statement cannot be and is awaited). Needs HDFS, Hive and PostgreSQL/Greenplum up
(`.venv/bin/python scripts/stack.py up`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import psycopg2.extensions
from harness import (
    REPO,
    RESULTS_DIR,
    STOP,
    console,
    medians,
    parse_day_args,
    run_bench,
    steps,
    write_results,
    write_session_rows,
)
from oracle.marts import compute_marts  # tests/oracle: run with PYTHONPATH=tests
from pyhive import hive as pyhive
from rich.progress import Progress
from rich.table import Table

from iptv import db, hdfs_client, hive_client, lake_sync, warehouse
from iptv.config import Config, load_config, with_overrides
from iptv.hive_tables import MARTS, HiveTables
from iptv.sql import Ident
from producer import catalogs
from producer.model import Simulator

RESULTS = RESULTS_DIR / "bench_warehouse.json"
ENGINES = ("hive", "hive_per_mart", "greenplum", "duckdb")


# ------------------------------------------------------------------------------------------------ data


def write_sessions(day: dt.date, users: int, seed: int, directory: Path, n_files: int) -> tuple[int, list[Path]]:
    """Simulate ``day`` and write its sessions as headerless CSV files ``part-<uuid>.csv`` in ``directory``,
    in time_end order (as the flow emits them) and split into ``n_files`` contiguous parts."""
    s = Simulator(users, seed).day(day)
    order = np.lexsort((s.session_id, s.end))
    files = [
        write_session_rows(s, part, directory / f"part-{uuid.uuid4()}.csv")
        for part in np.array_split(order, max(1, min(n_files, len(order))))
    ]
    return len(s), files


def write_catalogs(users: int, seed: int, root: Path, cat_path: str) -> dict[str, Path]:
    """The producer's catalogs (``python -m producer catalogs``) under ``root/<catalogs path>/{channels,users}/``."""
    out = {}
    for name, rows in (("channels", catalogs.channel_rows()), ("users", catalogs.user_rows(users, seed))):
        out[name] = catalogs.write_csv(rows, root / cat_path.lstrip("/") / name / f"{name}.csv")
    return out


def upload(cfg: Config, root: Path, files: list[Path], progress: Progress) -> None:
    """Copy ``files`` (under ``root``, which mirrors the lake) to the same paths on HDFS (WebHDFS)."""
    fs = hdfs_client.client(cfg, timeout=300)
    task = progress.add_task("upload to HDFS", total=sum(f.stat().st_size for f in files))
    for f in files:
        with open(f, "rb") as fh:
            fs.write("/" + str(f.relative_to(root)), data=fh, overwrite=True)
        progress.advance(task, f.stat().st_size)
    progress.remove_task(task)


# ------------------------------------------------------------------------------------------------ engines


class TimingCursor(psycopg2.extensions.cursor):
    """A psycopg2 cursor that adds the time of every statement to ``spent[label]``: the greenplum/*.sql file
    it came from (``labels``: rendered text -> file name), "stage COPY" for COPY FROM STDIN (the Python CSV
    split runs inside it), "other" for the loader's inline statements."""

    labels: dict[str, str] = {}
    spent: dict[str, float] = {}

    def _timed(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.monotonic()
        try:
            return fn(*args)
        finally:
            self.spent[label] = self.spent.get(label, 0.0) + time.monotonic() - t0

    def execute(self, query: Any, vars: Any = None) -> Any:
        return self._timed(
            self.labels.get(query, "other") if isinstance(query, str) else "other", super().execute, query, vars
        )

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> Any:
        return self._timed("stage COPY", super().copy_expert, sql, file, size)


class StoppableCursor(pyhive.Cursor):
    """A PyHive cursor that refuses new statements once ``STOP`` is set (Ctrl-C). A running statement cannot be
    cancelled: lake_sync runs them synchronously (the handle arrives with the result) and the local Spark Thrift
    Server cannot run them asynchronously (impersonation), so an interrupt takes effect when it ends."""

    def execute(self, operation: str, parameters: Any = None, **kwargs: Any) -> None:
        if STOP.is_set():
            raise KeyboardInterrupt
        super().execute(operation, parameters, **kwargs)


class Engines:
    """Connections of the bench to Hive and the warehouse, and the timed runs."""

    def __init__(self, cfg: Config, schema: str, day: dt.date, local_sessions: Path, cats: dict) -> None:
        self.cfg, self.schema, self.day = cfg, schema, day
        self.local_sessions, self.cats = local_sessions, cats
        self.hive_conn: Any = None
        self.hive_cur: Any = None
        self.pg: Any = None
        self.wh = warehouse.Warehouse(cfg, schema=schema)
        self.hive_tables = HiveTables.from_config(cfg)
        self.lake = warehouse.LakeFiles.from_config(cfg)
        self.duck: dict[str, Any] = {}
        self.load: warehouse.LoadResult | None = None
        self.gp_breakdown: dict[str, float] = {}

    def prepare(self) -> None:
        """Hive tables/views/mart tables and the warehouse DDL and dimensions (not timed)."""
        self.hive_conn = hive_client.connect(self.cfg, database="default")
        self.hive_cur = StoppableCursor(self.hive_conn)
        self.hive_tables.prepare(self.hive_cur)
        # Rendered texts of the dates the load touches (the date and the next one) -> file name.
        TimingCursor.labels = {
            self.wh.sql(
                str(f.relative_to(warehouse.SQL_DIR)), dt=d, table=Ident("stg_session_raw"), table_name="t"
            ): f.stem
            for d in lake_sync.hive_dates([self.day])
            for sub in ("load", "marts")
            for f in sorted((warehouse.SQL_DIR / sub).glob("*.sql"))
        }
        self.pg = db.connect(self.cfg, "loader", application_name="bench_warehouse", cursor_factory=TimingCursor)
        warehouse.apply_ddl(self.pg, self.wh)
        warehouse.load_dims(self.pg, self.wh, self.lake.catalog_sources("channels"), self.lake.catalog_sources("users"))

    def hive(self) -> None:
        self.hive_tables.register(self.hive_cur, self.day)
        self.hive_tables.recompute_marts(self.hive_cur, lake_sync.hive_dates([self.day]))

    def hive_per_mart(self) -> None:
        """The same marts each read straight from the lake's CSV files (no cache): what a sync did before."""
        self.hive_tables.register(self.hive_cur, self.day)
        for d in lake_sync.hive_dates([self.day]):
            for mart in MARTS:
                self.hive_tables.recompute_marts(self.hive_cur, [d], [mart])

    def greenplum(self) -> None:
        TimingCursor.spent = {}
        t0 = time.monotonic()
        sources = self.lake.session_sources(self.day)
        self.load = warehouse.load_sessions(self.pg, self.wh, self.day, sources)
        total = time.monotonic() - t0
        spent = dict(sorted(TimingCursor.spent.items(), key=lambda kv: -kv[1]))
        spent["HDFS read + Python"] = total - sum(spent.values())
        self.gp_breakdown = {k: round(v, 2) for k, v in spent.items()}

    def duckdb(self) -> None:
        self.duck = compute_marts(self.local_sessions, self.cats["users"], self.cats["channels"])

    def cancel(self) -> None:
        """Send PostgreSQL a cancel request for the running statement (Hive cancels itself on ``STOP``)."""
        if self.pg is not None:
            try:
                self.pg.cancel()
            except Exception as exc:
                console.print(f"[yellow]cancel postgres: {exc}")

    def daily(self) -> dict[str, list[tuple[str, int, int, int]]]:
        """mart_daily of each engine as (dt, sessions, viewers, watch seconds)."""
        db_ = self.cfg.hive.database
        self.hive_cur.execute(f"SELECT dt, sessions, viewers, watch_hours FROM {db_}.mart_daily ORDER BY dt")
        hive = [(str(d), int(s), int(v), round(Decimal(str(h)) * 3600)) for d, s, v, h in self.hive_cur.fetchall()]
        with self.pg, self.pg.cursor() as cur:
            cur.execute(f"SELECT dt, sessions, viewers, watch_hours FROM {self.schema}.mart_daily ORDER BY dt")
            gp = [(d.isoformat(), int(s), int(v), round(h * 3600)) for d, s, v, h in cur.fetchall()]
        frame = self.duck["mart_daily"]
        duck = [
            (d.isoformat(), int(s), int(v), int(w))
            for d, s, v, w in zip(frame["dt"], frame["sessions"], frame["viewers"], frame["watch_s"], strict=True)
        ]
        return {"hive": hive, "greenplum": gp, "duckdb": duck}

    def close(self) -> None:
        for c in (self.hive_conn, self.pg):
            try:
                if c is not None:
                    c.close()
            except Exception:
                pass


def cleanup(cfg: Config, schema: str, base: str, local: Path) -> None:
    """Drop the bench Hive database, warehouse schema, HDFS base and local files; every step is attempted."""
    steps: list[tuple[str, Callable[[], Any]]] = []

    def drop_hive() -> None:
        conn = hive_client.connect(cfg, database="default")
        try:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {cfg.hive.database} CASCADE")
        finally:
            conn.close()

    def drop_schema() -> None:
        pg = db.connect(cfg, "loader", application_name="bench_warehouse_cleanup")
        try:
            with pg, pg.cursor() as cur:
                cur.execute("SET lock_timeout = '60s'")
                cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            pg.close()

    steps = [
        (f"Hive database {cfg.hive.database}", drop_hive),
        (f"schema {schema}", drop_schema),
        (f"HDFS {base}", lambda: hdfs_client.delete(cfg, base, recursive=True)),
        (f"local {local}", lambda: shutil.rmtree(local, ignore_errors=True)),
    ]
    for what, fn in steps:
        try:
            fn()
            console.print(f"[dim]removed {what}")
        except Exception as exc:
            console.print(f"[red]could not remove {what}: {exc}")


# ------------------------------------------------------------------------------------------------ report


def report(args: argparse.Namespace, rows: int, times: dict[str, list[float]], extra: dict[str, Any]) -> dict:
    med = medians(times)
    ref = med["duckdb"]
    table = Table(
        title=f"one day ({args.date}) of {args.users:,} subscribers: {rows:,} sessions, {args.rounds} round(s)"
    )
    table.add_column("engine")
    table.add_column("what is timed")
    table.add_column("seconds (median)", justify="right")
    table.add_column("x duckdb", justify="right")
    table.add_column("sessions/s", justify="right")
    what = {
        "hive": "register partitions + 4 marts x 2 dates, sessions parsed once",
        "hive_per_mart": "the same, each mart parsing the sessions (before)",
        "greenplum": "load_sessions (stage, validate, replace, marts)",
        "duckdb": "oracle.marts.compute_marts (reference)",
    }
    for e in ENGINES:
        table.add_row(e, what[e], f"{med[e]:.1f}", f"{med[e] / ref:.2f}", f"{rows / med[e]:,.0f}")
    console.print(table)
    summary = {
        "users": args.users,
        "date": args.date.isoformat(),
        "seed": args.seed,
        "rounds": args.rounds,
        "sessions": rows,
        "seconds": {e: round(med[e], 2) for e in ENGINES},
        "rounds_seconds": {e: [round(t, 2) for t in times[e]] for e in ENGINES},
        "ratio_hive_duckdb": round(med["hive"] / ref, 3),
        "ratio_hive_per_mart_duckdb": round(med["hive_per_mart"] / ref, 3),
        "ratio_greenplum_duckdb": round(med["greenplum"] / ref, 3),
        "sessions_per_s": {e: round(rows / med[e]) for e in ENGINES},
        **extra,
    }
    return write_results(RESULTS, summary)


# ------------------------------------------------------------------------------------------------ main


def main() -> int:
    args = parse_day_args(__doc__.split("\n\n")[0])
    tag = uuid.uuid4().hex[:8]
    base = f"/tmp/iptv-bench-warehouse-{tag}"
    cfg = load_config()
    lake_paths = cfg.hdfs.paths.as_dict()
    cfg = with_overrides(
        cfg, {"hdfs.paths": {k: base + v for k, v in lake_paths.items()}, "hive.database": f"iptv_bench_wh_{tag}"}
    )
    schema = f"iptv_dw_bench_{tag}"
    local = Path(tempfile.mkdtemp(prefix=f"iptv-bench-warehouse-{tag}-"))
    root = local / "lake"  # mirrors the bench HDFS base
    day_dir = root / cfg.hdfs.paths.sessions.lstrip("/") / f"dt={args.date.isoformat()}"
    console.print(
        f"bench {tag}: HDFS {base}, Hive database {cfg.hive.database}, schema {schema}, "
        f"dialect {warehouse.dialect_of(cfg)}"
    )
    times: dict[str, list[float]] = {e: [] for e in ENGINES}
    engines: Engines | None = None

    def body() -> int:
        nonlocal engines
        with steps(4 + 4 * args.rounds + 1, enabled=not args.no_progress) as bench:
            (rows, files), t_sim = bench.run(
                f"simulate {args.date} ({args.users:,} subscribers) + write CSV",
                lambda: write_sessions(args.date, args.users, args.seed, day_dir, args.files),
            )
            csv_bytes = sum(f.stat().st_size for f in files)
            bench.progress.console.print(f"  {rows:,} sessions, {len(files)} files, {csv_bytes / 1e6:.1f} MB")
            cats, _ = bench.run(
                "catalogs (producer)", lambda: write_catalogs(args.users, args.seed, root, lake_paths["catalogs"])
            )
            _, t_up = bench.run("upload to HDFS", lambda: upload(cfg, root, [*files, *cats.values()], bench.progress))
            engines = Engines(cfg, schema, args.date, day_dir, cats)
            bench.cancel = engines.cancel
            bench.run("prepare Hive + warehouse (DDL, dimensions)", engines.prepare)
            for r in range(1, args.rounds + 1):
                for e in ("duckdb", "hive_per_mart", "hive", "greenplum"):  # the check reads hive's marts
                    _, t = bench.run(f"round {r}: {e}", getattr(engines, e))
                    times[e].append(t)
            daily, _ = bench.run("check: mart_daily of the three engines", engines.daily)
        agree = daily["hive"] == daily["greenplum"] == daily["duckdb"]
        for e in daily:
            console.print(f"mart_daily {e:<9} (dt, sessions, viewers, watch_s): {daily[e]}")
        console.print("[green]the three engines agree" if agree else "[red]MISMATCH between the engines")
        load = engines.load
        console.print(
            "greenplum load by step (last round, s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in engines.gp_breakdown.items() if v >= 0.05)
        )
        summary = report(
            args,
            rows,
            times,
            {
                "files": len(files),
                "csv_bytes": csv_bytes,
                "simulate_write_s": round(t_sim, 1),
                "upload_s": round(t_up, 1),
                "greenplum_rows_loaded": load.rows_loaded if load else None,
                "greenplum_breakdown_s": engines.gp_breakdown,
                "dialect": warehouse.dialect_of(cfg),
                "engines_agree": agree,
                "mart_daily": daily,
            },
        )
        console.print(
            f"summary: {rows:,} sessions ({csv_bytes / 1e6:.0f} MB CSV); hive {summary['seconds']['hive']:.1f} s "
            f"= {summary['ratio_hive_duckdb']:.2f} x duckdb (each mart parsing the sessions: "
            f"{summary['ratio_hive_per_mart_duckdb']:.2f} x), greenplum {summary['seconds']['greenplum']:.1f} s "
            f"= {summary['ratio_greenplum_duckdb']:.2f} x duckdb, duckdb {summary['seconds']['duckdb']:.1f} s; "
            f"-> {RESULTS.relative_to(REPO)}"
        )
        return 0 if agree else 1

    def close() -> None:
        if engines is not None:
            engines.close()
        cleanup(cfg, schema, base, local)

    return run_bench(body, close)


if __name__ == "__main__":
    sys.exit(main())
