#!/usr/bin/env python
"""Soak: a live stream at an operator's rate through the whole pipeline for --minutes, watching what a long run
wears down (issue #16); its freshness figures are the ones issue #15 asks for.

    .venv/bin/python bench/bench_soak.py                      # 1,000,000 subscribers, 30 min, 1 % faults
    .venv/bin/python bench/bench_soak.py --users 200000 --minutes 10 --start 21:00

Starts the engines it needs that are not running (and stops those again at the end), deploys the NiFi flows
(scripts/deploy_flows.py: ingestion and warehouse sync, as `make demo` does), then runs the producer's real-time
mode (`live --start HH:MM`, default the evening peak 20:00 of today, --faults of the sessions faulted) for
--minutes and samples every --poll seconds:
  - memory (PSS, and RSS beside it; process and children) and CPU of every service (Kafka, HDFS, Hive, NiFi,
    PostgreSQL);
  - the sessions of the run that fact_session holds (greenplum/reports/sessions_ended_since.sql), so each
    session's lag = when the bench first saw its row - when its end event was sent (the producer prints its
    clock mapping); mart_hourly is loaded in the same transaction, so its lag is the same (the bench checks
    that the warehouse's marts agree with fact_session at the end, through the reconciliation);
  - ERROR bulletins of the IPTV process groups (flow_status' view; start-up ghosts excluded).
After the stream it waits (--drain-timeout) until every complete session of the run is in fact_session, then
runs scripts/reconcile.py for the date.

Goals, each printed as a ratio with its bound (exit 1 when one is missed): every service's PSS at the end over
its PSS after the warm-up (--warmup minutes) < 1.10; no ERROR bulletin; every session of the run in the
warehouse; freshness bounded: the p95 lag of the last third of the run over the first third's <= 1.5 (plus one
poll); reconcile clean. The p95 lag against #15's 30 s goal is printed beside them.
A date whose sessions after --start are in the warehouse already (an earlier run) is refused (exit 2): the
producer would send the same sessions, rejected then as duplicates; give another --seed or a new stack. --date
must lie within the pairer's Max Timer Lead (2 days by default) of now, or the flow quarantines every event of
the stream as implausible_timer.
Results: bench/results/bench_soak.json and bench_soak_samples.csv. Exit codes: 0 goals met, 1 a goal missed,
2 usage, 3 an engine or step failed.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from harness import RESULTS_DIR, console, date_arg, write_session_rows
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iptv import db, hdfs_client
from iptv.config import Config, load_config
from iptv.nifi import status
from iptv.warehouse import apply_ddl
from iptv.warehouse.schema import Warehouse
from local_stack import control, service
from producer.model import Simulator, epoch_seconds

REPO = Path(__file__).resolve().parent.parent
SERVICES = ["postgres", "hdfs", "kafka", "hive", "nifi"]
PACING_RE = re.compile(r"pacing: simulated (\S+) = wall clock (\S+)")
MEMORY_GROWTH_MAX = 1.10
DRIFT_MAX = 1.5
FRESHNESS_GOAL_S = 30.0
PRELOAD_FILE_ROWS = 500_000  # sessions per preloaded file


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1_000_000, help="subscribers (default %(default)s)")
    ap.add_argument("--minutes", type=float, default=30.0, help="length of the live stream (default %(default)s)")
    ap.add_argument("--warmup", type=float, default=5.0, help="minutes before memory is the base (%(default)s)")
    ap.add_argument("--faults", type=float, default=0.01, help="fraction of sessions faulted (default %(default)s)")
    ap.add_argument("--date", type=date_arg, default=dt.date.today(), help="simulated date (default today)")
    ap.add_argument("--start", default="20:00", help="simulated time of day to start at (default %(default)s)")
    ap.add_argument("--poll", type=float, default=5.0, help="seconds between samples (default %(default)s)")
    ap.add_argument("--drain-timeout", type=float, default=900.0, help="seconds to wait for the last sessions")
    ap.add_argument("--seed", type=int, default=0, help="producer seed (default %(default)s)")
    ap.add_argument(
        "--preload",
        action="store_true",
        help="first land the sessions of --date that end before --start (the day so far, which the producer skips) "
        "on the lake as the flow lands them, and wait until the warehouse holds them (issue #15's freshness run)",
    )
    ap.add_argument("--preload-timeout", type=float, default=3600.0, help="seconds to wait for the preload's load")
    ap.add_argument("--name", default="bench_soak", help="prefix of the results files (default %(default)s)")
    ap.add_argument("--no-progress", action="store_true", help="no progress display")
    args = ap.parse_args(argv)
    if args.users < 1 or args.minutes <= 0 or args.poll <= 0 or not 0 <= args.faults <= 1:
        ap.error("--users, --minutes and --poll must be positive and --faults a fraction")
    if args.warmup >= args.minutes:
        ap.error("--warmup must be shorter than --minutes")
    return args


def _epoch(stamp: str | dt.datetime) -> float:
    """Seconds since the epoch of a naive wall-clock time (the producer's clock has no time zone: UTC here)."""
    moment = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return calendar.timegm(moment.timetuple()) + moment.microsecond / 1e6


class ServiceMeter:
    """Memory and CPU of one service's processes and their children.

    Memory is judged by PSS (proportional set size): a page shared by several processes (PostgreSQL's shared
    buffers in every backend, a JVM's mapped jars) counts once in all, where a sum of RSS counts it once per process.
    RSS is kept beside it for comparison; where smaps cannot be read, PSS falls back to RSS.
    """

    def __init__(self, cfg: Config, name: str) -> None:
        self.svc = service(name, cfg)
        self.last: tuple[float, float] | None = None

    def sample(self) -> tuple[float, float, float]:
        """(PSS in MB, RSS in MB, CPU in % of one core since the previous sample)."""
        pss = rss = cpu = 0.0
        for pid in self.svc.pids().values():
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    with proc.oneshot():
                        try:
                            mem = proc.memory_full_info()
                            pss += mem.pss
                        except psutil.AccessDenied:
                            mem = proc.memory_info()
                            pss += mem.rss
                        rss += mem.rss
                        times = proc.cpu_times()
                        cpu += times.user + times.system + times.children_user + times.children_system
            except psutil.NoSuchProcess:
                continue
        now = time.monotonic()
        pct = 0.0
        if self.last is not None and now > self.last[0]:
            pct = max(0.0, 100 * (cpu - self.last[1]) / (now - self.last[0]))
        self.last = (now, cpu)
        return pss / 2**20, rss / 2**20, pct


class Freshness:
    """When each session of the run first shows in fact_session."""

    def __init__(self, cfg: Config, day: dt.date, since: dt.datetime) -> None:
        self.conn = db.connect(cfg, "reader", application_name="iptv bench soak")
        self.conn.autocommit = True
        self.query = Warehouse(cfg).sql("reports/sessions_ended_since.sql", dt=day.isoformat(), since=str(since))
        self.seen: dict[str, tuple[float, float]] = {}  # session_id -> (end epoch, wall epoch first seen)

    def poll(self) -> int:
        with self.conn.cursor() as cur:
            cur.execute(self.query)
            rows = cur.fetchall()
        now = time.time()
        new = 0
        for session_id, time_end in rows:
            if session_id not in self.seen:
                self.seen[session_id] = (_epoch(time_end), now)
                new += 1
        return new

    def close(self) -> None:
        self.conn.close()


def error_bulletins(cfg: Config, found: dict[tuple[str, str], str]) -> None:
    """Add the ERROR bulletins of the IPTV groups (start-up ghosts left out) to ``found``."""
    for group in status.snapshot(cfg, None):
        for proc in group["processors"]:
            for b in proc["bulletins"]:
                if b["level"] == "ERROR" and not status.startup_ghost(b, proc["id"]):
                    found[(proc["name"], str(b["time"]))] = b["message"]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace, cfg: Config, out: dict[str, Any]) -> list[str]:
    """The soak itself; returns the goals missed."""
    started = [n for n in SERVICES if service(n, cfg).managed and not service(n, cfg).running()]
    out["started_services"] = started
    try:
        console.print(f"engines up ({control.up(cfg, SERVICES):.0f} s); deploying the NiFi flows")
        res = subprocess.run([sys.executable, "-m", "iptv.nifi.deploy_cli"], cwd=REPO, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"deploy_flows failed: {(res.stderr or res.stdout).strip().splitlines()[-1:]}")
        with closing(db.connect(cfg, "loader", application_name="iptv bench soak")) as conn:
            apply_ddl(conn, Warehouse(cfg))  # on a new stack the bench queries fact_session before the first sync
        refuse_a_streamed_date(args, cfg)
        if args.preload:
            preload(args, cfg, out)
        return soak(args, cfg, out)
    finally:
        if started:
            console.print(f"stopping the engines the bench started: {', '.join(started)}")
            control.down(cfg, started)


