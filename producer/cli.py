"""``python -m producer``: the IPTV viewing simulator and Kafka producer.

Commands: ``live`` (one day streamed to Kafka in event-time order, paced or as fast as possible), ``backfill``
(the days before --date, to Kafka or to HDFS files by date, with their programme guide), ``catalogs`` (channels
and subscribers as headerless CSV), ``epg`` (the programme guide, one headerless CSV per day) and ``calibrate``
(fit the channel model to the rating table, or just --check it).

Exit codes: 0 done, 1 error (one line on stderr), 2 usage, 130 interrupted by Ctrl-C (after flushing).
Over 400 lines: five commands with their options and progress reporting; the simulation itself is in model.py,
events.py, faults.py and sinks.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from iptv.config import Config, ConfigError, load_config, state_dir
from producer import catalogs, faults, guide
from producer.events import Plan, write_truth
from producer.model import DAY, Simulator, epoch_seconds
from producer.sinks import CLIENTS, DEFAULT_CLIENT, HdfsWriter, KafkaSink, ProjectHdfs, SinkError, kafka_sink

log = logging.getLogger("producer")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Stop:
    """Set by the first Ctrl-C; a second one interrupts for real."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.requested = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, handler)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _speed(text: str) -> float:
    if text == "max":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed takes a positive number or 'max', not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("--speed must be positive (or 'max')")
    return value


def _time_of_day(text: str) -> int:
    try:
        t = dt.time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day (HH:MM or HH:MM:SS): {text!r}") from None
    return t.hour * 3600 + t.minute * 60 + t.second


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--faults takes a fraction of sessions, not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("--faults must be between 0 and 1 (fraction of sessions)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    base = argparse.ArgumentParser(add_help=False)
    base.add_argument("--seed", type=int, default=0, help="random seed: same seed, same data (default 0)")
    base.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    base.add_argument("--no-progress", action="store_true", help="no progress bar")
    common = argparse.ArgumentParser(add_help=False, parents=[base])
    common.add_argument("--users", type=_positive, default=10_000, help="number of subscribers (default 10000)")

    send = argparse.ArgumentParser(add_help=False)
    send.add_argument("--client", choices=CLIENTS, default=DEFAULT_CLIENT, help=f"Kafka library ({DEFAULT_CLIENT})")
    send.add_argument("--faults", type=_rate, default=0.0, metavar="RATE", help="fraction of sessions given a fault")
    send.add_argument("--manifest", type=Path, help="JSONL manifest of injected faults (default under .stack/)")
    send.add_argument("--truth", type=Path, help="write the valid sessions (ground truth) to this CSV")

    p = argparse.ArgumentParser(
        prog="python -m producer",
        description="IPTV viewing simulator: realistic subscribers, channels and sessions, streamed to Kafka.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    live = sub.add_parser(
        "live",
        parents=[common, send],
        help="stream one day's viewing events to Kafka in event-time order",
        description="Simulate calendar day --date and send its events to Kafka at event time: --speed X simulated "
        "seconds per real second from the day's start (default 60), --speed max, or --from-now (the current time "
        "of day at speed 1; sessions already running send their enabled event at once), or --start HH:MM (that "
        "time of --date at speed 1, e.g. the evening peak whatever the clock says).",
    )
    live.add_argument("--date", type=_date, default=None, help="day to simulate (default today)")
    pace = live.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=_speed, default=None, help="simulated seconds per real second, or 'max'")
    pace.add_argument("--from-now", action="store_true", help="start at the current time of day, real time")
    pace.add_argument(
        "--start", type=_time_of_day, metavar="HH:MM", help="start at this time of day of --date, real time"
    )

    back = sub.add_parser(
        "backfill",
        parents=[common, send],
        help="the N days before --date, to Kafka or to HDFS files by date",
        description="Simulate the --days days before --date and send them as fast as possible to Kafka (--to kafka) "
        "or write headerless CSV files to HDFS under hdfs.paths.viewing_events/dt=YYYY-MM-DD/ (--to hdfs; the date a "
        "message falls on is its send time). With --to hdfs (or --epg with --to kafka) the programme guide of the "
        "days goes to HDFS too, as the epg command writes it.",
    )
    back.add_argument("--days", type=_positive, default=7, help="number of days (default 7)")
    back.add_argument("--date", type=_date, default=None, help="the day after the history (default today)")
    back.add_argument("--to", choices=("kafka", "hdfs"), default="kafka", help="destination (default kafka)")
    back.add_argument("--epg", action="store_true", help="with --to kafka: also write the days' guide to HDFS")

    cat = sub.add_parser(
        "catalogs",
        parents=[common],
        help="write the channel and subscriber catalogs as headerless CSV",
        description="Write channels.csv and users.csv (headerless RFC 4180 CSV) to --out and/or to HDFS "
        "(--to hdfs: hdfs.paths.catalogs/channels/ and /users/). Default: --out .stack/producer/catalogs.",
    )
    cat.add_argument("--out", type=Path, help="local directory")
    cat.add_argument("--to", choices=("hdfs",), help="also (or only) write to HDFS")

    epg = sub.add_parser(
        "epg",
        parents=[base],
        help="write the programme guide, one headerless CSV per day",
        description="Write the programme guide of the --days days from --date (every channel, 00:00 to 24:00; the "
        "same seed gives the same guide of a date whatever the range) as headerless RFC 4180 CSV, one file per "
        "day: to HDFS <hdfs.paths.catalogs>/epg/dt=YYYY-MM-DD/epg-YYYY-MM-DD.csv (--to hdfs) or to "
        "--out/dt=YYYY-MM-DD/ (default --out .stack/producer/epg).",
    )
    epg.add_argument("--date", type=_date, default=None, help="first day (default today)")
    epg.add_argument("--days", type=_positive, default=1, help="number of days (default 1)")
    where = epg.add_mutually_exclusive_group()
    where.add_argument("--to", choices=("hdfs",), help="write to HDFS")
    where.add_argument("--out", type=Path, help="local directory")

    cal = sub.add_parser(
        "calibrate",
        parents=[common],
        help="fit the channel model to the rating table (or --check it)",
        description="Fit tune-in weights and stay factors so that a simulated week reproduces the rating table, "
        "and write data/reference/channel_model.csv. --check only reports the week's figures.",
    )
    cal.add_argument("--check", action="store_true", help="only simulate a week and report the calibration")
    cal.add_argument("--iterations", type=_positive, default=6)
    return p


