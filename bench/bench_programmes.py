#!/usr/bin/env python
"""Benchmark: the programme marts of one day in Greenplum against DuckDB over the same files.

    PYTHONPATH=tests .venv/bin/python bench/bench_programmes.py [--users 1000000] [--date 2026-03-04] [--seed 0] \
        [--rounds 1] [--files 8]

Simulates one day of --users subscribers with the producer's model (Python API, no Kafka) and writes its sessions
as the flow lands them (bench_warehouse.write_sessions) plus the producer's catalogs, and a programme guide for
the day: for every channel of the catalog consecutive programmes of 5 minutes to 2 hours covering the whole day
(deterministic per --seed), headerless CSV in <catalogs>/epg/dt=<date>/ as the dataset definition says. Then,
into a bench-only warehouse schema (not timed: DDL, dimensions, load_sessions of the day), it times per round,
side by side:

- greenplum: iptv.warehouse.load_programmes of the day (staging COPY, validation, gaps, dim_programme replaced,
  mart_programme and mart_genre_hourly recomputed), with the time of each SQL file (the two marts apart);
- duckdb (the reference): the test oracle's compute_programme_marts (tests/oracle/programmes.py) over the same
  sessions, guide and catalog files.

Prints the median seconds and the ratio greenplum/duckdb, checks that both agree on every programme's watch
seconds and viewers and on every (hour, genre) of mart_genre_hourly, and writes bench/results/bench_programmes.json
(git-ignored). Reads local files (no HDFS or Hive needed). The bench schema and the local files are removed at the
end, also after a failure or Ctrl-C. Needs PostgreSQL/Greenplum up (`.venv/bin/python scripts/stack.py up
postgres`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_warehouse import TimingCursor, write_catalogs, write_sessions
from harness import REPO, RESULTS_DIR, console, medians, parse_day_args, run_bench, steps, write_results
from oracle.programmes import GENRES, compute_programme_marts  # tests/oracle: run with PYTHONPATH=tests
from rich.table import Table

from iptv import db, warehouse
from iptv.config import Config, load_config
from iptv.sql import Ident
from producer import catalogs

RESULTS = RESULTS_DIR / "bench_programmes.json"
ENGINES = ("greenplum", "duckdb")
#: Programme lengths of the bench guide, in minutes.
LENGTHS_MIN = (5, 10, 15, 25, 30, 45, 60, 90, 120)


def write_guide(day: dt.date, channel_ids: list[int], seed: int, directory: Path) -> tuple[int, Path]:
    """A complete guide of ``day`` for ``channel_ids`` (no gap, no overlap), one file ``epg-<day>.csv``."""
    rng = random.Random(seed)
    start, end = dt.datetime.combine(day, dt.time()), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    lines = []
    for channel in channel_ids:
        t = start
        while t < end:
            t_end = min(t + dt.timedelta(minutes=rng.choice(LENGTHS_MIN)), end)
            genre = rng.choice(GENRES)
            series = (f"{channel}-S{t.hour}", str(day.toordinal() % 1000)) if genre == "series" else ("", "")
            lines.append(
                f"{channel}-{t:%Y%m%d}-{t:%H%M},{channel},Programme {channel} {t:%H%M},{genre},{series[0]},"
                f"{series[1]},{t:%Y-%m-%d %H:%M:%S},{t_end:%Y-%m-%d %H:%M:%S}\n"
            )
            t = t_end
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"epg-{day.isoformat()}.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines), path


class Engines:
    """The bench's warehouse connection and the timed runs."""

    def __init__(self, cfg: Config, schema: str, day: dt.date, files: dict[str, Any]) -> None:
        self.cfg, self.schema, self.day, self.files = cfg, schema, day, files
        self.wh = warehouse.Warehouse(cfg, schema=schema)
        self.pg: Any = None
        self.duck: dict[str, Any] = {}
        self.load: warehouse.ProgrammeLoadResult | None = None
        self.gp_breakdown: dict[str, float] = {}

    def prepare(self) -> None:
        """DDL, dimensions and the day's sessions (not timed)."""
        TimingCursor.labels = {
            self.wh.sql(
                str(f.relative_to(warehouse.SQL_DIR)), dt=self.day, table=Ident("stg_programme_raw"), table_name="t"
            ): f.stem
            for sub in ("load", "marts")
            for f in sorted((warehouse.SQL_DIR / sub).glob("*.sql"))
        }
        self.pg = db.connect(self.cfg, "loader", application_name="bench_programmes", cursor_factory=TimingCursor)
        warehouse.apply_ddl(self.pg, self.wh)
        src = {k: [warehouse.Source(str(p))] for k, p in self.files["catalogs"].items()}
        warehouse.load_dims(self.pg, self.wh, src["channels"], src["users"])
        sessions = [warehouse.Source(str(p)) for p in self.files["sessions"]]
        warehouse.load_sessions(self.pg, self.wh, self.day, sessions)

    def greenplum(self) -> None:
        TimingCursor.spent = {}
        t0 = time.monotonic()
        self.load = warehouse.load_programmes(self.pg, self.wh, self.day, [warehouse.Source(str(self.files["guide"]))])
        total = time.monotonic() - t0
        spent = dict(sorted(TimingCursor.spent.items(), key=lambda kv: -kv[1]))
        spent["Python"] = total - sum(spent.values())
        self.gp_breakdown = {k: round(v, 2) for k, v in spent.items()}

    def duckdb(self) -> None:
        self.duck = compute_programme_marts(
            self.files["sessions_dir"],
            self.files["guide"].parent.parent,
            self.files["catalogs"]["users"],
            self.files["catalogs"]["channels"],
            reach_min_seconds=self.cfg.marts.reach_min_seconds,
        )

    def cancel(self) -> None:
        if self.pg is not None:
            try:
                self.pg.cancel()
            except Exception as exc:
                console.print(f"[yellow]cancel postgres: {exc}")

    def agreement(self) -> dict[str, Any]:
        """Both engines' programme marts as comparable figures: per programme (watch seconds, viewers), per
        (hour, genre) (watch seconds, viewers)."""
        with self.pg, self.pg.cursor() as cur:
            cur.execute(f"SELECT programme_id, round(watch_minutes * 60), viewers FROM {self.schema}.mart_programme")
            gp_prog = {p: (int(w), int(v)) for p, w, v in cur.fetchall()}
            cur.execute(f"SELECT hour, genre, round(watch_minutes * 60), viewers FROM {self.schema}.mart_genre_hourly")
            gp_genre = {(int(h), g): (int(w), int(v)) for h, g, w, v in cur.fetchall()}
        frame = self.duck["mart_programme"]
        duck_prog = {
            p: (int(w), int(v))
            for p, w, v in zip(frame["programme_id"], frame["watch_s"], frame["viewers"], strict=True)
        }
        g = self.duck["mart_genre_hourly"]
        duck_genre = {
            (int(h), s): (int(w), int(v))
            for h, s, w, v in zip(g["hour"], g["genre"], g["watch_s"], g["viewers"], strict=True)
        }
        return {
            "agree": gp_prog == duck_prog and gp_genre == duck_genre,
            "programmes": len(gp_prog),
            "watch_s": sum(w for w, _ in gp_prog.values()),
            "duckdb_watch_s": sum(w for w, _ in duck_prog.values()),
            "genre_hours": len(gp_genre),
        }

    def close(self) -> None:
        if self.pg is not None:
            try:
                self.pg.close()
            except Exception:
                pass


