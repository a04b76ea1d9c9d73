"""Exactly-once glue between the Kafka batches of ``ConsumeViewingEvents`` and session_pairer.SessionPairer
(stdlib only, no NiFi imports; used by the NiFi processor ``PairViewingEvents``). The content of the FlowFiles
in and out is described in flowfile_formats.py.

Delivery guarantee (docs/ingestion.md): :class:`IngestState` keeps, next to the pairer's state, the Kafka offsets
already processed per partition (as merged ranges) and the identity and output of the last input FlowFile.
A message whose offset was already processed (Kafka redelivery after a restart) is skipped silently; an input
FlowFile seen again (NiFi replays it because the output was not committed before a crash) gets its stored
output back, byte for byte, instead of being processed a second time.

Accounting (dataset ``ingest_batches``): each output also holds, per Kafka partition of the batch, the range of
offsets processed for the first time and what became of those messages (landed, rejected, duplicates), plus
the redeliveries skipped (:func:`accounting_rows`). It is part of the stored output, so a replayed FlowFile
lands the same rows under the same file name, and a redelivered offset is counted as processed only once: the
reconciliation (iptv/reconcile.py) can add the rows up without double counting.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

try:  # package import (tests)
    from iptv_sessions.batch_fast_path import OUTCOME_BASE, pair_batch
    from iptv_sessions.batch_result import BatchResult, add_counters, new_counters, quarantine
    from iptv_sessions.event_contract import describe_error, format_wallclock, guess_session_id
    from iptv_sessions.flowfile_formats import batch_text, read_batch, render_output
    from iptv_sessions.quarantine_reasons import BATCH_FAILED, MALFORMED_BATCH_LINE
    from iptv_sessions.session_pairer import REJECTED, PairerConfig, SessionPairer
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from batch_fast_path import OUTCOME_BASE, pair_batch
    from batch_result import BatchResult, add_counters, new_counters, quarantine
    from event_contract import describe_error, format_wallclock, guess_session_id
    from flowfile_formats import batch_text, read_batch, render_output
    from quarantine_reasons import BATCH_FAILED, MALFORMED_BATCH_LINE
    from session_pairer import REJECTED, PairerConfig, SessionPairer

INGEST_STATE_FORMAT = "iptv-ingest/1"
MAX_RANGES_PER_PARTITION = 256
#: NiFi's local state provider writes each value with DataOutput.writeUTF: at most 65,535 bytes per value.
STATE_CHUNK_CHARS = 60_000
CHUNK_SEP = "#"


def chunk_state(state: dict[str, str], limit: int = STATE_CHUNK_CHARS) -> dict[str, str]:
    """Split values longer than ``limit`` into ``key#0``, ``key#1``, ... plus ``key#n`` (the count)."""
    out: dict[str, str] = {}
    for key, value in state.items():
        if len(value) <= limit:
            out[key] = value
            continue
        parts = [value[i : i + limit] for i in range(0, len(value), limit)]
        for i, part in enumerate(parts):
            out[f"{key}{CHUNK_SEP}{i}"] = part
        out[f"{key}{CHUNK_SEP}n"] = str(len(parts))
    return out


def unchunk_state(state: dict[str, str]) -> dict[str, str]:
    out = {k: v for k, v in state.items() if CHUNK_SEP not in k}
    for key in [k for k in state if k.endswith(CHUNK_SEP + "n")]:
        base = key[: -len(CHUNK_SEP + "n")]
        n = int(state[key])
        try:
            out[base] = "".join(state[f"{base}{CHUNK_SEP}{i}"] for i in range(n))
        except KeyError:
            raise ValueError(f"state value {base!r} is missing chunks") from None
    return out


# ------------------------------------------------------------------------------------------------ offset ranges