# ----- helpers ------------------------------------------------------------------------------
def _progress(total: int, enabled: bool, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="ev", desc=desc, disable=None if enabled else True, mininterval=0.5, leave=False)


def _stream(
    plan: Plan, sink: KafkaSink, *, speed: float, sim_start: int, stop: _Stop, progress: bool, desc: str
) -> int:
    """Send the plan's messages (paced when speed > 0); returns how many were handed to the producer."""
    sent = 0
    bar = _progress(len(plan), progress, desc)
    t0 = time.monotonic()
    if speed:  # the clock mapping, for a reader that measures lags against event time (bench/bench_soak.py)
        wall = time.time()
        print(f"pacing: simulated {_utc(sim_start)} = wall clock {_utc(wall)} (x{speed:g})", flush=True)
    send = sink.send
    step = 2000
    try:
        for t, key, value in plan.messages():
            if stop.requested:
                break
            if speed:
                target = t0 + (t - sim_start) / speed
                while (rem := target - time.monotonic()) > 0 and not stop.requested:
                    sink.poll(min(rem, 0.2))
                if stop.requested:
                    break
            send(key.encode(), value.encode())
            sent += 1
            if sent % step == 0:
                bar.update(step)
                if speed:
                    bar.set_postfix_str(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)), refresh=False)
    finally:
        bar.update(sent % step)
        bar.close()
    return sent


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _kafka_target(cfg: Config) -> tuple[str, str]:
    topic = cfg.kafka.topics.get("viewing_events")
    if topic is None:
        raise ConfigError("config lacks kafka.topics.viewing_events")
    return cfg.kafka.bootstrap_servers, topic.name


def _default_manifest(cfg: Config, name: str) -> Path:
    return state_dir(cfg) / "producer" / f"faults-{name}.jsonl"