def cleanup(cfg: Config, schema: str, local: Path) -> None:
    """Drop the bench schema and the local files; each step is attempted."""
    try:
        pg = db.connect(cfg, "loader", application_name="bench_programmes_cleanup")
        try:
            with pg, pg.cursor() as cur:
                cur.execute("SET lock_timeout = '60s'")
                cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            pg.close()
        console.print(f"[dim]removed schema {schema}")
    except Exception as exc:
        console.print(f"[red]could not remove schema {schema}: {exc}")
    shutil.rmtree(local, ignore_errors=True)
    console.print(f"[dim]removed local {local}")


def report(args: argparse.Namespace, sizes: dict[str, int], times: dict[str, list[float]], extra: dict) -> dict:
    med = medians(times)
    ref = med["duckdb"]
    table = Table(
        title=f"programme marts of one day ({args.date}), {args.users:,} subscribers: {sizes['sessions']:,} sessions, "
        f"{sizes['programmes']:,} programmes, {args.rounds} round(s)"
    )
    table.add_column("engine")
    table.add_column("what is timed")
    table.add_column("seconds (median)", justify="right")
    table.add_column("x duckdb", justify="right")
    what = {
        "greenplum": "load_programmes (stage, validate, replace, mart_programme, mart_genre_hourly)",
        "duckdb": "oracle.programmes.compute_programme_marts (reference)",
    }
    for e in ENGINES:
        table.add_row(e, what[e], f"{med[e]:.2f}", f"{med[e] / ref:.2f}")
    console.print(table)
    summary = {
        "users": args.users,
        "date": args.date.isoformat(),
        "seed": args.seed,
        "rounds": args.rounds,
        **sizes,
        "seconds": {e: round(med[e], 3) for e in ENGINES},
        "rounds_seconds": {e: [round(t, 3) for t in times[e]] for e in ENGINES},
        "ratio_greenplum_duckdb": round(med["greenplum"] / ref, 3),
        **extra,
    }
    return write_results(RESULTS, summary)


