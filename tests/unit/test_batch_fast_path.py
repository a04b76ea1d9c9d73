"""The whole-batch fast path (batch_fast_path.pair_batch, used by IngestState.process) must change nothing observable:
for the same sequence of consumer batches it gives the same output FlowFile, byte for byte, the same counts,
counters and redeliveries, and the same state (pairer entries, watermark, sequence, totals, change set, offsets,
last output) as the message-by-message path (IngestState._process_each: read_batch + SessionPairer.process_batch),
whatever the batches hold."""

from __future__ import annotations

import gzip
import json
import random

import pytest
from oracle import bad_messages

from iptv_ingest.kafka_batches import format_line, format_record_line
from iptv_sessions import batch_fast_path, ingestion, session_pairer
from iptv_sessions.event_contract import format_timer, parse_timer
from iptv_sessions.flowfile_formats import batch_text
from iptv_sessions.ingestion import IngestState
from iptv_sessions.quarantine_reasons import MALFORMED_BATCH_LINE, RULE_REASONS
from iptv_sessions.schema_validation import default_schema_validator
from iptv_sessions.session_pairer import PairerConfig, SessionPairer
from iptv_sessions.state_store import JournalStore

pytestmark = pytest.mark.unit

T0 = 1_741_176_000.0  # 2025-03-05 12:00:00 UTC, the Kafka timestamps of the oracle's bad messages
CHANNELS = frozenset(range(1, 149))
VALIDATOR = default_schema_validator()


def sid_of(n: int) -> str:
    return f"{n:032x}"


def compact(sid: str, user: int, channel: int, timer: str, status: str) -> str:
    return f'{{"session_id":"{sid}","user_id":{user},"channel_id":{channel},"timer":"{timer}","status":"{status}"}}'


def spaced(sid: str, user: int, channel: int, timer: str, status: str) -> str:
    return json.dumps({"session_id": sid, "user_id": user, "channel_id": channel, "timer": timer, "status": status})


def reordered(sid: str, user: int, channel: int, timer: str, status: str) -> str:
    return json.dumps({"status": status, "timer": timer, "channel_id": channel, "user_id": user, "session_id": sid})


class Topic:
    """Batch lines as the consumer writes them, with each partition's next offset."""

    def __init__(self, partitions: int = 3) -> None:
        self.next = [0] * partitions

    def line(self, sid: str, message: str | bytes | None, ts_ms: int, key: str | bytes | None = "sid") -> bytes:
        p = int(sid[-4:], 16) % len(self.next) if sid else 0
        o = self.next[p]
        self.next[p] += 1
        if key == "sid":
            key = sid
        key_bytes = key.encode() if isinstance(key, str) else key
        value = message.encode() if isinstance(message, str) else message
        return format_record_line(p, o, ts_ms, key_bytes, value)


def ts_of(timer: str) -> int:
    return parse_timer(timer) * 1000 + 250


