"""The engine reads of the reconciliation (iptv/reconcile.py compares what these return): Kafka's offsets and the
consumer group's commits, the lake's accounting (ingest_batches), viewing_events, quarantine and sessions files
over WebHDFS, and the warehouse's figures (greenplum/reconcile/date_totals.sql); and the store of a result into
the warehouse table reconcile_results (the Pipeline health dashboard reads it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import posixpath
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iptv import reconcile as rc
from iptv.config import Config
from iptv.datasets import DATASETS, QUARANTINE, SESSIONS, VIEWING_EVENTS
from iptv.kafka_security import client_settings

log = logging.getLogger(__name__)

ACCOUNTING = DATASETS["ingest_batches"]
_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
_PART_FILE = re.compile(r"^part-(.+)\.csv$")


@dataclass(frozen=True)
class Target:
    """What to reconcile: the Kafka topic and consumer group of the ingestion, the lake's directories (config
    hdfs.paths) and the warehouse schema; ``date_from`` / ``date_to`` limit the per-batch and per-date checks
    (None: every date on the lake)."""

    topic: str
    group: str
    paths: dict[str, str]
    schema: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def in_range(self, day: dt.date) -> bool:
        return (self.date_from is None or day >= self.date_from) and (self.date_to is None or day <= self.date_to)


# ------------------------------------------------------------------------------------------------ Kafka


def kafka_offsets(cfg: Config, topic: str, group: str, timeout: float = 30.0) -> list[rc.PartitionOffsets]:
    """Begin and end offsets of every partition of ``topic`` and the committed offsets of ``group`` (read only:
    the consumer neither subscribes nor commits). RuntimeError if the topic does not exist."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **client_settings(cfg, "admin"),  # an operator's check: it reads any group's commits
            "group.id": group,
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise RuntimeError(f"Kafka topic {topic} not found at {cfg.kafka.bootstrap_servers}")
        partitions = sorted(meta.partitions)
        committed = {
            tp.partition: (tp.offset if tp.offset >= 0 else None)
            for tp in _committed(consumer, [TopicPartition(topic, p) for p in partitions], timeout)
        }
        out = []
        for p in partitions:
            begin, end = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
            out.append(rc.PartitionOffsets(p, begin, end, committed.get(p)))
        return out
    finally:
        consumer.close()


