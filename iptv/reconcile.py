"""The reconciliation of the pipeline's counts, end to end (pure logic, stdlib only; the engine reads are in
:mod:`iptv.reconcile_sources`, the command line in :mod:`iptv.reconcile_cli`).

Two chains of figures, each compared link by link, and every difference named as a :class:`Gap`:

(a) **Kafka -> lake**, per topic partition. Kafka says which offsets the topic holds (its begin and end offsets)
    and how far the ingestion's consumer group has committed. The ingestion's accounting (dataset
    ``ingest_batches``, one row per partition of every landed batch, written by the pairer in the same output as
    the batch's files) says which offsets it processed and what became of each message: landed as a distinct valid
    event, rejected into the quarantine, or dropped as an identical duplicate. The lake says what landed: the lines
    of each batch's ``viewing_events`` files and its quarantine records of the rejecting reasons (the files of a
    batch are all named ``part-<batch_id>.csv``). So, per partition: every offset from the first one Kafka still
    holds to the committed one is accounted for exactly once (no hole, no overlap); per batch: messages =
    landed + rejected + duplicates, and the lake holds exactly that batch's landed events and rejected records.

(b) **lake -> warehouse -> marts**, per date: the sessions files of ``sessions/dt=<date>`` against the date's rows
    of ``fact_session`` plus its load rejects, and ``fact_session`` against the marts (sessions and watch time of
    ``mart_daily``, sessions of ``mart_channel_daily``, watch time of ``mart_hourly``).

The figures compared are kept in :class:`Report` (``figures``), so that a clean run also shows what was counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The quarantine reasons a message gets although it *landed* as a distinct valid event (a pairing rule rejects
#: the pair or a half later: docs/session-pairing.md). Every other reason rejects the message instead of landing
#: it, so a batch's records of the other reasons are its ``rejected`` messages. (Kept in step with
#: nifi/python-processors/iptv_sessions/quarantine_reasons.py by tests/unit/test_reconcile.py.)
LANDED_EVENT_REASONS = frozenset(
    {
        "unknown_channel",
        "conflicting_pair",
        "end_before_start",
        "conflicting_duplicate",
        "unmatched_start",
        "unmatched_end",
    }
)
#: The accounting's partition of batch lines that had no partition and offset (ingestion.NO_PARTITION).
NO_PARTITION = -1
#: Watch time is kept in hours (6 decimals) and minutes (6 decimals) in the marts: a difference up to this many
#: seconds is rounding, not a gap.
WATCH_SECONDS_TOLERANCE = 1.0

# Kinds of gaps, in the order of the data's path.
OFFSETS_NOT_CONSUMED = "offsets_not_consumed"  # in Kafka past the committed offset: not read yet (lag)
OFFSETS_UNACCOUNTED = "offsets_unaccounted"  # in Kafka (or committed) but in no landed batch's accounting
OFFSETS_TWICE = "offsets_accounted_twice"  # in two batches' accounting: counted twice
ACCOUNTING_INCONSISTENT = "accounting_inconsistent"  # messages != landed + rejected + duplicates
EVENTS_MISSING = "raw_events_mismatch"  # a batch's viewing_events lines on the lake != its landed
QUARANTINE_MISSING = "quarantine_mismatch"  # a batch's rejected records on the lake != its rejected
SESSIONS_NOT_LOADED = "sessions_not_loaded"  # lake sessions of a date != fact_session + load rejects
MART_MISMATCH = "mart_mismatch"  # a mart's total of a date != fact_session's
GAP_KINDS = (
    OFFSETS_NOT_CONSUMED,
    OFFSETS_UNACCOUNTED,
    OFFSETS_TWICE,
    ACCOUNTING_INCONSISTENT,
    EVENTS_MISSING,
    QUARANTINE_MISSING,
    SESSIONS_NOT_LOADED,
    MART_MISMATCH,
)


@dataclass(frozen=True)
class PartitionOffsets:
    """What Kafka says of one partition: offsets ``begin`` .. ``end - 1`` are in the topic (log start and end),
    ``committed`` is the consumer group's committed offset (the next one it would read; None: never committed)."""

    partition: int
    begin: int
    end: int
    committed: int | None


@dataclass(frozen=True)
class BatchAccount:
    """One row of the ingestion's accounting (dataset ingest_batches)."""

    batch_id: str
    dt: dt.date  # arrival date: its directory
    partition: int
    first_offset: int | None
    last_offset: int | None
    messages: int
    landed: int
    rejected: int
    duplicates: int
    redelivered: int = 0