class OffsetRanges:
    """Processed offsets of one partition as sorted, merged, inclusive ranges ``[[lo, hi], ...]``.

    Normally a single range (batches arrive in order); out-of-order batches leave a gap that merges once filled.
    Bounded: beyond MAX_RANGES_PER_PARTITION the lowest ranges are merged (their gap counts as processed)."""

    def __init__(self, ranges: Iterable[Iterable[int]] = ()) -> None:
        self.ranges: list[list[int]] = [[int(lo), int(hi)] for lo, hi in ranges]

    def contains(self, offset: int) -> bool:
        rs = self.ranges
        if not rs or offset > rs[-1][1]:  # the usual case: a new offset past everything processed
            return False
        for lo, hi in rs:
            if lo <= offset <= hi:
                return True
            if offset < lo:
                return False
        return False

    def add(self, offset: int) -> None:
        rs = self.ranges
        if rs and rs[-1][1] + 1 == offset:  # fast path: in order
            rs[-1][1] = offset
            return
        rs.append([offset, offset])
        rs.sort()
        merged: list[list[int]] = []
        for lo, hi in rs:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        while len(merged) > MAX_RANGES_PER_PARTITION:
            merged[0:2] = [[merged[0][0], merged[1][1]]]
        self.ranges = merged


# ------------------------------------------------------------------------------------------------ accounting

#: Partition of the accounting row of batch content that has no partition and offset (malformed batch lines,
#: an unreadable batch): its messages are all rejected.
NO_PARTITION = -1


def accounting_rows(
    batch_id: str,
    arrival_iso: str,
    taken: list[tuple[int, int]],
    outcomes: list[int],
    redelivered: dict[int, int],
    unaddressed: int = 0,
) -> list[tuple]:
    """The ``ingest_batches`` rows of one batch: per partition with messages processed for the first time
    (``taken``: ``(partition, offset)`` per message, parallel to ``outcomes``), sorted, the first and last of
    those offsets, messages, landed, rejected, duplicates and the redeliveries of that partition skipped in the
    batch; a NO_PARTITION row for ``unaddressed`` rejected lines."""
    stats: dict[int, list] = {}  # partition -> [first, last, landed, rejected, duplicates]
    for (partition, offset), outcome in zip(taken, outcomes, strict=True):
        st = stats.get(partition)
        if st is None:
            st = stats[partition] = [offset, offset, 0, 0, 0]
        st[0] = min(st[0], offset)
        st[1] = max(st[1], offset)
        st[OUTCOME_BASE + outcome] += 1
    return accounting_rows_of(batch_id, arrival_iso, stats, redelivered, unaddressed)


def accounting_rows_of(
    batch_id: str, arrival_iso: str, stats: dict[int, list], redelivered: dict[int, int], unaddressed: int = 0
) -> list[tuple]:
    """:func:`accounting_rows` from the stats per partition, ``[first, last, landed, rejected, duplicates]``."""
    rows = []
    for partition in sorted(stats):  # a batch of redeliveries only has no row (and, as before, no output)
        first, last, landed, rejected, dups = stats[partition]
        rows.append(
            (batch_id, arrival_iso, partition, first, last, landed + rejected + dups, landed, rejected, dups,
             redelivered.get(partition, 0))
        )  # fmt: skip
    if unaddressed:
        rows.append((batch_id, arrival_iso, NO_PARTITION, None, None, unaddressed, 0, unaddressed, 0, 0))
    return rows


# ------------------------------------------------------------------------------------------------ state


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector. The pairer's objects hold no reference cycles (reference counting
    frees them), but creating them in bulk triggers collections that rescan the whole state, hundreds of
    thousands of objects, again and again: a third of a batch's time without this."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class IngestResult:
    content: bytes
    counts: dict[str, int]
    counters: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False
    skipped_redelivered: int = 0
    #: Processed by :meth:`IngestState.process_isolating` (split after repeated failures).
    isolated: bool = False