def main() -> int:
    args = parse_day_args(__doc__.split("\n\n")[0])
    tag = uuid.uuid4().hex[:8]
    cfg = load_config()
    paths = cfg.hdfs.paths.as_dict()
    schema = f"iptv_dw_bench_epg_{tag}"
    local = Path(tempfile.mkdtemp(prefix=f"iptv-bench-programmes-{tag}-"))
    sessions_dir = local / paths["sessions"].lstrip("/") / f"dt={args.date.isoformat()}"
    guide_dir = local / paths["catalogs"].lstrip("/") / "epg" / f"dt={args.date.isoformat()}"
    console.print(f"bench {tag}: schema {schema}, dialect {warehouse.dialect_of(cfg)}, files under {local}")
    times: dict[str, list[float]] = {e: [] for e in ENGINES}
    engines: Engines | None = None

    def body() -> int:
        nonlocal engines
        with steps(4 + 2 * args.rounds + 1, enabled=not args.no_progress) as bench:
            (rows, session_files), _ = bench.run(
                f"simulate {args.date} ({args.users:,} subscribers) + write CSV",
                lambda: write_sessions(args.date, args.users, args.seed, sessions_dir, args.files),
            )
            cats, _ = bench.run(
                "catalogs (producer)", lambda: write_catalogs(args.users, args.seed, local, paths["catalogs"])
            )
            channel_ids = sorted(int(r[0]) for r in catalogs.channel_rows())
            (n_programmes, guide), _ = bench.run(
                f"guide of {len(channel_ids)} channels",
                lambda: write_guide(args.date, channel_ids, args.seed, guide_dir),
            )
            files = {
                "sessions": session_files,
                "sessions_dir": sessions_dir,
                "catalogs": cats,
                "guide": guide,
            }
            engines = Engines(cfg, schema, args.date, files)
            bench.cancel = engines.cancel
            bench.run("prepare the warehouse (DDL, dimensions, the day's sessions)", engines.prepare)
            for r in range(1, args.rounds + 1):
                for e in ("duckdb", "greenplum"):
                    _, t = bench.run(f"round {r}: {e}", getattr(engines, e))
                    times[e].append(t)
            check, _ = bench.run("check: both engines' programme marts", engines.agreement)
        console.print(
            f"programmes={check['programmes']:,} genre_hours={check['genre_hours']} watch_s greenplum="
            f"{check['watch_s']:,} duckdb={check['duckdb_watch_s']:,}"
        )
        console.print("[green]both engines agree" if check["agree"] else "[red]MISMATCH between the engines")
        console.print(
            "greenplum load by step (last round, s): "
            + ", ".join(f"{k} {v:.2f}" for k, v in engines.gp_breakdown.items() if v >= 0.005)
        )
        sizes = {"sessions": rows, "programmes": n_programmes, "channels": len(channel_ids)}
        summary = report(
            args,
            sizes,
            times,
            {
                "greenplum_breakdown_s": engines.gp_breakdown,
                "greenplum_load": engines.load.summary() if engines.load else None,
                "dialect": warehouse.dialect_of(cfg),
                "engines_agree": check["agree"],
                "check": check,
            },
        )
        sec = summary["seconds"]
        console.print(
            f"summary: {rows:,} sessions, {n_programmes:,} programmes; greenplum {sec['greenplum']:.2f} s"
            f" = {summary['ratio_greenplum_duckdb']:.2f} x duckdb ({sec['duckdb']:.2f} s); "
            f"-> {RESULTS.relative_to(REPO)}"
        )
        return 0 if check["agree"] else 1

    def close() -> None:
        if engines is not None:
            engines.close()
        cleanup(cfg, schema, local)

    return run_bench(body, close)


if __name__ == "__main__":
    sys.exit(main())