def _committed(consumer: Any, partitions: list, timeout: float) -> list:
    """The group's committed offsets; a broker that is still electing the group's coordinator (a fresh or
    restarted broker answers NOT_COORDINATOR for a few seconds) is asked again, for up to ``timeout``."""
    from confluent_kafka import KafkaError, KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            return consumer.committed(partitions, timeout=timeout)
        except KafkaException as exc:
            retriable = exc.args[0].code() in (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
            if not retriable or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


# ------------------------------------------------------------------------------------------------ lake


class Lake:
    """The lake's dated directories over WebHDFS (one LISTSTATUS per directory, one OPEN per file read)."""

    def __init__(self, cfg: Config, paths: dict[str, str]) -> None:
        from iptv import hdfs_client

        self.client = hdfs_client.client(cfg)
        self.paths = paths

    def dates(self, dataset) -> list[dt.date]:
        """The dates of the dt= directories of ``dataset`` (none if its directory does not exist)."""
        base = dataset.directory(self.paths)
        if self.client.status(base, strict=False) is None:
            return []
        return sorted(
            dt.date.fromisoformat(m.group(1))
            for name, st in self.client.list(base, status=True)
            if st.get("type") == "DIRECTORY" and (m := _DT_DIR.match(name))
        )

    def files(self, dataset, day: dt.date) -> list[str]:
        """The data files of a dt= directory (hidden and temporary files excluded), full paths."""
        directory = f"{dataset.directory(self.paths)}/dt={day.isoformat()}"
        if self.client.status(directory, strict=False) is None:
            return []
        return [
            posixpath.join(directory, name)
            for name, st in sorted(self.client.list(directory, status=True))
            if st.get("type") == "FILE" and not name.startswith((".", "_"))
        ]

    def read(self, path: str) -> bytes:
        with self.client.read(path) as reader:
            return reader.read()


def batch_of(path: str) -> str | None:
    """The batch id of a file written by the ingestion (``part-<batch_id>.csv``), None for another file."""
    m = _PART_FILE.match(posixpath.basename(path))
    return m.group(1) if m else None


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def parse_accounting(text: str, day: dt.date) -> list[rc.BatchAccount]:
    """The rows of one ingest_batches file (columns as in schemas/datasets.json)."""
    col = {c: i for i, c in enumerate(ACCOUNTING.column_names)}
    out = []
    for line in text.splitlines():
        if not line:
            continue
        f = line.split(",")
        out.append(
            rc.BatchAccount(
                batch_id=f[col["batch_id"]],
                dt=day,
                partition=int(f[col["kafka_partition"]]),
                first_offset=_int(f[col["first_offset"]]),
                last_offset=_int(f[col["last_offset"]]),
                messages=int(f[col["messages"]]),
                landed=int(f[col["landed"]]),
                rejected=int(f[col["rejected"]]),
                duplicates=int(f[col["duplicates"]]),
                redelivered=int(f[col["redelivered"]]),
            )
        )
    return out


def read_accounting(lake: Lake) -> list[rc.BatchAccount]:
    """Every accounting row on the lake (all dates: Kafka's offsets are not dated, and the rows are small)."""
    rows: list[rc.BatchAccount] = []
    for day in lake.dates(ACCOUNTING):
        for path in lake.files(ACCOUNTING, day):
            rows += parse_accounting(lake.read(path).decode("utf-8"), day)
    return rows


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def quarantine_reasons(data: bytes) -> dict[str, int]:
    """Records per reason of one quarantine file (RFC 4180 CSV, one physical line per record)."""
    at = QUARANTINE.column_names.index("reason")
    out: dict[str, int] = {}
    for row in csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))):
        if row:
            out[row[at]] = out.get(row[at], 0) + 1
    return out


def lake_batches(lake: Lake, batch_ids: set[str], quarantine_dates: Iterable[dt.date]) -> dict[str, rc.BatchLanded]:
    """What the lake holds of each batch of ``batch_ids``: its viewing_events lines over every date (an event is
    dated by its timer, any date) and its quarantine records by reason in ``quarantine_dates`` (a batch's
    rejected records are dated by its arrival, the date of its accounting)."""
    events: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    for day in lake.dates(VIEWING_EVENTS):
        for path in lake.files(VIEWING_EVENTS, day):
            b = batch_of(path)
            if b in batch_ids:
                events[b] = events.get(b, 0) + count_lines(lake.read(path))
    for day in sorted(set(quarantine_dates)):
        for path in lake.files(QUARANTINE, day):
            b = batch_of(path)
            if b in batch_ids:
                into = reasons.setdefault(b, {})
                for reason, n in quarantine_reasons(lake.read(path)).items():
                    into[reason] = into.get(reason, 0) + n
    return {b: rc.BatchLanded(events.get(b, 0), reasons.get(b, {})) for b in batch_ids}


def lake_sessions(lake: Lake, target: Target) -> dict[dt.date, int]:
    """Lines of the sessions files per date (dt = date of time_start) in the target's range."""
    out = {}
    for day in lake.dates(SESSIONS):
        if target.in_range(day):
            out[day] = sum(count_lines(lake.read(p)) for p in lake.files(SESSIONS, day))
    return out


# ------------------------------------------------------------------------------------------------ warehouse


def warehouse_totals(conn: Any, wh: Any, date_from: dt.date, date_to: dt.date) -> dict[dt.date, tuple]:
    """greenplum/reconcile/date_totals.sql: per date (fact_sessions, load_rejects, fact_watch_s, mart_daily
    sessions, mart_daily watch_s, mart_channel_daily sessions, mart_hourly watch_s)."""
    with conn.cursor() as cur:
        cur.execute(wh.sql("reconcile/date_totals.sql", date_from=date_from, date_to=date_to))
        return {row[0]: tuple(row[1:]) for row in cur.fetchall()}


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def date_totals(lake_counts: dict[dt.date, int], warehouse: dict[dt.date, tuple]) -> dict[dt.date, rc.DateTotals]:
    out = {}
    for day in sorted(set(lake_counts) | set(warehouse)):
        w = warehouse.get(day) or (0, 0, 0, None, None, None, None)
        out[day] = rc.DateTotals(
            lake_sessions=lake_counts.get(day, 0),
            fact_sessions=int(w[0]),
            load_rejects=int(w[1]),
            fact_watch_s=float(w[2] or 0),
            mart_daily_sessions=None if w[3] is None else int(w[3]),
            mart_daily_watch_s=_f(w[4]),
            mart_channel_sessions=None if w[5] is None else int(w[5]),
            mart_hourly_watch_s=_f(w[6]),
        )
    return out