class FailedAttempts:
    """How often each input FlowFile (by uuid) has failed in this process; bounded, oldest forgotten first."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    def record(self, input_id: str) -> int:
        """Count one more failure of ``input_id``; returns its failures so far."""
        n = self.counts.pop(input_id, 0) + 1
        self.counts[input_id] = n
        while len(self.counts) > self.limit:
            del self.counts[next(iter(self.counts))]
        return n

    def forget(self, input_id: str) -> None:
        self.counts.pop(input_id, None)


class IngestState:
    """Pairer + processed offsets + last input identity/output; one NiFi state map (Map<String,String>)."""

    def __init__(self, pairer: SessionPairer) -> None:
        self.pairer = pairer
        self.offsets: dict[int, OffsetRanges] = {}
        self.last_input: str | None = None
        self.last_output: bytes = b""
        self.last_counts: dict[str, int] = {}
        self.redelivered_total = 0

    def process(self, input_id: str, content: bytes, now: float, tick: bool = False) -> IngestResult:
        if input_id and input_id == self.last_input:
            return IngestResult(self.last_output, dict(self.last_counts), replayed=True)
        with _no_cyclic_gc():
            return self._process(input_id, content, now, tick)

    def _process(self, input_id: str, content: bytes, now: float, tick: bool) -> IngestResult:
        if self.pairer.fast_path:
            return self._process_whole(input_id, content, now, tick)
        return self._process_each(input_id, content, now, tick)

    def _process_each(self, input_id: str, content: bytes, now: float, tick: bool) -> IngestResult:
        """The batch message by message through SessionPairer.process_batch (the reference of the fast path)."""
        items, malformed = read_batch(content)
        messages, envelopes, taken, redelivered = self._take_new(items)
        outcomes: list[int] = []
        result = self.pairer.process_batch(
            messages, now=now, tick=tick or not (messages or malformed), envelopes=envelopes, outcomes=outcomes
        )
        self._quarantine_malformed(result, malformed, now)
        rows = accounting_rows(input_id, format_wallclock(now), taken, outcomes, redelivered, len(malformed))
        return self._finish(input_id, [result], sum(redelivered.values()), accounting=rows)

    def _process_whole(self, input_id: str, content: bytes, now: float, tick: bool) -> IngestResult:
        """:meth:`_process` by batch_fast_path.pair_batch: the same output and state, a fraction of the CPU."""
        pairer = self.pairer
        arrival_iso = format_wallclock(now)
        out = BatchResult(counters=new_counters())
        done = pair_batch(pairer, self.offsets, OffsetRanges, batch_text(content), now, arrival_iso, out)
        if tick or not (done.messages or done.malformed):
            out.counters["ticks"] += 1
        pairer.finish_batch(now, out)
        self._quarantine_malformed(out, done.malformed, now)
        rows = accounting_rows_of(input_id, arrival_iso, done.stats, done.redelivered, len(done.malformed))
        skipped = sum(done.redelivered.values())
        return self._finish(input_id, [out], skipped, accounting=rows, lines_by_section=done.lines)

    def process_isolating(self, input_id: str, content: bytes, now: float, error: str) -> IngestResult:
        """Process a batch that failed :meth:`process` repeatedly (``error``: the last failure) by splitting it.

        Each part is tried on a copy of the pairer and adopted when it succeeds; a part that fails is split in
        two, down to single messages, and a single message that still fails is quarantined as ``batch_failed``
        with both errors. So whatever in the batch trips a fault outside the per-message guard, the rest of it
        lands, each message exactly once. Content that cannot be read as a batch at all becomes one quarantine
        record holding it."""
        if input_id and input_id == self.last_input:
            return IngestResult(self.last_output, dict(self.last_counts), replayed=True)
        with _no_cyclic_gc():
            arrival_iso = format_wallclock(now)
            try:
                items, malformed = read_batch(content)
            except Exception as exc:  # noqa: BLE001 - e.g. corrupt gzip: keep the bytes, say why
                out = BatchResult(counters=new_counters())
                raw = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else str(content)
                quarantine(
                    out,
                    BATCH_FAILED,
                    None,
                    raw,
                    f"{error}; unreadable batch: {describe_error(exc)}",
                    arrival_iso,
                )
                rows = accounting_rows(input_id, arrival_iso, [], [], {}, unaddressed=1)
                return self._finish(input_id, [out], 0, isolated=True, accounting=rows)
            messages, envelopes, taken, redelivered = self._take_new(items)
            outcomes = [REJECTED] * len(messages)
            results: list[BatchResult] = []
            parts = [(0, len(messages))] if messages else []  # [lo, hi) slices of messages
            while parts:
                lo, hi = parts.pop(0)
                part = messages[lo:hi]
                trial = self.pairer.copy()
                part_outcomes: list[int] = []
                try:
                    results.append(
                        trial.process_batch(part, now=now, envelopes=envelopes[lo:hi], outcomes=part_outcomes)
                    )
                except Exception as exc:  # noqa: BLE001 - isolate what fails, land the rest
                    if len(part) > 1:
                        mid = lo + len(part) // 2
                        parts[0:0] = [(lo, mid), (mid, hi)]
                        continue
                    out = BatchResult(counters=new_counters())
                    detail = f"{error}; alone: {describe_error(exc)}"
                    quarantine(
                        out,
                        BATCH_FAILED,
                        guess_session_id(part[0]),
                        part[0],
                        detail,
                        arrival_iso,
                    )
                    self.pairer.totals["quarantined"][BATCH_FAILED] += 1
                    results.append(out)
                    continue
                self.pairer = trial
                outcomes[lo:hi] = part_outcomes
            if not results:
                results.append(self.pairer.process_batch([], now=now, tick=True))
            self._quarantine_malformed(results[-1], malformed, now)
            rows = accounting_rows(input_id, arrival_iso, taken, outcomes, redelivered, len(malformed))
            return self._finish(input_id, results, sum(redelivered.values()), isolated=True, accounting=rows)

    def _take_new(
        self, items: list[tuple[int, int, str, Any]]
    ) -> tuple[list[str], list[Any], list[tuple[int, int]], dict[int, int]]:
        """The messages whose Kafka offsets were not processed yet (now recorded as processed), their envelopes
        (flowfile_formats.read_batch), their ``(partition, offset)``, and per partition how many were skipped as
        redelivered."""
        # Offsets also handled in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
        messages = []
        envelopes = []
        taken = []
        redelivered: dict[int, int] = {}
        for partition, offset, message, envelope in items:
            ranges = self.offsets.setdefault(partition, OffsetRanges())
            if ranges.contains(offset):
                redelivered[partition] = redelivered.get(partition, 0) + 1
                continue
            ranges.add(offset)
            messages.append(message)
            envelopes.append(envelope)
            taken.append((partition, offset))
        return messages, envelopes, taken, redelivered

    def _quarantine_malformed(self, out: BatchResult, lines: list[str], now: float) -> None:
        arrival_iso = format_wallclock(now)
        for line in lines:
            quarantine(
                out,
                MALFORMED_BATCH_LINE,
                None,
                line,
                "not '<partition>\\t<offset>\\t<message>'",
                arrival_iso,
            )
            self.pairer.totals["quarantined"][MALFORMED_BATCH_LINE] += 1

    def _finish(
        self,
        input_id: str,
        results: list[BatchResult],
        skipped: int,
        isolated: bool = False,
        accounting: list[tuple] = (),
        lines_by_section: dict[tuple[str, str], list[str]] | None = None,
    ) -> IngestResult:
        """Render the results of one input FlowFile (and its accounting rows; ``lines_by_section``: output lines
        already written, see flowfile_formats.render_output) and remember them as its output (for a replay)."""
        events: list[tuple] = []
        sessions: list = []
        quarantined: list[dict] = []
        counters = new_counters()
        for r in results:
            events.extend(r.events)
            sessions.extend(r.sessions)
            quarantined.extend(r.quarantine)
            add_counters(counters, r.counters)
        data, counts = render_output(events, sessions, quarantined, accounting, lines_by_section)
        if data:  # gzip: a fifth of the bytes to carry over NiFi's Java/Python bridge (see kafka_batches.py)
            data = gzip.compress(data, compresslevel=1, mtime=0)
        self.last_input = input_id
        self.last_output = data
        self.last_counts = counts
        self.redelivered_total += skipped
        return IngestResult(data, counts, counters, skipped_redelivered=skipped, isolated=isolated)

    # state map -----------------------------------------------------------------------------------------
    def to_state_map(self) -> dict[str, str]:
        meta = {
            "offsets": {str(p): r.ranges for p, r in sorted(self.offsets.items())},
            "last_input": self.last_input,
            "last_counts": self.last_counts,
            "redelivered_total": self.redelivered_total,
        }
        state = self.pairer.to_state_map()
        state["ingest.format"] = INGEST_STATE_FORMAT
        state["ingest.meta"] = json.dumps(meta, separators=(",", ":"), sort_keys=True)
        state["ingest.last_output"] = base64.b64encode(zlib.compress(self.last_output, 6)).decode("ascii")
        return chunk_state(state)

    # durable store (state_store.JournalStore): a snapshot, then one delta record per batch ---------------------
    def _meta(self) -> dict[str, Any]:
        return {
            "format": INGEST_STATE_FORMAT,
            "offsets": {p: list(map(list, r.ranges)) for p, r in self.offsets.items()},
            "last_input": self.last_input,
            "last_output": self.last_output,
            "last_counts": dict(self.last_counts),
            "redelivered_total": self.redelivered_total,
        }

    def _set_meta(self, meta: dict[str, Any]) -> None:
        if meta.get("format") != INGEST_STATE_FORMAT:
            raise ValueError(f"unsupported ingest state format: {meta.get('format')!r}")
        self.offsets = {int(p): OffsetRanges(r) for p, r in meta["offsets"].items()}
        self.last_input = meta.get("last_input")
        self.last_output = meta.get("last_output") or b""
        self.last_counts = meta.get("last_counts") or {}
        self.redelivered_total = int(meta.get("redelivered_total", 0))

    def save(self, store: Any, full: bool = False) -> str:
        """Persist what changed since the last save: one journal record (the changed pairer entries, offsets and
        the last input/output), or a full snapshot when ``full`` or when the journal has grown past the store's
        compaction threshold. Durable (fsync) when it returns. Returns ``"delta"`` or ``"snapshot"``."""
        with _no_cyclic_gc():
            if full or store.should_compact():
                self.pairer.take_dirty()  # the snapshot holds every entry
                store.compact({"ingest": self._meta(), "pairer": self.pairer.to_dict()})
                return "snapshot"
            store.append({"ingest": self._meta(), "pairer": self.pairer.delta()})
            return "delta"

    @classmethod
    def from_store(cls, store: Any, config: PairerConfig | None = None, schema_validator: Any = None) -> IngestState:
        """State from the store's snapshot and the journal records after it (an empty store: a fresh state)."""
        with _no_cyclic_gc():
            snapshot, records = store.load()
            if snapshot is None:
                obj = cls(SessionPairer(config, schema_validator))
            else:
                obj = cls(SessionPairer.from_dict(snapshot["pairer"], config, schema_validator))
                obj._set_meta(snapshot["ingest"])
            for record in records:
                obj.pairer.apply_delta(record["pairer"])
                obj._set_meta(record["ingest"])
        obj.pairer.dirty = set()
        return obj

    def is_empty(self) -> bool:
        return not self.offsets and not self.pairer.entries and self.last_input is None

    @classmethod
    def from_state_map(
        cls,
        state: dict[str, str] | None,
        config: PairerConfig | None = None,
        schema_validator: Any = None,
    ) -> IngestState:
        state = unchunk_state(dict(state or {}))
        pairer_state = {k: v for k, v in state.items() if not k.startswith("ingest.")}
        obj = cls(SessionPairer.from_state_map(pairer_state, config, schema_validator))
        if "ingest.meta" in state:
            if state.get("ingest.format") != INGEST_STATE_FORMAT:
                raise ValueError(f"unsupported ingest state format: {state.get('ingest.format')!r}")
            meta = json.loads(state["ingest.meta"])
            obj.offsets = {int(p): OffsetRanges(r) for p, r in meta["offsets"].items()}
            obj.last_input = meta.get("last_input")
            obj.last_counts = meta.get("last_counts") or {}
            obj.redelivered_total = int(meta.get("redelivered_total", 0))
            packed = state.get("ingest.last_output")
            obj.last_output = zlib.decompress(base64.b64decode(packed)) if packed else b""
        return obj