def preload(args: argparse.Namespace, cfg: Config, out: dict[str, Any]) -> None:
    """The sessions of --date that end before --start (those ``producer live --start`` leaves out) as part files
    of the date's sessions directory on HDFS, as the flow lands them; returns once fact_session holds them (the
    NiFi sync loads them as the first, whole load of the date)."""
    start = dt.datetime.combine(args.date, dt.time.fromisoformat(args.start))
    t0 = time.monotonic()
    s = Simulator(args.users, args.seed).day(args.date)
    idx = np.flatnonzero(s.end <= epoch_seconds(args.date) + (start - start.replace(hour=0, minute=0)).seconds)
    idx = idx[np.argsort(s.end[idx], kind="stable")]
    directory = f"{cfg.hdfs.paths.sessions}/dt={args.date.isoformat()}"
    fs = hdfs_client.client(cfg)
    conn = db.connect(cfg, "reader", application_name="iptv bench preload")
    conn.autocommit = True
    query = Warehouse(cfg).sql("reports/sessions_of_date.sql", dt=args.date.isoformat())

    def in_warehouse() -> int:
        with conn.cursor() as cur:
            cur.execute(query)
            return int(cur.fetchone()[0])

    already = in_warehouse()  # an earlier run's sessions of the date; the preload adds to them
    written = 0
    with tempfile.TemporaryDirectory(prefix="iptv-preload-") as tmp:
        for i, part in enumerate(np.array_split(idx, max(1, len(idx) // PRELOAD_FILE_ROWS))):
            local = write_session_rows(s, part, Path(tmp) / f"part-preload-seed{args.seed}-{i:03d}.csv")
            target = f"{directory}/{local.name}"
            landed = fs.status(target, strict=False)
            if landed is None or int(landed["length"]) != local.stat().st_size:  # a re-run leaves it as it is
                hdfs_client.write_bytes(cfg, target, local.read_bytes(), overwrite=True)
                written += len(part)
            local.unlink()
    console.print(f"preloaded {len(idx):,} sessions of {args.date} ended before {args.start} "
                  f"({time.monotonic() - t0:.0f} s); waiting for the warehouse")  # fmt: skip
    deadline, have = time.monotonic() + args.preload_timeout, 0
    try:
        while time.monotonic() < deadline:
            have = in_warehouse() - already
            if have >= written:  # a file landed by an earlier run of the date is in the warehouse already
                break
            time.sleep(10)
    finally:
        conn.close()
    out["preload"] = {"sessions": int(len(idx)), "seconds": round(time.monotonic() - t0, 1), "in_warehouse": have}
    if have < written:
        raise RuntimeError(f"the warehouse holds {have:,} of the {written:,} preloaded sessions after the timeout")
    console.print(f"the warehouse holds the day so far: {have:,} sessions ({time.monotonic() - t0:.0f} s)")


class UsageError(Exception):
    """The bench cannot measure what it was asked to (exit 2)."""


def refuse_a_streamed_date(args: argparse.Namespace, cfg: Config) -> None:
    """A date and time an earlier run streamed cannot be measured again: the producer sends the same sessions
    (same --seed), which the warehouse then rejects as duplicates, so none of them would show as this run's."""
    fresh = Freshness(cfg, args.date, dt.datetime.combine(args.date, dt.time.fromisoformat(args.start)))
    try:
        fresh.poll()
    finally:
        fresh.close()
    if fresh.seen:
        raise UsageError(
            f"the warehouse already holds {len(fresh.seen):,} sessions of {args.date} ended after {args.start} "
            "(an earlier run): give another --seed, or run on a new stack"
        )


def soak(args: argparse.Namespace, cfg: Config, out: dict[str, Any]) -> list[str]:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    truth_path = RESULTS_DIR / f"{args.name}_truth.csv"
    log_path = RESULTS_DIR / f"{args.name}_producer.log"
    start = dt.datetime.combine(args.date, dt.time.fromisoformat(args.start))
    cmd = [sys.executable, "-m", "producer", "live", "--users", str(args.users), "--date", args.date.isoformat()]
    cmd += ["--start", args.start, "--faults", str(args.faults), "--seed", str(args.seed), "--no-progress"]
    cmd += ["--truth", str(truth_path), "--manifest", str(RESULTS_DIR / f"{args.name}_faults.jsonl")]
    meters = {name: ServiceMeter(cfg, name) for name in SERVICES}
    fresh = Freshness(cfg, args.date, start)
    fresh.poll()  # sessions of an earlier run of the same date and time are not this run's
    before = set(fresh.seen)
    bulletins: dict[tuple[str, str], str] = {}
    samples: list[dict[str, Any]] = []
    with open(log_path, "w", encoding="utf-8") as log, Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
        console=console, disable=args.no_progress,
    ) as bar:  # fmt: skip
        producer = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        offset = None  # wall clock - simulated clock
        assert producer.stdout is not None
        for line in producer.stdout:  # the simulation of the day comes first, then the pacing line
            log.write(line)
            if m := PACING_RE.search(line):
                offset = _epoch(m.group(2)) - _epoch(m.group(1))
                break
        if offset is None:
            raise RuntimeError(f"the producer ended before streaming (exit {producer.wait()}), see {log_path}")
        console.print(f"producer streaming from {start} (wall clock - simulated clock = {offset:+,.0f} s)")
        t0 = time.monotonic()
        task = bar.add_task("live stream", total=args.minutes * 60, info="")
        stop_at, next_bulletins = t0 + args.minutes * 60, 0.0
        while True:
            now = time.monotonic()
            live = now < stop_at
            if not live and producer.poll() is None:
                producer.send_signal(signal.SIGINT)  # the producer flushes, writes truth and manifest, exits
                producer.wait(300)
            fresh.poll()
            row: dict[str, Any] = {"t": round(now - t0, 1), "sessions_seen": len(fresh.seen) - len(before)}
            for name, meter in meters.items():
                row[f"{name}_pss_mb"], row[f"{name}_rss_mb"], row[f"{name}_cpu_pct"] = meter.sample()
            if now >= next_bulletins:
                error_bulletins(cfg, bulletins)
                next_bulletins = now + 30
            row["error_bulletins"] = len(bulletins)
            samples.append(row)
            pss = sum(v for k, v in row.items() if k.endswith("_pss_mb"))
            bar.update(task, completed=min(now - t0, args.minutes * 60), info=f"{row['sessions_seen']:,} sessions "
                       f"in the warehouse, stack PSS {pss:,.0f} MB, {len(bulletins)} error bulletins")  # fmt: skip
            if not live:
                break
            time.sleep(max(0.0, args.poll - (time.monotonic() - now)))
        for line in producer.stdout:
            log.write(line)
    stream_end = time.time()
    expected = read_truth(truth_path, start)
    console.print(f"stream stopped: {len(expected):,} complete sessions of the run; waiting for the warehouse")
    deadline = time.monotonic() + args.drain_timeout
    while set(expected) - set(fresh.seen) and time.monotonic() < deadline:
        time.sleep(args.poll)
        fresh.poll()
    fresh.close()
    out["drain_s"] = round(time.time() - stream_end, 1)
    return evaluate(args, out, expected, fresh.seen, before, offset, samples, bulletins)


def read_truth(path: Path, since: dt.datetime) -> dict[str, float]:
    """The run's complete sessions that end at or after ``since``: session_id -> end (epoch)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {
            row["session_id"]: _epoch(row["time_end"])
            for row in csv.DictReader(fh)
            if dt.datetime.fromisoformat(row["time_end"]) >= since
        }


def evaluate(
    args: argparse.Namespace,
    out: dict[str, Any],
    expected: dict[str, float],
    seen: dict[str, tuple[float, float]],
    before: set[str],
    offset: float,
    samples: list[dict[str, Any]],
    bulletins: dict[tuple[str, str], str],
) -> list[str]:
    missed: list[str] = []
    # lag of a session = first seen (wall) - its end event's send time (end + offset); by end time, for the drift
    lags = sorted((end, seen[s][1] - (end + offset)) for s, end in expected.items() if s in seen and s not in before)
    values = [lag for _, lag in lags]
    third = len(lags) // 3
    first, last = [lag for _, lag in lags[:third]], [lag for _, lag in lags[-third:]] if third else []
    out["freshness"] = {
        "sessions": len(values),
        "missing": len(set(expected) - set(seen)),
        "p50_s": percentile(values, 0.5),
        "p95_s": percentile(values, 0.95),
        "max_s": max(values, default=float("nan")),
        "p95_first_third_s": percentile(first, 0.95),
        "p95_last_third_s": percentile(last, 0.95),
        "poll_s": args.poll,
    }
    warm = [s for s in samples if s["t"] >= args.warmup * 60]
    table = Table(title=f"soak: {args.users:,} subscribers, {args.minutes:g} min from {args.start}, {args.faults:.1%} "
                  "faults")  # fmt: skip
    for col in ("service", "PSS after warm-up (MB)", "PSS at end (MB)", "max (MB)", "end / warm-up",
                "RSS end / warm-up", "CPU avg %"):  # fmt: skip
        table.add_column(col, justify="right")
    out["services"] = {}
    for name in SERVICES:
        pss = [s[f"{name}_pss_mb"] for s in warm]
        rss = [s[f"{name}_rss_mb"] for s in warm]
        if len(pss) < 2:
            missed.append("too few samples after the warm-up to judge memory (lengthen --minutes)")
            break
        base, end = statistics.median(pss[:3]), statistics.median(pss[-3:])
        rss_base, rss_end = statistics.median(rss[:3]), statistics.median(rss[-3:])
        cpu = statistics.mean(s[f"{name}_cpu_pct"] for s in warm)
        ratio = end / base if base else float("nan")
        rss_ratio = rss_end / rss_base if rss_base else float("nan")
        out["services"][name] = {"pss_warm_mb": base, "pss_end_mb": end, "pss_max_mb": max(pss),
                                 "rss_warm_mb": rss_base, "rss_end_mb": rss_end, "cpu_avg_pct": cpu}  # fmt: skip
        table.add_row(name, f"{base:,.0f}", f"{end:,.0f}", f"{max(pss):,.0f}", f"{ratio:.3f}", f"{rss_ratio:.3f}",
                      f"{cpu:.0f}")  # fmt: skip
        if not ratio < MEMORY_GROWTH_MAX:
            missed.append(f"{name}: PSS grew {ratio:.3f}x after the warm-up (bound {MEMORY_GROWTH_MAX})")
    console.print(table)
    f = out["freshness"]
    drift = f["p95_last_third_s"] / max(f["p95_first_third_s"], args.poll) if third else float("nan")
    console.print(
        f"freshness (session end -> fact_session and mart_hourly, one transaction; +- {args.poll:g} s): "
        f"p50 {f['p50_s']:.1f} s, p95 {f['p95_s']:.1f} s, max {f['max_s']:.1f} s over {f['sessions']:,} sessions; "
        f"p95 / goal {FRESHNESS_GOAL_S:g} s = {f['p95_s'] / FRESHNESS_GOAL_S:.2f}; last third / first third p95 = "
        f"{drift:.2f} (bound {DRIFT_MAX}); {f['missing']:,} sessions missing after {out['drain_s']:.0f} s of drain"
    )
    if f["missing"]:
        missed.append(f"{f['missing']:,} sessions of the run never reached fact_session")
    if not drift <= DRIFT_MAX:
        missed.append(f"freshness drifted: p95 of the last third {drift:.2f}x the first third's")
    out["error_bulletins"] = [f"{src} {when}: {msg}" for (src, when), msg in bulletins.items()]
    console.print(f"error bulletins: {len(bulletins)}")
    for line in out["error_bulletins"][:10]:
        console.print(f"  {line}")
    if bulletins:
        missed.append(f"{len(bulletins)} ERROR bulletins")
    day = args.date.isoformat()
    res = subprocess.run(
        [sys.executable, "-m", "iptv.reconcile_cli", "--from", day, "--to", day], cwd=REPO, capture_output=True,
        text=True,
    )  # fmt: skip
    out["reconcile"] = {"exit": res.returncode, "output": res.stdout.strip().splitlines()[-20:]}
    console.print(f"reconcile {day}: exit {res.returncode}; {(res.stdout.strip().splitlines() or [''])[-1]}")
    if res.returncode != 0:
        missed.append(f"reconcile of {day} found gaps (exit {res.returncode})")
    with open(RESULTS_DIR / f"{args.name}_samples.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(samples[0]))
        w.writeheader()
        w.writerows(samples)
    return missed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config()
    out: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "started": time.strftime("%FT%T")}
    try:
        missed = run(args, cfg, out)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted")
        return 130
    except UsageError as exc:
        console.print(f"[red]error: {exc}")
        return 2
    except Exception as exc:
        console.print(f"[red]error: {exc}")
        return 3
    out["missed"] = missed
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{args.name}.json").write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    for goal in missed:
        console.print(f"[red]missed: {goal}")
    console.print("all goals met" if not missed else f"{len(missed)} goal(s) missed", style="bold")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