def _finish_outputs(
    plan: Plan, injected: list[faults.Fault], args: argparse.Namespace, cfg: Config, name: str, sent: int | None
) -> tuple[Path | None, int]:
    manifest_path = None
    entries: list[faults.Fault] = []
    if args.faults > 0:
        entries = faults.finalize(plan, injected, sent)
        manifest_path = args.manifest or _default_manifest(cfg, name)
        faults.write_manifest(entries, manifest_path)
    if args.truth:
        write_truth(plan.truth(sent), args.truth)
    return manifest_path, len(entries)


def _fault_summary(entries: list[faults.Fault]) -> str:
    c = Counter(e["kind"] for e in entries)
    return ", ".join(f"{k} {c[k]}" for k in faults.KINDS if c[k]) or "none"


def _connect(args: argparse.Namespace, cfg: Config) -> KafkaSink:
    """The Kafka sink, connected (fails fast, before any simulation work)."""
    bootstrap, topic = _kafka_target(cfg)
    sink = kafka_sink(args.client, cfg, topic)
    log.info("connected to %s, topic %s (%s, %s)", bootstrap, topic, args.client, cfg.kafka.security.protocol)
    return sink


def _send_to_kafka(
    plan: Plan, sink: KafkaSink, args: argparse.Namespace, *, speed: float, sim_start: int, desc: str
) -> tuple[int, int, float, bool]:
    stop = _Stop()
    stop.install()
    t0 = time.monotonic()
    sent = _stream(plan, sink, speed=speed, sim_start=sim_start, stop=stop, progress=not args.no_progress, desc=desc)
    left = sink.flush(60.0)
    elapsed = time.monotonic() - t0
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sink.close()
    if left:
        log.error("%d messages not delivered within 60 s", left)
    return sent, left, elapsed, stop.requested


def _write_guide(
    seed: int, first: dt.date, n_days: int, *, hdfs: HdfsWriter | None, root: str | Path, progress: bool
) -> int:
    """The guide of ``n_days`` days from ``first``: one file per day under ``root``/dt=YYYY-MM-DD/ (on HDFS when
    ``hdfs`` is given, else locally); returns the number of programmes written."""
    from tqdm import tqdm

    written = 0
    part = guide.PROGRAMMES.partition_column
    for i in tqdm(range(n_days), unit="day", desc="epg", disable=None if progress else True, leave=False):
        day = first + dt.timedelta(days=i)
        rows = guide.day_guide(seed, day).rows()
        data = catalogs.to_csv(rows).encode("utf-8")
        directory = f"{str(root).rstrip('/')}/{part}={day.isoformat()}"
        if hdfs is not None:
            hdfs.mkdirs(directory)
            hdfs.write(f"{directory}/{guide.file_name(day)}", data)
        else:
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / guide.file_name(day)).write_bytes(data)
        written += len(rows)
        log.info("%s/%s: %d programmes", directory, guide.file_name(day), len(rows))
    return written


def guide_to_hdfs(cfg: Config, hdfs: HdfsWriter, seed: int, first: dt.date, n_days: int, progress: bool) -> str:
    """The guide of the days to its lake directory; returns the summary line."""
    root = guide.PROGRAMMES.directory(cfg.hdfs.paths.as_dict())
    t0 = time.monotonic()
    n = _write_guide(seed, first, n_days, hdfs=hdfs, root=root, progress=progress)
    return _guide_summary(first, n_days, n, f"hdfs {root}", time.monotonic() - t0)


def _guide_summary(first: dt.date, n_days: int, n: int, where: str, elapsed: float) -> str:
    last = first + dt.timedelta(days=n_days - 1)
    return f"epg {first}..{last}: {n:,} programmes of 148 channels -> {where}/dt=*/ ({n_days} files, {elapsed:.1f} s)"