@dataclass(frozen=True)
class BatchLanded:
    """What the lake holds of one batch (its ``part-<batch_id>.csv`` files): viewing_events lines over every
    date, and quarantine records by reason."""

    events: int = 0
    quarantine: Mapping[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(n for reason, n in self.quarantine.items() if reason not in LANDED_EVENT_REASONS)


@dataclass(frozen=True)
class DateTotals:
    """The figures of one date (of time_start) along lake -> warehouse -> marts. None: the table has no row."""

    lake_sessions: int
    fact_sessions: int
    load_rejects: int
    fact_watch_s: float  # watch time of the day from fact_session (overlap with the day, marts' definition)
    mart_daily_sessions: int | None
    mart_daily_watch_s: float | None
    mart_channel_sessions: int | None
    mart_hourly_watch_s: float | None


@dataclass(frozen=True)
class Gap:
    """One difference: its kind, what it concerns (``partition 1``, ``batch <id>``, ``2025-03-05 mart_daily``),
    what was expected and what was found, and a sentence."""

    kind: str
    subject: str
    expected: float
    found: float
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass
class Report:
    """The gaps found and the figures compared (``(check, subject) -> (expected, found)``)."""

    gaps: list[Gap] = field(default_factory=list)
    figures: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.gaps

    def figure(self, check: str, subject: str, expected: float, found: float) -> None:
        self.figures[(check, subject)] = (expected, found)

    def gap(self, kind: str, subject: str, expected: float, found: float, detail: str) -> None:
        self.gaps.append(Gap(kind, subject, expected, found, detail))

    def totals(self) -> dict[str, float]:
        """Sums of the figures per check (the ``found`` side): e.g. ``sent``, ``landed``, ``fact_session``."""
        out: dict[str, float] = {}
        for (check, _subject), (_expected, found) in self.figures.items():
            out[check] = out.get(check, 0) + found
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "gaps": [g.__dict__ for g in self.gaps],
            "figures": [
                {"check": c, "subject": s, "expected": e, "found": f} for (c, s), (e, f) in sorted(self.figures.items())
            ],
            "totals": self.totals(),
        }


def _span(lo: int, hi: int) -> str:
    return f"offset {lo}" if lo == hi else f"offsets {lo}-{hi}"


def reconcile_offsets(
    offsets: Iterable[PartitionOffsets], accounts: Iterable[BatchAccount], report: Report | None = None
) -> Report:
    """Chain (a), Kafka against the accounting, per partition: see the module doc. Accounting of offsets Kafka no
    longer holds (before ``begin``: deleted by retention) is not compared with Kafka, only checked for overlaps."""
    report = report if report is not None else Report()
    by_partition: dict[int, list[BatchAccount]] = {}
    for a in accounts:
        if a.messages != a.landed + a.rejected + a.duplicates:
            report.gap(
                ACCOUNTING_INCONSISTENT,
                f"batch {a.batch_id} partition {a.partition}",
                a.messages,
                a.landed + a.rejected + a.duplicates,
                f"{a.messages} messages but {a.landed} landed + {a.rejected} rejected + {a.duplicates} duplicates",
            )
        if a.partition != NO_PARTITION and a.first_offset is not None and a.last_offset is not None:
            by_partition.setdefault(a.partition, []).append(a)
    for po in sorted(offsets, key=lambda p: p.partition):
        subject = f"partition {po.partition}"
        rows = sorted(by_partition.pop(po.partition, []), key=lambda a: (a.first_offset, a.last_offset))
        sent = po.end - po.begin
        accounted = 0
        landed = rejected = duplicates = 0
        nxt = po.begin  # the next offset that must be accounted for
        for a in rows:
            first, last = a.first_offset, a.last_offset
            assert first is not None and last is not None
            if a.messages != last - first + 1:  # a batch's new offsets of a partition are one run
                report.gap(
                    OFFSETS_UNACCOUNTED,
                    f"{subject} batch {a.batch_id}",
                    last - first + 1,
                    a.messages,
                    f"{_span(first, last)} hold {last - first + 1} offsets, the batch accounts for {a.messages}",
                )
            if last < po.begin:
                continue  # deleted from Kafka by retention: nothing to compare with
            if first < nxt and accounted:
                lo, hi = first, min(last, nxt - 1)
                report.gap(
                    OFFSETS_TWICE,
                    subject,
                    0,
                    hi - lo + 1,
                    f"{_span(lo, hi)} accounted twice (again in batch {a.batch_id}): {hi - lo + 1} messages",
                )
            elif first > nxt:
                report.gap(
                    OFFSETS_UNACCOUNTED,
                    subject,
                    first - nxt,
                    0,
                    f"{_span(nxt, first - 1)} ({first - nxt} messages) are in no landed batch's accounting",
                )
            lo = max(first, po.begin)
            accounted += last - lo + 1
            if lo == first:
                landed, rejected, duplicates = landed + a.landed, rejected + a.rejected, duplicates + a.duplicates
            nxt = max(nxt, last + 1)
        committed = po.committed if po.committed is not None else po.begin
        if committed > nxt:
            report.gap(
                OFFSETS_UNACCOUNTED,
                subject,
                committed - nxt,
                0,
                f"{_span(nxt, committed - 1)} ({committed - nxt} messages) committed by the consumer group but in "
                "no landed batch's accounting: lost between Kafka and the lake",
            )
        if po.end > max(nxt, committed):
            lo = max(nxt, committed)
            report.gap(
                OFFSETS_NOT_CONSUMED,
                subject,
                po.end - lo,
                0,
                f"{_span(lo, po.end - 1)} ({po.end - lo} messages) in Kafka, not consumed yet "
                f"(committed {po.committed})",
            )
        report.figure("sent", subject, sent, sent)
        report.figure("accounted", subject, sent, accounted)
        report.figure("landed", subject, landed, landed)
        report.figure("rejected", subject, rejected, rejected)
        report.figure("duplicates", subject, duplicates, duplicates)
    for partition, rows in sorted(by_partition.items()):
        n = sum(a.messages for a in rows)
        report.gap(
            OFFSETS_UNACCOUNTED,
            f"partition {partition}",
            0,
            n,
            f"{n} messages accounted for a partition the topic does not have",
        )
    return report


