"""Every kind of malformed Kafka message the pipeline is known to receive, written out by hand with the quarantine
reason it must get (issue #16, item 3), sent as one consumer batch of the current line format (partition, offset,
Kafka timestamp, key, message) between the events of a valid stream: each bad message gives exactly one quarantine
record with its reason and its raw bytes, byte for byte; the valid stream lands whole; the regex fast path changes
nothing; a batch line of the first format (no key, no timestamp) still reads."""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter

import pytest
from oracle.bad_messages import KINDS, TS_MS, S, event, raw_bytes, raw_column

from iptv_ingest import hdfs_sections
from iptv_ingest.kafka_batches import format_line, format_record_line
from iptv_sessions.ingestion import IngestState
from iptv_sessions.schema_validation import default_schema_validator
from iptv_sessions.session_pairer import PairerConfig, SessionPairer

pytestmark = pytest.mark.unit

CHANNELS = frozenset(range(1, 149))
#: Arrival (wall clock) of the batch.
T0 = 2_000_000_000.0


def valid_stream(n: int) -> list[bytes]:
    """``n`` complete sessions (enabled, then disabled) on 2025-03-05, keyed by their session id."""
    out = []
    for i in range(n):
        sid = f"{i + 1:032x}"
        out.append(event(f'"{sid}"', str(100 + i), "9", f'"2025-03-05 10:{i:02d}:00"', '"enabled"'))
        out.append(event(f'"{sid}"', str(100 + i), "9", f'"2025-03-05 11:{i:02d}:30"', '"disabled"'))
    return out


def records() -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of the batch: the valid stream with one bad message after every second event."""
    stream = valid_stream(len(KINDS))
    out: list[tuple[bytes | None, bytes | None]] = []
    for i, (_kind, key, value, _reason) in enumerate(KINDS):
        for ev in stream[2 * i : 2 * i + 2]:
            out.append((ev[16:48], ev))  # the key: the session id, cut from the event's bytes
        out.append((key, value))
    return out


def make_state(fast: bool = True) -> IngestState:
    pairer = SessionPairer(PairerConfig(channels=CHANNELS), default_schema_validator())
    pairer._fast_ok = pairer._fast_ok and fast
    return IngestState(pairer)


def landed(content: bytes) -> dict[str, list[list[str]]]:
    rows: dict[str, list[list[str]]] = {"viewing_events": [], "sessions": [], "quarantine": [], "ingest_batches": []}
    limit = csv.field_size_limit(1 << 30)  # the raw of a message over 1 MB is kept whole: past csv's default
    try:
        for sec in hdfs_sections.parse_sections(content):
            rows[sec.kind].extend(csv.reader(io.StringIO(sec.data.decode("utf-8"))))
    finally:
        csv.field_size_limit(limit)
    return rows


def batch() -> bytes:
    return b"".join(format_record_line(0, i, TS_MS, key, value) for i, (key, value) in enumerate(records()))


def test_the_table_has_at_least_25_kinds():
    assert len(KINDS) >= 25 and len({k[0] for k in KINDS}) == len(KINDS)


def test_each_kind_is_quarantined_once_with_its_reason_and_raw_bytes():
    res = make_state().process("ff-1", batch(), now=T0)
    rows = landed(res.content)
    got = Counter((r[0], raw_bytes(r[4])) for r in rows["quarantine"])
    want = Counter((reason, value or b"") for _kind, _key, value, reason in KINDS)
    missing = [k for k, _key, v, r in KINDS if got[(r, v or b"")] < want[(r, v or b"")]]
    assert got == want, f"kinds not quarantined as expected: {missing}; extra: {list(got - want)[:3]}"
    assert all(r[3] for r in rows["quarantine"]), "a quarantine record without a detail"
    assert Counter((r[0], r[4]) for r in rows["quarantine"]) == Counter((k[3], raw_column(k[2])) for k in KINDS)
    # nothing else lost: every valid event in raw, every session formed
    assert len(rows["viewing_events"]) == 2 * len(KINDS)
    assert sorted(r[0] for r in rows["sessions"]) == [f"{i + 1:032x}" for i in range(len(KINDS))]


def test_raw_column_is_text_or_base64_as_documented():
    rows = landed(make_state().process("ff-1", batch(), now=T0).content)["quarantine"]
    by_raw = {raw_bytes(r[4]): r for r in rows}
    assert by_raw[b"hello, set-top box"][4] == "hello, set-top box"
    assert by_raw[b"\xff\xfe{"][4] == "base64:" + base64.b64encode(b"\xff\xfe{").decode()
    assert by_raw[b"\r\n\n"][4] == "base64:DQoK"
    assert by_raw[b"base64:aGVsbG8="][4] == "base64:YmFzZTY0OmFHVnNiRzg9"
    assert len(by_raw[next(v for k, _, v, _ in KINDS if k == "over 1 MB")][4]) > 1_100_000  # kept whole


def test_key_and_timer_reasons_name_the_problem():
    rows = landed(make_state().process("ff-1", batch(), now=T0).content)["quarantine"]
    details = {(r[0], r[1], r[3]) for r in rows if r[0] in ("invalid_key", "implausible_timer")}
    assert ("invalid_key", S, "null Kafka key (the producer keys each event by its session_id)") in details
    assert any(d.startswith("timer 2099-01-01 00:00:00 is more than 172800 s after") for _r, _s, d in details)
    assert any(d.startswith("timer 1970-01-01 00:00:00 is more than 31622400 s before") for _r, _s, d in details)


def test_fast_path_changes_nothing():
    content = batch()
    assert make_state(fast=True).process("ff-1", content, now=T0).content == (
        make_state(fast=False).process("ff-1", content, now=T0).content
    )


def test_timer_bounds_are_configurable():
    cfg = PairerConfig(channels=CHANNELS, max_timer_lead_s=100 * 365 * 86400, max_timer_lag_s=100 * 365 * 86400)
    state = IngestState(SessionPairer(cfg, default_schema_validator()))
    rows = landed(state.process("ff-1", batch(), now=T0).content)["quarantine"]
    assert [r[0] for r in rows].count("implausible_timer") == 0
    assert [r[0] for r in rows].count("invalid_key") == 3


def test_a_line_of_the_first_format_still_reads_and_skips_the_key_checks():
    """A FlowFile queued before the upgrade: lines without key and timestamp land as before."""
    old = [format_line(1, i, value) for i, (_key, value) in enumerate(records())]
    res = make_state().process("ff-old", b"".join(old), now=T0)
    rows = landed(res.content)
    got = Counter(r[0] for r in rows["quarantine"])
    want = Counter(reason for _k, _key, _v, reason in KINDS if reason not in ("invalid_key", "implausible_timer"))
    # Unchecked, the seven kinds of those two reasons are valid events of session S, all 'enabled': the first
    # (timer 2099) stands, the three identical ones are one event and two dropped duplicates, and the other four
    # distinct ones are conflicting duplicates; all five distinct events are raw events.
    assert got == want + Counter({"conflicting_duplicate": 4})
    assert res.counters["duplicates_dropped"] == 2
    assert len(rows["viewing_events"]) == 2 * len(KINDS) + 5
    assert len(rows["sessions"]) == len(KINDS)