# ----- commands -----------------------------------------------------------------------------
def cmd_live(args: argparse.Namespace, cfg: Config) -> int:
    sink = _connect(args, cfg)
    now = dt.datetime.now()
    day = args.date or now.date()
    sim = Simulator(args.users, args.seed)
    sessions = sim.day(day)
    day0 = epoch_seconds(day)
    not_before = None
    if args.from_now or args.start is not None:
        seconds = now.hour * 3600 + now.minute * 60 + now.second if args.from_now else args.start
        not_before = day0 + seconds
        speed = args.speed or 1.0
        sim_start = not_before
    else:
        speed = 60.0 if args.speed is None else args.speed
        sim_start = day0
    plan = Plan(sessions, not_before=not_before)
    injected = faults.inject(plan, args.faults, args.seed) if args.faults else []
    total = len(plan)
    log.info("day %s: %d sessions, %d messages planned", day, plan.n_sessions, total)
    sent, left, elapsed, interrupted = _send_to_kafka(
        plan, sink, args, speed=speed, sim_start=sim_start, desc=f"live {day}"
    )
    manifest, n_faults = _finish_outputs(plan, injected, args, cfg, f"live-{day}-seed{args.seed}", sent)
    sessions_sent = len(plan.truth(sent))
    _summary(
        "live",
        f"{day}",
        sent,
        total,
        sink,
        elapsed,
        interrupted,
        sessions_sent,
        n_faults,
        manifest,
        args,
        speed_label="max" if not speed else f"x{speed:g}",
    )
    return _exit_code(sink, left, interrupted)


def _summary(
    cmd: str,
    what: str,
    sent: int,
    total: int,
    sink: KafkaSink,
    elapsed: float,
    interrupted: bool,
    sessions: int,
    n_faults: int,
    manifest: Path | None,
    args: argparse.Namespace,
    speed_label: str = "max",
) -> None:
    rate = sink.delivered / elapsed if elapsed > 0 else 0.0
    head = "INTERRUPTED: " if interrupted else ""
    print(
        f"{head}{cmd} {what}: {sent:,} of {total:,} events sent, {sink.delivered:,} delivered"
        f"{f', {sink.failed:,} FAILED' if sink.failed else ''}; {sessions:,} valid sessions complete; "
        f"{elapsed:.1f} s at speed {speed_label}, {rate:,.0f} events/s ({args.client})"
    )
    if manifest:
        print(f"faults: {n_faults:,} injected -> {manifest}")
    if args.truth:
        print(f"ground truth -> {args.truth}")