def mixed_batches(seed: int) -> list[bytes]:
    """Consumer batches mixing every case: sessions within one batch and across batches, midnight crossings,
    several dates, exact duplicates, redelivered and out-of-order offsets, conflicts, unmatched halves, unknown
    channels, impossible dates, implausible timers, wrong and null keys, other JSON shapes, the first line
    format, escapes, malformed lines, bytes that are not UTF-8, and every kind of the bad-message oracle."""
    rng = random.Random(seed)
    topic = Topic()
    lines: list[bytes] = []
    days = ["2025-03-04", "2025-03-05"]
    fmt = [compact, compact, compact, spaced, reordered]
    pending: list[tuple] = []
    n = 0
    for _ in range(900):
        n += 1
        sid = sid_of(rng.randrange(1 << 60) * 7 + n)
        user, channel = rng.randrange(1, 5000), rng.randrange(1, 160)  # > 148: unknown channel
        day = rng.choice(days)
        start = f"{day} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        t0 = parse_timer(start)
        end_s = t0 + rng.choice([0, 1, 59, 600, 3600, 5 * 3600, 13 * 3600])
        end = format_timer(end_s)  # may cross midnight
        f = rng.choice(fmt)
        case = rng.random()
        enabled = f(sid, user, channel, start, "enabled")
        disabled = f(sid, user, channel, end, "disabled")
        if case < 0.05:  # end before start
            disabled = f(sid, user, channel, format_timer(t0 - 30), "disabled")
        elif case < 0.08:  # conflicting pair
            disabled = f(sid, user + 1, channel, end, "disabled")
        elif case < 0.10:  # conflicting duplicate
            pending.append((sid, f(sid, user, channel, format_timer(t0 + 5), "enabled"), ts_of(start)))
        elif case < 0.13:  # exact duplicate, maybe in another shape
            pending.append((sid, rng.choice(fmt)(sid, user, channel, start, "enabled"), ts_of(start)))
        elif case < 0.16:  # unmatched start (its end never comes)
            disabled = None
        elif case < 0.18:  # unmatched end
            enabled = None
        elif case < 0.20:  # a late partner, after the other half expired (a later batch)
            pending.append((sid, disabled, ts_of(end)))
            disabled = None
        order = [(enabled, start), (disabled, end)]
        if rng.random() < 0.1:
            order.reverse()
        for message, timer in order:
            if message is not None:
                lines.append(topic.line(sid, message, ts_of(timer)))
        if pending and rng.random() < 0.3:
            psid, pmsg, pts = pending.pop(rng.randrange(len(pending)))
            lines.append(topic.line(psid, pmsg, pts))
        r = rng.random()
        if r < 0.01:
            lines.append(topic.line(sid, compact(sid, user, channel, "2025-02-30 10:00:00", "enabled"), ts_of(start)))
        elif r < 0.02:
            lines.append(topic.line(sid, compact(sid, user, channel, start, "enabled"), 5_000_000_000_000))
        elif r < 0.03:
            lines.append(topic.line(sid, compact(sid, user, channel, start, "disabled"), ts_of(start), key=sid_of(1)))
        elif r < 0.035:
            lines.append(topic.line(sid, compact(sid, user, channel, start, "disabled"), ts_of(start), key=None))
        elif r < 0.04:
            lines.append(topic.line(sid, compact(sid, user, channel, start, "enabled"), -1))
        elif r < 0.045:
            lines.append(format_line(0, topic.next[0], compact(sid, user, channel, start, "enabled").encode()))
            topic.next[0] += 1
        elif r < 0.05:
            lines.append(topic.line(sid, compact(sid, user, channel, start, "enabled") + "\r\n", ts_of(start)))
        elif r < 0.055:
            lines.append(b"not a batch line\n")
        elif r < 0.06:
            lines.append(topic.line(sid, b'{"session_id":"\xff\xfe"}', ts_of(start)))
        elif r < 0.065:
            lines.append(topic.line(sid, "[1, 2", ts_of(start)))
        elif r < 0.07:
            lines.append(topic.line(sid, None, ts_of(start)))
    for psid, pmsg, pts in pending:
        lines.append(topic.line(psid, pmsg, pts))
    for _kind, key, value, _reason in bad_messages.KINDS:
        p = rng.randrange(3)
        lines.insert(rng.randrange(len(lines)), format_record_line(p, topic.next[p], bad_messages.TS_MS, key, value))
        topic.next[p] += 1
    rng.shuffle(lines)  # arrival order is not event time order
    # redeliveries: some lines again, in the same or a later batch (same partition and offset)
    for _ in range(40):
        lines.insert(rng.randrange(len(lines)), rng.choice(lines))
    cuts = sorted(rng.sample(range(1, len(lines)), 5))
    batches = [b"".join(lines[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    return [gzip.compress(b, mtime=0) if i % 2 else b for i, b in enumerate(batches)]


@pytest.fixture(params=[batch_fast_path.CHUNK_CHARS, 64], ids=["chunk-default", "chunk-64"])
def chunk_chars(request, monkeypatch) -> int:
    """pair_batch matching the batch text in chunks of this many characters. At 64 a chunk is one line (or a few
    short ones), so the two halves of a session, a redelivery and its original, and the lines around a malformed
    one are matched in different chunks."""
    chunks = batch_fast_path._chunks
    monkeypatch.setattr(batch_fast_path, "_chunks", lambda text: chunks(text, request.param))
    return request.param


def both(config: PairerConfig, tmp_path) -> tuple[IngestState, IngestState]:
    fast = IngestState(SessionPairer(config, VALIDATOR))
    reference = IngestState(SessionPairer(config, VALIDATOR))
    reference._process = reference._process_each
    assert fast.pairer.fast_path
    return fast, reference


def assert_same_state(fast: IngestState, reference: IngestState) -> None:
    assert fast.pairer.to_dict() == reference.pairer.to_dict()
    assert fast.pairer.watermark == reference.pairer.watermark
    assert fast.pairer.dirty == reference.pairer.dirty
    assert list(fast.pairer.pending) == list(reference.pairer.pending)
    assert list(fast.pairer.entries) == list(reference.pairer.entries)  # insertion order too
    assert fast._meta() == reference._meta()


def run_side_by_side(fast: IngestState, reference: IngestState, batches: list[bytes], now: float) -> None:
    for i, content in enumerate(batches):
        a = fast.process(f"ff-{i}", content, now=now + i * 600)
        b = reference.process(f"ff-{i}", content, now=now + i * 600)
        assert a.content == b.content, f"batch {i}"
        assert (a.counts, a.counters, a.skipped_redelivered, a.replayed) == (
            b.counts,
            b.counters,
            b.skipped_redelivered,
            b.replayed,
        )
        assert_same_state(fast, reference)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    "config",
    [
        PairerConfig(timeout_s=3600, grace_s=300.0, retention_s=6 * 3600, channels=CHANNELS),
        PairerConfig(channels=None, max_timer_lag_s=30 * 86400),
        PairerConfig(timeout_s=1800, grace_s=0.0, retention_s=3600, channels=CHANNELS, max_entries=400),
    ],
    ids=["catalog", "no-catalog", "evicting"],
)
def test_mixed_batches_give_the_same_output_and_state(seed, config, chunk_chars, tmp_path):
    batches = mixed_batches(seed)
    if chunk_chars == 64:
        assert len(list(batch_fast_path._chunks(batch_text(batches[0])))) > 10
    fast, reference = both(config, tmp_path)
    run_side_by_side(fast, reference, batches[:3], T0)
    # a restart between batches: halves restored from the journal carry no timer text
    for name, st in (("fast", fast), ("ref", reference)):
        with JournalStore(tmp_path / name) as store:
            store.load()
            st.save(store)
    with JournalStore(tmp_path / "fast") as store:
        fast = IngestState.from_store(store, config, VALIDATOR)
    with JournalStore(tmp_path / "ref") as store:
        reference = IngestState.from_store(store, config, VALIDATOR)
        reference._process = reference._process_each
    run_side_by_side(fast, reference, batches[3:], T0 + 3 * 600)
    # a tick after a long wall-clock pause expires what is left; a replayed FlowFile returns its stored output
    run_side_by_side(fast, reference, [b""], T0 + 86400)
    assert fast.process("ff-0", b"", now=T0 + 86400).replayed


def test_every_case_happens_in_the_mixed_batches(tmp_path):
    """The mixed batches do reach the per-message code for each kind of case, not only the fast loop."""
    fast, _ = both(PairerConfig(timeout_s=3600, grace_s=300.0, retention_s=6 * 3600, channels=CHANNELS), tmp_path)
    totals = fast.pairer.totals
    for i, content in enumerate(mixed_batches(1)):
        fast.process(f"ff-{i}", content, now=T0 + i * 600)
    fast.process("tick", b"", now=T0 + 86400)
    quarantined = {k for k, v in totals["quarantined"].items() if v}
    expected = {*RULE_REASONS, MALFORMED_BATCH_LINE}
    assert expected <= quarantined
    assert totals["duplicates_dropped"] and totals["sessions_out"] and fast.redelivered_total


def test_fast_path_is_off_with_another_schema(tmp_path):
    """An edited schema switches the regex fast paths off: the batch then goes message by message."""
    pairer = SessionPairer(PairerConfig(), lambda obj: None)
    assert not pairer.fast_path
    st = IngestState(pairer)
    called = []
    st._process_each = lambda *a: called.append(a) or IngestState._process_each(st, *a)
    st.process("ff-1", b"", now=T0)
    assert called


def test_constants_agree_with_the_pairer():
    outcomes = (session_pairer.LANDED, session_pairer.REJECTED, session_pairer.DUPLICATE)
    assert [batch_fast_path.OUTCOME_BASE + o for o in outcomes] == [2, 3, 4]
    assert ingestion.pair_batch is batch_fast_path.pair_batch


def test_a_session_past_its_fingerprint_bound(chunk_chars, tmp_path):
    """A session with more distinct events than it keeps fingerprints of (unknown-channel ones take part in no
    pairing) and then a clean pair: the fast loop drops the oldest fingerprint as the pairer does."""
    topic = Topic()
    sid = sid_of(0xBEEF)
    lines = [
        topic.line(sid, compact(sid, 7, 200 + i, f"2025-03-05 10:{i:02d}:00", "enabled"), ts_of("2025-03-05 10:00:00"))
        for i in range(session_pairer.MAX_FINGERPRINTS_PER_SESSION + 3)
    ]
    for status, timer in (("enabled", "2025-03-05 11:00:00"), ("disabled", "2025-03-05 11:30:00")):
        lines.append(topic.line(sid, compact(sid, 7, 5, timer, status), ts_of(timer)))
    lines.append(lines[-1])  # redelivered
    fast, reference = both(PairerConfig(channels=CHANNELS), tmp_path)
    run_side_by_side(fast, reference, [b"".join(lines[:20]), b"".join(lines[20:])], T0)
    entry = fast.pairer.entries[sid]
    assert entry.closed and len(entry.fps) == session_pairer.MAX_FINGERPRINTS_PER_SESSION


@pytest.mark.parametrize("field", ["partition", "offset", "timestamp"])
def test_a_number_too_long_for_int_is_a_malformed_line(field, tmp_path):
    """A partition, offset or timestamp of 5,000 digits (int() refuses more than 4,300) is quarantined as a
    malformed batch line by both paths, the rest of the batch processed, instead of failing the whole batch."""
    sid = sid_of(1)
    message = compact(sid, 1, 2, "2025-03-05 10:00:00", "enabled")
    ts = ts_of("2025-03-05 10:00:00")
    huge = "9" * 5000
    p, o, t = {"partition": (huge, "0", ts), "offset": ("0", huge, ts), "timestamp": ("0", "0", huge)}[field]
    content = f"0\t1@{ts}\t={sid}\t{message}\n{p}\t{o}@{t}\t={sid}\t{message}\n".encode()
    fast, reference = both(PairerConfig(channels=CHANNELS), tmp_path)
    run_side_by_side(fast, reference, [content], T0)
    assert fast.pairer.totals["quarantined"]["malformed_batch_line"] == 1
    assert sid in fast.pairer.pending
