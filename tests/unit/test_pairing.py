"""Unit tests of the session pairing logic (nifi/python-processors/iptv_sessions/: session_pairer.py and the event
contract, schema validation and channel catalog it uses). The NiFi processor built on it (PairViewingEvents.py) is
tested in test_ingest.py against fakes of the nifiapi package."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from iptv_sessions import channel_catalog, event_contract, pairer_state, schema_validation
from iptv_sessions.batch_result import Session
from iptv_sessions.channel_catalog import parse_channel_catalog
from iptv_sessions.event_contract import format_timer, format_wallclock, parse_timer, validate_message
from iptv_sessions.session_pairer import PairerConfig, SessionPairer

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


SAMPLE = REPO / "data" / "reference" / "sample_stream_2023-09-23.csv"  # 20,000 events of the original system
SCHEMA = REPO / "schemas" / "viewing_event.schema.json"
CHANNELS = frozenset(range(1, 149))
A = "a" * 32
B = "b" * 32
C = "c" * 32
D = "d" * 32
E = "e" * 32
F = "f" * 32
G = "0" * 32
T0 = 1_000_000.0  # wall clock of the first batch in most tests


def ev(sid: str, user: int, channel: int, timer: str, status: str) -> str:
    return json.dumps({"session_id": sid, "user_id": user, "channel_id": channel, "timer": timer, "status": status})


def make(**kw) -> SessionPairer:
    kw.setdefault("channels", CHANNELS)
    return SessionPairer(PairerConfig(**kw))


def q(reason, sid, raw, detail, now=T0) -> dict:
    return {"reason": reason, "session_id": sid, "raw": raw, "detail": detail, "arrival_ts": format_wallclock(now)}


def tuples(result) -> list[tuple]:
    return [s.as_tuple() for s in result.sessions]


# ------------------------------------------------------------------------------------------------ pairing rules


def test_enabled_then_disabled_forms_session():
    p = make()
    r = p.process_batch(
        [ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 5, "2023-09-23 10:30:15", "disabled")], T0
    )
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 10:30:15", 1815)]
    assert r.quarantine == []
    assert r.sessions_csv() == f"{A},7,5,2023-09-23 10:00:00,2023-09-23 10:30:15,1815\n"
    assert r.counters["events_in"] == 2 and r.counters["sessions_out"] == 1
    assert p.pending_count() == 0


def test_disabled_before_enabled_pairs_across_batches():
    p = make()
    r1 = p.process_batch([ev(A, 7, 5, "2023-09-23 11:00:00", "disabled")], T0)
    assert r1.sessions == [] and r1.quarantine == [] and p.pending_count() == 1
    r2 = p.process_batch([ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")], T0 + 60)
    assert tuples(r2) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 11:00:00", 3600)]
    assert p.pending_count() == 0


def test_identical_duplicate_dropped_and_counted():
    p = make()
    start = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")
    same_other_spelling = (
        '{"status":"enabled","timer":"2023-09-23 10:00:00","channel_id":5,"user_id":7,"session_id":"' + A + '"}'
    )
    end = ev(A, 7, 5, "2023-09-23 10:10:00", "disabled")
    r = p.process_batch([start, start, same_other_spelling, end, end], T0)
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 10:10:00", 600)]
    assert r.quarantine == []
    assert r.counters["duplicates_dropped"] == 3
    # redelivery of the whole session later (e.g. Kafka replay) emits nothing
    r2 = p.process_batch([start, end], T0 + 10)
    assert r2.sessions == [] and r2.quarantine == [] and r2.counters["duplicates_dropped"] == 2
    assert p.totals["duplicates_dropped"] == 5 and p.totals["sessions_out"] == 1


def test_conflicting_duplicate_after_session_formed():
    p = make()
    r = p.process_batch(
        [ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 5, "2023-09-23 10:10:00", "disabled")], T0
    )
    assert len(r.sessions) == 1
    late = ev(A, 7, 5, "2023-09-23 10:20:00", "disabled")
    r2 = p.process_batch([late], T0 + 5)
    assert r2.sessions == []
    assert r2.quarantine == [
        q("conflicting_duplicate", A, late, "session already has a different 'disabled' (closed)", T0 + 5)
    ]
    # the conflicting event is itself remembered: sending it again is a plain duplicate
    r3 = p.process_batch([late], T0 + 6)
    assert r3.quarantine == [] and r3.counters["duplicates_dropped"] == 1


def test_conflicting_duplicate_while_pending_keeps_first():
    p = make()
    first = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")
    second = ev(A, 7, 5, "2023-09-23 10:05:00", "enabled")
    r = p.process_batch([first, second, ev(A, 7, 5, "2023-09-23 10:10:00", "disabled")], T0)
    assert r.quarantine == [
        q("conflicting_duplicate", A, second, "session already has a different 'enabled' (pending)")
    ]
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 10:10:00", 600)]


def test_conflicting_pair_different_channel():
    p = make()
    s, e = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 6, "2023-09-23 10:10:00", "disabled")
    r = p.process_batch([s, e], T0)
    assert r.sessions == []
    assert r.quarantine == [
        q(
            "conflicting_pair",
            A,
            s + "\n" + e,
            "enabled user_id=7 channel_id=5; disabled user_id=7 channel_id=6",
        )
    ]
    # the session is closed: a third event is a conflicting duplicate, not a new pairing
    r2 = p.process_batch([ev(A, 7, 6, "2023-09-23 10:00:00", "enabled")], T0)
    assert [x["reason"] for x in r2.quarantine] == ["conflicting_duplicate"]


def test_conflicting_pair_different_user_raw_order_is_enabled_then_disabled():
    p = make()
    e, s = ev(A, 8, 5, "2023-09-23 10:10:00", "disabled"), ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")
    r = p.process_batch([e, s], T0)
    assert r.quarantine == [
        q("conflicting_pair", A, s + "\n" + e, "enabled user_id=7 channel_id=5; disabled user_id=8 channel_id=5")
    ]


def test_end_before_start():
    p = make()
    s, e = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 5, "2023-09-23 09:59:59", "disabled")
    r = p.process_batch([s, e], T0)
    assert r.sessions == []
    assert r.quarantine == [
        q("end_before_start", A, s + "\n" + e, "end 2023-09-23 09:59:59 < start 2023-09-23 10:00:00")
    ]


def test_zero_length_session():
    p = make()
    r = p.process_batch(
        [ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 5, "2023-09-23 10:00:00", "disabled")], T0
    )
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 10:00:00", 0)]


def test_session_crossing_midnight():
    p = make()
    r = p.process_batch(
        [ev(A, 7, 5, "2023-09-23 23:50:00", "enabled"), ev(A, 7, 5, "2023-09-24 00:10:30", "disabled")], T0
    )
    assert tuples(r) == [(A, 7, 5, "2023-09-23 23:50:00", "2023-09-24 00:10:30", 1230)]


def test_unknown_channel_quarantined_and_not_paired():
    p = make()
    bad = ev(A, 7, 999, "2023-09-23 10:00:00", "enabled")
    end = ev(A, 7, 5, "2023-09-23 10:10:00", "disabled")
    r = p.process_batch([bad, end], T0)
    assert r.sessions == []
    assert r.quarantine == [q("unknown_channel", A, bad, "channel_id 999")]
    assert p.pending_count() == 1  # the disabled half still waits for a (valid) enabled
    assert p.process_batch([bad], T0).counters["duplicates_dropped"] == 1  # not quarantined twice
    r2 = p.process_batch([ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")], T0 + 1)
    assert tuples(r2) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 10:10:00", 600)]


def test_no_catalog_means_no_channel_check():
    p = SessionPairer(PairerConfig(channels=None))
    r = p.process_batch(
        [ev(A, 7, 999, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 999, "2023-09-23 10:01:00", "disabled")], T0
    )
    assert len(r.sessions) == 1


def test_unmatched_start_only_after_timeout_and_grace():
    p = make()  # defaults: 12 h event-time timeout, 300 s grace
    start = ev(A, 7, 5, "2023-09-23 08:00:00", "enabled")
    assert p.process_batch([start], T0).quarantine == []
    # watermark exactly 12 h past the start: not expired (must be strictly more)
    p.process_batch([ev(B, 1, 1, "2023-09-23 20:00:00", "enabled")], T0 + 1000)
    assert p.process_batch([], T0 + 1000, tick=True).quarantine == []
    # watermark past the timeout, grace not yet over for A? (A arrived at T0, grace over) -> expires now
    # but first show the grace alone: C arrives now with an old timer, watermark is far ahead
    p2 = make()
    p2.process_batch([ev(B, 1, 1, "2023-09-24 00:00:00", "enabled")], T0)
    p2.process_batch([start], T0 + 10)  # 16 h behind the watermark on arrival
    assert p2.process_batch([], T0 + 10 + 299, tick=True).quarantine == []  # timeout passed, grace not
    r = p2.process_batch([], T0 + 10 + 300, tick=True)
    assert r.quarantine == [
        q(
            "unmatched_start",
            A,
            start,
            "no partner within 43200s of event time (watermark 2023-09-24 00:00:00)",
            T0 + 10,
        )
    ]
    assert r.counters["ticks"] == 1 and r.counters["expired"] == 1
    # grace long over, but the event-time timeout not passed: still pending
    p3 = make()
    p3.process_batch([start, ev(B, 1, 1, "2023-09-23 19:59:59", "enabled")], T0)
    assert p3.process_batch([], T0 + 86400, tick=True).quarantine == []
    assert p3.pending_count() == 2
    # back to p: one more second of event time -> A expires (grace passed long ago); B is recent, stays
    r = p.process_batch([ev(C, 1, 1, "2023-09-23 20:00:01", "enabled")], T0 + 2000)
    assert [(x["reason"], x["session_id"]) for x in r.quarantine] == [("unmatched_start", A)]
    assert p.pending_count() == 2


def test_unmatched_end_and_late_partner_after_expiry():
    p = make(timeout_s=3600, grace_s=60)
    end = ev(A, 7, 5, "2023-09-23 10:00:00", "disabled")
    p.process_batch([end], T0)
    r = p.process_batch([ev(B, 1, 1, "2023-09-23 11:00:01", "enabled")], T0 + 60)
    assert r.quarantine == [
        q("unmatched_end", A, end, "no partner within 3600s of event time (watermark 2023-09-23 11:00:01)", T0)
    ]
    late_start = ev(A, 7, 5, "2023-09-23 09:00:00", "enabled")
    r2 = p.process_batch([late_start], T0 + 120)
    assert r2.sessions == []
    assert r2.quarantine == [
        q("unmatched_start", A, late_start, "arrived after its session was closed (partner expired)", T0 + 120)
    ]


def test_late_history_pairs_within_grace():
    """Live pipeline, watermark days ahead: an old session arriving late still pairs within the grace."""
    p = make()
    p.process_batch([ev(B, 1, 1, "2023-09-26 12:00:00", "enabled")], T0)
    old_start = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled")
    assert p.process_batch([old_start], T0 + 100).quarantine == []
    assert p.process_batch([], T0 + 250, tick=True).quarantine == []
    r = p.process_batch([ev(A, 7, 5, "2023-09-23 11:00:00", "disabled")], T0 + 399)  # 299 s after the start
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 11:00:00", 3600)]
    assert r.quarantine == []


def test_backfill_at_full_speed_does_not_close_early():
    """Two days replayed in seconds: the watermark races ahead, the grace keeps the halves open."""
    p = make(grace_s=300)
    batch1 = [ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(B, 1, 1, "2023-09-25 10:00:00", "enabled")]
    assert p.process_batch(batch1, T0).quarantine == []
    r = p.process_batch([ev(A, 7, 5, "2023-09-23 23:00:00", "disabled")], T0 + 2)
    assert tuples(r) == [(A, 7, 5, "2023-09-23 10:00:00", "2023-09-23 23:00:00", 46800)]
    # with no grace the same replay would have lost the session
    p0 = make(grace_s=0)
    r0 = p0.process_batch(batch1, T0)
    assert [x["reason"] for x in r0.quarantine] == ["unmatched_start"]


def test_expiry_output_is_deterministically_ordered():
    p = make(timeout_s=60, grace_s=0)
    msgs = [
        ev(C, 3, 3, "2023-09-23 10:00:05", "enabled"),
        ev(B, 2, 2, "2023-09-23 10:00:00", "disabled"),
        ev(A, 1, 1, "2023-09-23 10:00:05", "enabled"),
        ev(D, 4, 4, "2023-09-23 12:00:00", "enabled"),
    ]
    r = p.process_batch(msgs, T0)
    assert [(x["reason"], x["session_id"]) for x in r.quarantine] == [
        ("unmatched_end", B),
        ("unmatched_start", A),
        ("unmatched_start", C),
    ]


def test_retention_forgets_closed_sessions():
    p = make(retention_s=3600)
    s, e = ev(A, 7, 5, "2023-09-23 10:00:00", "enabled"), ev(A, 7, 5, "2023-09-23 10:10:00", "disabled")
    p.process_batch([s, e], T0)
    p.process_batch([ev(B, 1, 1, "2023-09-23 11:10:00", "enabled")], T0 + 1)
    assert A in p.entries  # exactly at the retention limit: kept
    assert p.process_batch([e], T0 + 2).counters["duplicates_dropped"] == 1
    p.process_batch([ev(C, 1, 1, "2023-09-23 11:10:01", "enabled")], T0 + 3)
    assert A not in p.entries and len(p.entries) == 2


def test_bounded_state_eviction():
    p = make(max_entries=3)
    msgs = []
    for sid, minute in ((A, 0), (B, 1), (C, 2)):
        msgs += [
            ev(sid, 1, 1, f"2023-09-23 10:0{minute}:00", "enabled"),
            ev(sid, 1, 1, f"2023-09-23 10:0{minute}:30", "disabled"),
        ]
    pending_d = ev(D, 1, 1, "2023-09-23 09:00:00", "enabled")  # oldest by event time, still pending
    msgs += [pending_d, ev(E, 1, 1, "2023-09-23 10:05:00", "enabled")]
    r = p.process_batch(msgs, T0)
    assert len(r.sessions) == 3
    assert r.counters["evicted"] == 2
    assert sorted(p.entries) == [C, D, E]  # the closed A (10:00:30) and B (10:01:30) go before the pending D
    assert r.quarantine == []
    # with no closed entry left, the oldest pending half goes, quarantined
    pending_f = ev(F, 1, 1, "2023-09-23 10:06:00", "enabled")
    r2 = p.process_batch([pending_f], T0 + 1)
    assert sorted(p.entries) == [D, E, F]  # C (closed) evicted
    r3 = p.process_batch([ev(G, 1, 1, "2023-09-23 10:07:00", "enabled")], T0 + 2)
    assert r2.quarantine == [] and set(p.entries) == {E, F, G}
    assert r3.quarantine == [q("unmatched_start", D, pending_d, "evicted: state reached max entries")]
    assert p.totals["evicted"] == 4
    assert len(p.entries) <= 3


def test_eviction_keeps_the_long_views_of_a_busy_evening():
    """A view that started hours ago is the oldest entry by event time; when the bound is reached by the
    sessions closed since, they are forgotten and the long view still pairs."""
    p = make(max_entries=4)
    long_start = ev(A, 1, 1, "2023-09-23 14:00:00", "enabled")
    p.process_batch([long_start], T0)
    for minute, sid in enumerate((B, C, D, E, F)):
        p.process_batch(
            [ev(sid, 2, 2, f"2023-09-23 20:0{minute}:00", "enabled"), ev(sid, 2, 2, f"2023-09-23 20:0{minute}:30",
             "disabled")], T0 + 1 + minute,
        )  # fmt: skip
    assert A in p.pending and p.totals["evicted"] == 2
    r = p.process_batch([ev(A, 1, 1, "2023-09-23 20:10:00", "disabled")], T0 + 10)
    assert tuples(r) == [(A, 1, 1, "2023-09-23 14:00:00", "2023-09-23 20:10:00", 22200)]
    assert r.quarantine == []


# ------------------------------------------------------------------------------------------------ validation


#: (message, reason, what its detail must name): the detail says which rule a message broke.
REJECT_CASES = [
    ("not json", "invalid_json", "Expecting value"),
    ('{"session_id": "' + A + '", ', "invalid_json", "Expecting property name"),
    (
        '{"session_id":"' + A + '","user_id":1,"channel_id":1,"timer":"2023-09-23 10:00:00","status":NaN}',
        "invalid_json",
        "NaN",
    ),
    ("[1, 2]", "invalid_schema", "JSON object"),
    (
        json.dumps({"session_id": A, "user_id": 1, "channel_id": 1, "timer": "2023-09-23 10:00:00"}),
        "invalid_schema",
        "missing field(s): status",
    ),
    (
        ev(A, 1, 1, "2023-09-23 10:00:00", "enabled")[:-1] + ', "extra": 1}',
        "invalid_schema",
        "unexpected field(s): extra",
    ),
    (ev("A" * 32, 1, 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "session_id"),
    (ev("a" * 31, 1, 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "session_id"),
    (ev("g" * 32, 1, 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "session_id"),
    (ev(A, "1", 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "user_id"),
    (ev(A, True, 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "user_id"),
    (ev(A, 1, 1.5, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "channel_id"),
    (ev(A, 1, -1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "channel_id"),
    (ev(A, 0, 1, "2023-09-23 10:00:00", "enabled"), "invalid_schema", "user_id"),
    (ev(A, 1, 1, "2023-02-30 10:00:00", "enabled"), "invalid_schema", "not a real date/time: 2023-02-30"),
    (ev(A, 1, 1, "2023-09-23 24:00:00", "enabled"), "invalid_schema", "not a real date/time: 2023-09-23 24"),
    (ev(A, 1, 1, "2023-09-23T10:00:00", "enabled"), "invalid_schema", "timer"),
    (ev(A, 1, 1, "2023-09-23 10:00", "enabled"), "invalid_schema", "timer"),
    (ev(A, 1, 1, "2023-09-23 10:00:00", "ENABLED"), "invalid_schema", "status"),
    (ev(A, 1, 1, "2023-09-23 10:00:00", None), "invalid_schema", "status"),
]
INVALID_SCHEMA_CASES = [raw for raw, reason, _named in REJECT_CASES if reason == "invalid_schema"]


@pytest.mark.parametrize(("raw", "reason", "named"), REJECT_CASES)
def test_validate_message_rejects(raw, reason, named):
    event, got, detail = validate_message(raw)
    assert (event, got) == (None, reason)
    assert named in detail, detail


def test_validate_message_accepts_and_bytes():
    raw = ev(A, 1, 148, "2024-02-29 23:59:59", "disabled")
    assert validate_message(raw) == (json.loads(raw), None, "")
    assert validate_message(raw.encode())[0] == json.loads(raw)
    assert validate_message(b"\xff\xfe")[1] == "invalid_json"


def test_invalid_messages_quarantined_with_guessed_session_id():
    p = make()
    bad_date = ev(A, 1, 1, "2023-02-30 10:00:00", "enabled")
    r = p.process_batch(["{oops", bad_date, "", "   "], T0)
    assert [(x["reason"], x["session_id"], x["raw"], x["detail"]) for x in r.quarantine] == [
        ("invalid_json", None, "{oops", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("invalid_schema", A, bad_date, "timer is not a real date/time: 2023-02-30 10:00:00"),
        ("invalid_json", None, "", "empty message"),  # a Kafka tombstone, say: accounted for, not skipped
        ("invalid_json", None, "   ", "empty message"),
    ]
    assert r.counters["events_in"] == 4
    assert p.watermark is None  # invalid events do not move the watermark


def test_schema_validator_from_file(tmp_path):
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["session_id", "user_id", "channel_id", "timer", "status"],
        "properties": {
            "session_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "user_id": {"type": "integer"},
            "channel_id": {"type": "integer"},
            "timer": {"type": "string"},
            "status": {"enum": ["enabled", "disabled"]},
        },
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    check = schema_validation.load_schema_validator(str(path))
    assert check is not None
    assert validate_message(ev(A, 1, 1, "2023-09-23 10:00:00", "enabled"), check)[1] is None
    event, reason, detail = validate_message(ev(A, 1, 1, "2023-09-23 10:00:00", "paused"), check)
    assert reason == "invalid_schema" and "status" in detail
    # the hand check still runs after the schema (real date)
    assert validate_message(ev(A, 1, 1, "2023-02-30 10:00:00", "enabled"), check)[1] == "invalid_schema"
    assert schema_validation.load_schema_validator(None) is None


def test_project_schema_agrees_with_hand_check():
    check = schema_validation.default_schema_validator()
    assert check is not None
    good = ev(A, 1, 1, "2023-09-23 10:00:00", "enabled")
    assert check(json.loads(good)) is None and event_contract.check_event(json.loads(good)) is None
    for raw in INVALID_SCHEMA_CASES:
        obj = json.loads(raw)
        if raw.endswith('2023-02-30 10:00:00", "status": "enabled"}'):
            assert check(obj) is None  # a pattern cannot know February has no 30th: the hand check does
        else:
            assert check(obj) is not None, raw
        assert event_contract.check_event(obj) is not None, raw


def test_channel_catalog_parsing(tmp_path):
    assert parse_channel_catalog("1, 2,5-7") == frozenset({1, 2, 5, 6, 7})
    assert parse_channel_catalog("  ") is None
    f = tmp_path / "ch.csv"
    f.write_text("channel_id,channel_name\n1,Россия 1\n2,Первый канал\n\n")
    assert channel_catalog.load_channel_catalog_file(str(f)) == frozenset({1, 2})
    with pytest.raises(ValueError):
        parse_channel_catalog("9-3")


# ------------------------------------------------------------------------------------------------ state


def _mixed_stream() -> list[list[str]]:
    """Batches exercising every rule, for the round-trip test."""
    return [
        [ev(A, 1, 1, "2023-09-23 10:00:00", "enabled"), ev(B, 2, 2, "2023-09-23 10:05:00", "disabled"), "{bad"],
        [ev(A, 1, 1, "2023-09-23 10:00:00", "enabled"), ev(C, 3, 3, "2023-09-23 10:06:00", "enabled")],
        [ev(A, 1, 1, "2023-09-23 10:30:00", "disabled"), ev(C, 3, 4, "2023-09-23 10:07:00", "disabled")],
        [ev(B, 2, 2, "2023-09-23 09:05:00", "enabled"), ev(A, 1, 1, "2023-09-23 10:40:00", "disabled")],
        [ev(D, 4, 999, "2023-09-23 11:00:00", "enabled"), ev(E, 5, 5, "2023-09-23 11:00:00", "enabled")],
        [ev(D, 4, 4, "2023-09-24 09:00:00", "disabled")],
        [],
        [ev(E, 5, 5, "2023-09-23 23:30:00", "disabled")],
        [ev("f" * 32, 6, 6, "2023-09-25 12:00:00", "enabled")],
        [],
    ]


def _run(batches, roundtrip: bool, codec_compress: bool = True, **cfg):
    config = PairerConfig(channels=CHANNELS, **cfg)
    p = SessionPairer(config)
    outputs = []
    for i, batch in enumerate(batches):
        if roundtrip:
            state = p.to_state_map(compress=codec_compress)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in state.items())
            p = SessionPairer.from_state_map(state, config)
        r = p.process_batch(batch, T0 + 200 * i, tick=not batch)
        outputs.append((tuples(r), r.quarantine, r.counters))
    return outputs, p


@pytest.mark.parametrize("compress", [True, False])
def test_state_roundtrip_mid_stream_matches_uninterrupted(compress):
    cfg = {"timeout_s": 3600, "grace_s": 250, "retention_s": 7200, "max_entries": 5}
    plain, p1 = _run(_mixed_stream(), roundtrip=False, **cfg)
    restored, p2 = _run(_mixed_stream(), roundtrip=True, codec_compress=compress, **cfg)
    assert restored == plain
    assert p2.to_json() == p1.to_json()
    reasons = Counter(x["reason"] for _s, qs, _c in plain for x in qs)
    # the stream really exercises the rules
    assert {"invalid_json", "conflicting_pair", "conflicting_duplicate", "unknown_channel", "unmatched_start"} <= set(
        reasons
    )
    assert sum(len(s) for s, _q, _c in plain) >= 2


def test_state_map_format_and_errors():
    p = make()
    p.process_batch([ev(A, 1, 1, "2023-09-23 10:00:00", "enabled")], T0)
    m = p.to_state_map()
    assert m["format"] == pairer_state.STATE_FORMAT and m["codec"] == "zlib+base64"
    assert json.loads(p.to_json())["entries"][A][5][4] == ev(A, 1, 1, "2023-09-23 10:00:00", "enabled")
    assert SessionPairer.from_state_map({}).entries == {}
    assert SessionPairer.from_json(None).watermark is None
    with pytest.raises(ValueError):
        SessionPairer.from_state_map({"format": "other/9", "data": "{}"})
    with pytest.raises(ValueError):
        SessionPairer.from_state_map({"format": pairer_state.STATE_FORMAT, "codec": "lz4", "data": ""})


def test_config_validation():
    with pytest.raises(ValueError):
        PairerConfig(max_entries=0)
    with pytest.raises(ValueError):
        PairerConfig(timeout_s=-1)


def test_parse_timer_is_utc_and_strict():
    assert parse_timer("1970-01-02 00:00:01") == 86401
    with pytest.raises(ValueError):
        parse_timer("2023-13-01 00:00:00")


# ------------------------------------------------------------------------------------------------ reference replay


def _sample_rows() -> list[list[str]]:
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        return [r for r in csv.reader(fh) if r]


def test_replay_reference_sample():
    rows = _sample_rows()
    assert len(rows) == 20000
    msgs = [ev(r[0], int(r[1]), int(r[2]), r[3], r[4]) for r in rows]
    # direct computation from the file
    start, end = {}, {}
    for r in rows:
        (start if r[4] == "enabled" else end)[r[0]] = parse_timer(r[3])
    expected_total = sum(end[s] - start[s] for s in start)
    # replay in Kafka-sized batches, one second apart (a full-speed backfill)
    p = make()
    sessions: list[Session] = []
    quarantine = []
    for i in range(0, len(msgs), 2500):
        r = p.process_batch(msgs[i : i + 2500], T0 + i / 2500)
        sessions += r.sessions
        quarantine += r.quarantine
    assert quarantine == []
    assert len(sessions) == 10000 and len({s.session_id for s in sessions}) == 10000
    assert sum(s.duration_s for s in sessions) == expected_total
    assert sum(1 for s in sessions if s.duration_s == 0) == 51
    assert sum(1 for s in sessions if s.time_start[:10] != s.time_end[:10]) == 22
    assert p.pending_count() == 0
    assert p.totals["events_in"] == 20000 and p.totals["sessions_out"] == 10000
    # replaying the whole file again (Kafka redelivery) emits nothing new
    again = p.process_batch(msgs, T0 + 100)
    assert again.sessions == [] and again.quarantine == [] and again.counters["duplicates_dropped"] == 20000


def test_format_timer_inverts_parse_timer_for_every_year():
    for text in ("0001-01-01 00:00:00", "0999-12-31 23:59:59", "1969-12-31 23:59:59", "2024-02-29 12:00:00"):
        assert format_timer(parse_timer(text)) == text