def store(conn: Any, wh: Any, report: rc.Report, target: Target, checked_at: dt.datetime) -> int:
    """Replace the warehouse's reconcile_results by this run's figures (per partition and date: the per-batch
    figures are summed into one row per check) and gaps, in one transaction. Returns the rows written."""
    rows: list[dict[str, Any]] = []
    batch_totals: dict[str, list[float]] = {}
    for (check, subject), (expected, found) in sorted(report.figures.items()):
        if subject.startswith("batch "):
            t = batch_totals.setdefault(check, [0.0, 0.0])
            t[0] += expected
            t[1] += found
            continue
        rows.append({"check_name": check, "subject": subject, "expected": expected, "found": found})
    for check, (expected, found) in sorted(batch_totals.items()):
        rows.append({"check_name": check, "subject": "all batches", "expected": expected, "found": found})
    for g in report.gaps:
        rows.append(
            {"check_name": g.kind, "subject": g.subject, "expected": g.expected, "found": g.found, "gap": g.kind}
            | {"detail": g.detail}
        )
    common = {"checked_at": checked_at.replace(tzinfo=None), "date_from": target.date_from, "date_to": target.date_to}
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("reconcile/clear_results.sql"))
        for row in rows:
            values = {"gap": None, "detail": None, **common, **row}
            values["expected"] = round(float(values["expected"]), 3)
            values["found"] = round(float(values["found"]), 3)
            cur.execute(wh.sql("reconcile/insert_result.sql", **values))
    return len(rows)


def last_result(conn: Any, wh: Any) -> str:
    """One line on the last stored reconciliation (reconcile_results), for flow_status' summary."""
    with conn.cursor() as cur:
        cur.execute(wh.sql("reconcile/last_result.sql"))
        checked_at, date_from, date_to, gaps, details = cur.fetchone()
    if checked_at is None:
        return "reconcile: no stored result (run scripts/reconcile.py --store)"
    span = f" {date_from or '...'}..{date_to or '...'}" if date_from or date_to else ""
    head = f"reconcile (last run {checked_at:%Y-%m-%d %H:%M:%S} UTC{span}):"
    if not gaps:
        return f"{head} ok"
    shown = (details or "")[:400]
    return f"{head} {gaps} gap(s): {shown}"


# ------------------------------------------------------------------------------------------------ the whole run


def run(cfg: Config, target: Target, conn: Any = None) -> rc.Report:
    """Read every engine and compare (iptv/reconcile.py). ``conn``: a warehouse connection (the loader's or
    the reader's); None skips chain (b)."""
    from iptv.warehouse.schema import Warehouse

    report = rc.Report()
    lake = Lake(cfg, target.paths)
    accounts = read_accounting(lake)
    log.info("read %d accounting rows", len(accounts))
    rc.reconcile_offsets(kafka_offsets(cfg, target.topic, target.group), accounts, report)
    in_range = [a for a in accounts if target.in_range(a.dt)]
    landed = lake_batches(lake, {a.batch_id for a in in_range}, {a.dt for a in in_range})
    rc.reconcile_batches(in_range, landed, report)
    if conn is not None:
        counts = lake_sessions(lake, target)
        wh = Warehouse(cfg, target.schema)
        lo = target.date_from or (min(counts) if counts else dt.date(1970, 1, 1))
        hi = target.date_to or (max(counts) if counts else dt.date(9999, 12, 31))
        rc.reconcile_dates(date_totals(counts, warehouse_totals(conn, wh, lo, hi)), report)
    return report