def reconcile_batches(
    accounts: Iterable[BatchAccount], landed: Mapping[str, BatchLanded], report: Report | None = None
) -> Report:
    """Chain (a), the accounting against the lake, per batch: its viewing_events lines and its rejected quarantine
    records (``landed``: by batch id; a batch the lake has no file of is missing everything)."""
    report = report if report is not None else Report()
    per_batch: dict[str, list[int]] = {}
    for a in accounts:
        t = per_batch.setdefault(a.batch_id, [0, 0])
        t[0] += a.landed
        t[1] += a.rejected
    for batch_id, (want_events, want_rejected) in sorted(per_batch.items()):
        got = landed.get(batch_id) or BatchLanded()
        subject = f"batch {batch_id}"
        report.figure("lake_events", subject, want_events, got.events)
        report.figure("lake_rejected", subject, want_rejected, got.rejected)
        if got.events != want_events:
            report.gap(
                EVENTS_MISSING,
                subject,
                want_events,
                got.events,
                f"viewing_events part-{batch_id}.csv hold {got.events} events, the batch landed {want_events}",
            )
        if got.rejected != want_rejected:
            report.gap(
                QUARANTINE_MISSING,
                subject,
                want_rejected,
                got.rejected,
                f"quarantine part-{batch_id}.csv hold {got.rejected} rejected messages, the batch rejected "
                f"{want_rejected}",
            )
    return report


def reconcile_dates(totals: Mapping[dt.date, DateTotals], report: Report | None = None) -> Report:
    """Chain (b), per date: lake sessions = fact_session + load rejects; the marts' totals = fact_session's."""
    report = report if report is not None else Report()
    for day, t in sorted(totals.items()):
        d = day.isoformat()
        report.figure("lake_sessions", d, t.lake_sessions, t.lake_sessions)
        report.figure("fact_session", d, t.lake_sessions, t.fact_sessions + t.load_rejects)
        if t.fact_sessions + t.load_rejects != t.lake_sessions:
            report.gap(
                SESSIONS_NOT_LOADED,
                f"{d} fact_session",
                t.lake_sessions,
                t.fact_sessions + t.load_rejects,
                f"{t.lake_sessions} sessions on the lake, {t.fact_sessions} in fact_session + {t.load_rejects} "
                f"load rejects ({t.lake_sessions - t.fact_sessions - t.load_rejects:+d} missing)",
            )
        counts = (
            ("mart_daily sessions", t.mart_daily_sessions),
            ("mart_channel_daily sessions", t.mart_channel_sessions),
        )
        for what, got in counts:
            found = 0 if got is None else got
            report.figure(what, d, t.fact_sessions, found)
            if found != t.fact_sessions:
                report.gap(
                    MART_MISMATCH,
                    f"{d} {what.split()[0]}",
                    t.fact_sessions,
                    found,
                    f"{what} {found}, fact_session {t.fact_sessions}",
                )
        watch = (("mart_daily watch_s", t.mart_daily_watch_s), ("mart_hourly watch_s", t.mart_hourly_watch_s))
        for what, got in watch:
            found = 0.0 if got is None else got
            report.figure(what, d, t.fact_watch_s, found)
            if abs(found - t.fact_watch_s) > WATCH_SECONDS_TOLERANCE:
                report.gap(
                    MART_MISMATCH,
                    f"{d} {what.split()[0]}",
                    t.fact_watch_s,
                    found,
                    f"{what} {found:.0f}, fact_session's watch time {t.fact_watch_s:.0f} s",
                )
    return report


def summary_line(report: Report) -> str:
    """One line: ``reconcile: ok ...`` or ``reconcile: N gap(s) ...`` with the main totals."""
    tot = report.totals()
    figures = " ".join(
        f"{k}={int(tot[k])}"
        for k in ("sent", "accounted", "landed", "rejected", "duplicates", "lake_sessions", "fact_session")
        if k in tot
    )
    head = "ok" if report.ok else f"{len(report.gaps)} gap(s)"
    return f"reconcile: {head} {figures}".rstrip()