def _exit_code(sink: KafkaSink, left: int, interrupted: bool) -> int:
    if sink.failed or left:
        detail = sink.first_error or f"{left} messages still queued"
        print(f"error: {sink.failed + left} events were not delivered ({detail})", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def cmd_backfill(args: argparse.Namespace, cfg: Config) -> int:
    end_day = args.date or dt.date.today()
    first = end_day - dt.timedelta(days=args.days)
    sink = _connect(args, cfg) if args.to == "kafka" else None
    sim = Simulator(args.users, args.seed)
    sessions = sim.days(first, args.days)
    fmt = "json" if args.to == "kafka" else "csv"
    plan = Plan(sessions, fmt=fmt)
    injected = faults.inject(plan, args.faults, args.seed) if args.faults else []
    last = end_day - dt.timedelta(days=1)
    what = f"{first}..{last}"
    name = f"backfill-{first}-{last}-seed{args.seed}"
    if sink is not None:
        hdfs = ProjectHdfs(cfg) if args.epg else None  # fails fast, before sending
        sent, left, elapsed, interrupted = _send_to_kafka(
            plan, sink, args, speed=0.0, sim_start=epoch_seconds(first), desc=f"backfill {what}"
        )
        if hdfs is not None and not interrupted:
            print(guide_to_hdfs(cfg, hdfs, args.seed, first, args.days, not args.no_progress))
        manifest, n_faults = _finish_outputs(plan, injected, args, cfg, name, sent)
        _summary(
            "backfill",
            what,
            sent,
            len(plan),
            sink,
            elapsed,
            interrupted,
            len(plan.truth(sent)),
            n_faults,
            manifest,
            args,
        )
        return _exit_code(sink, left, interrupted)
    return _backfill_hdfs(plan, injected, args, cfg, name, first)


def _backfill_hdfs(
    plan: Plan, injected: list[faults.Fault], args: argparse.Namespace, cfg: Config, name: str, first: dt.date
) -> int:
    what = f"{first}..{first + dt.timedelta(days=args.days - 1)}"
    hdfs = ProjectHdfs(cfg)
    root = cfg.hdfs.paths.viewing_events.rstrip("/")
    t0 = time.monotonic()
    by_day: dict[int, list[str]] = {}
    for t, _key, value in plan.messages():
        by_day.setdefault(t // DAY, []).append(value)
    written = 0
    from tqdm import tqdm

    for d in tqdm(sorted(by_day), unit="day", disable=True if args.no_progress else None, leave=False):
        day = dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
        directory = f"{root}/dt={day.isoformat()}"
        hdfs.mkdirs(directory)
        lines = by_day[d]
        hdfs.write(f"{directory}/part-{name}.csv", ("\n".join(lines) + "\n").encode("utf-8"))
        written += len(lines)
        log.info("%s/part-%s.csv: %d lines", directory, name, len(lines))
    elapsed = time.monotonic() - t0
    manifest, n_faults = _finish_outputs(plan, injected, args, cfg, name, None)
    print(
        f"backfill {what}: {written:,} events ({len(plan.truth()):,} valid sessions) written to "
        f"{root}/dt=*/ in {len(by_day)} files, {elapsed:.1f} s"
    )
    print(guide_to_hdfs(cfg, hdfs, args.seed, first, args.days, not args.no_progress))
    if manifest:
        print(f"faults: {n_faults:,} injected -> {manifest}")
    if args.truth:
        print(f"ground truth -> {args.truth}")
    return EXIT_OK


def cmd_catalogs(args: argparse.Namespace, cfg: Config) -> int:
    channels = catalogs.to_csv(catalogs.channel_rows())
    users = catalogs.to_csv(catalogs.user_rows(args.users, args.seed))
    out = args.out or (None if args.to else state_dir(cfg) / "producer" / "catalogs")
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "channels.csv").write_text(channels, encoding="utf-8", newline="")
        (out / "users.csv").write_text(users, encoding="utf-8", newline="")
        print(f"catalogs: 148 channels, {args.users:,} users -> {out}/channels.csv, {out}/users.csv")
    if args.to == "hdfs":
        hdfs = ProjectHdfs(cfg)
        root = cfg.hdfs.paths.catalogs.rstrip("/")
        for name, text in (("channels", channels), ("users", users)):
            hdfs.mkdirs(f"{root}/{name}")
            hdfs.write(f"{root}/{name}/{name}.csv", text.encode("utf-8"))
        print(f"catalogs: 148 channels, {args.users:,} users -> hdfs {root}/channels/, {root}/users/")
    return EXIT_OK


def cmd_epg(args: argparse.Namespace, cfg: Config) -> int:
    first = args.date or dt.date.today()
    if args.to == "hdfs":
        print(guide_to_hdfs(cfg, ProjectHdfs(cfg), args.seed, first, args.days, not args.no_progress))
        return EXIT_OK
    out = args.out or state_dir(cfg) / "producer" / "epg"
    t0 = time.monotonic()
    n = _write_guide(args.seed, first, args.days, hdfs=None, root=out, progress=not args.no_progress)
    print(_guide_summary(first, args.days, n, str(out), time.monotonic() - t0))
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace, cfg: Config) -> int:
    from scipy.stats import spearmanr

    from producer.model import MODEL_CSV, fit, load_channel_model, save_channel_model, shares
    from producer.reference import load_rating

    if not args.check:
        save_channel_model(fit(iterations=args.iterations))
        load_channel_model.cache_clear()
        print(f"channel model -> {MODEL_CSV}")
    rating = load_rating()
    t0 = time.monotonic()
    week = Simulator(args.users, args.seed).days(dt.date(2025, 3, 3), 7)
    elapsed = time.monotonic() - t0
    w, v = shares(week, rating)
    rho_w = spearmanr(w, rating.watch_share).statistic
    rho_v = spearmanr(v, rating.viewer_share).statistic
    dev_w = np.abs(w[:10] / rating.watch_share[:10] - 1).max()
    dev_v = np.abs(v[:10] / rating.viewer_share[:10] - 1).max()
    print(
        f"week of {args.users:,} subscribers (seed {args.seed}): {len(week):,} sessions simulated in {elapsed:.1f} s\n"
        f"watch-time share: Spearman {rho_w:.4f}, top-10 max relative deviation {dev_w:.1%}\n"
        f"viewer share:     Spearman {rho_v:.4f}, top-10 max relative deviation {dev_v:.1%}"
    )
    return EXIT_OK


COMMANDS = {
    "live": cmd_live,
    "backfill": cmd_backfill,
    "catalogs": cmd_catalogs,
    "epg": cmd_epg,
    "calibrate": cmd_calibrate,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        cfg = load_config()
        return COMMANDS[args.command](args, cfg)
    except (SinkError, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
