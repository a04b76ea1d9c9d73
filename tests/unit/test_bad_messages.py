"""No content of one message can fail its batch: deeply nested JSON, lone surrogates, a message that trips a bug
in a pairing rule, a malformed batch line, writer content that is not sections; a batch that fails as a whole is
split so that the rest lands; and a property-based test over arbitrary bytes and arbitrary JSON (every input
accounted for exactly once: a valid event, a dropped duplicate or a quarantine record)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptv_ingest import hdfs_sections
from iptv_ingest.kafka_batches import format_line, format_record_line
from iptv_sessions import event_contract, session_pairer
from iptv_sessions.event_contract import validate_message
from iptv_sessions.flowfile_formats import raw_bytes
from iptv_sessions.ingestion import FailedAttempts, IngestState
from iptv_sessions.schema_validation import default_schema_validator
from iptv_sessions.session_pairer import PairerConfig, SessionPairer

pytestmark = pytest.mark.unit


T0 = 2_000_000_000.0
NESTED = "[" * 5000 + "]" * 5000
CHANNELS = frozenset(range(1, 149))


def ev(sid: str, user: int, channel: int, timer: str, status: str) -> str:
    return json.dumps({"session_id": sid, "user_id": user, "channel_id": channel, "timer": timer, "status": status})


def sid_of(i: int) -> str:
    return f"{i:032x}"


def valid_stream(n: int) -> list[str]:
    """``n`` complete sessions, each an enabled then a disabled event (written out by hand, not by the producer)."""
    out = []
    for i in range(n):
        out.append(ev(sid_of(i + 1), 100 + i, 1 + i % 148, f"2025-03-05 10:{i % 60:02d}:00", "enabled"))
        out.append(ev(sid_of(i + 1), 100 + i, 1 + i % 148, f"2025-03-05 11:{i % 60:02d}:30", "disabled"))
    return out


def make_state() -> IngestState:
    return IngestState(SessionPairer(PairerConfig(channels=CHANNELS), default_schema_validator()))


def batch(messages: list[str | bytes], first_offset: int = 0) -> bytes:
    return b"".join(
        format_line(0, first_offset + i, m if isinstance(m, bytes) else m.encode()) for i, m in enumerate(messages)
    )


def landed(content: bytes) -> dict[str, list[list[str]]]:
    """The output of the pairer as the HDFS writer parses it: rows per kind."""
    rows: dict[str, list[list[str]]] = {"viewing_events": [], "sessions": [], "quarantine": [], "ingest_batches": []}
    for sec in hdfs_sections.parse_sections(content):
        rows[sec.kind].extend(csv.reader(io.StringIO(sec.data.decode("utf-8"))))
    return rows


# ------------------------------------------------------------------------------------------------ one bad message


def test_deeply_nested_message_is_invalid_json():
    assert validate_message(NESTED, default_schema_validator()) == (None, "invalid_json", "nested too deeply")
    assert validate_message(NESTED.encode())[1] == "invalid_json"
    inside = '{"session_id": ' + NESTED + "}"
    assert validate_message(inside, default_schema_validator())[:2] == (None, "invalid_json")


def test_deeply_nested_message_in_the_middle_of_a_batch_lands_the_rest():
    good = valid_stream(50)
    messages = good[:50] + [NESTED] + good[50:]
    res = make_state().process("ff-1", batch(messages), now=T0)
    rows = landed(res.content)
    assert len(rows["sessions"]) == 50
    assert sorted(r[0] for r in rows["sessions"]) == [sid_of(i + 1) for i in range(50)]
    assert len(rows["viewing_events"]) == 100
    assert rows["quarantine"] == [["invalid_json", "", "2033-05-18T03:33:20.000Z", "nested too deeply", NESTED]]


def test_lone_surrogate_session_id_is_quarantined_as_valid_utf8():
    bad = '{"session_id": "\\ud800", "user_id": 1, "channel_id": 1, "timer": "2025-03-05 10:00:00", "status": "x"}'
    detail_bad = ev("a" * 32, 1, 1, "2025-03-05 10:00:00", "enabled").replace('"enabled"', '"\\udfff"')
    res = make_state().process("ff-1", batch([bad, detail_bad, *valid_stream(1)]), now=T0)
    text = res.content  # gzip of UTF-8: parse_sections decodes it strictly below
    rows = landed(text)
    assert [r[0] for r in rows["quarantine"]] == ["invalid_schema", "invalid_schema"]
    assert rows["quarantine"][0][1] == ""  # the surrogate is no session id to keep
    assert rows["quarantine"][0][4] == bad and rows["quarantine"][1][4] == detail_bad
    assert len(rows["sessions"]) == 1


def test_a_message_that_trips_a_rule_is_quarantined_with_the_error(monkeypatch):
    """A bug in a pairing rule, hit by one message only, costs that message, not the batch around it."""
    real = event_contract.fingerprint
    victim = sid_of(7)

    def buggy(session_id, *args):
        if session_id == victim:
            raise KeyError("simulated bug")
        return real(session_id, *args)

    monkeypatch.setattr(session_pairer, "fingerprint", buggy)
    pairer = SessionPairer(PairerConfig(channels=CHANNELS), default_schema_validator())
    res = pairer.process_batch(valid_stream(10), now=T0)
    assert sorted(s.session_id for s in res.sessions) == [sid_of(i + 1) for i in range(10) if i + 1 != 7]
    assert [(q["reason"], q["session_id"], q["detail"]) for q in res.quarantine] == [
        ("processing_error", victim, "KeyError: 'simulated bug'"),
        ("processing_error", victim, "KeyError: 'simulated bug'"),
    ]
    assert res.counters["quarantined"]["processing_error"] == 2
    assert pairer.totals["quarantined"]["processing_error"] == 2


def test_malformed_batch_line_is_quarantined_and_the_rest_lands():
    content = batch(valid_stream(3)) + b"no tabs here\n" + b"x\ty\tz\n" + format_line(1, 0, b"{oops")
    res = make_state().process("ff-1", content, now=T0)
    rows = landed(res.content)
    assert len(rows["sessions"]) == 3
    assert sorted((r[0], r[4]) for r in rows["quarantine"]) == [
        ("invalid_json", "{oops"),
        ("malformed_batch_line", "no tabs here"),
        ("malformed_batch_line", "x\ty\tz"),
    ]
    assert res.counters["quarantined"]["malformed_batch_line"] == 2


# ------------------------------------------------------------------------------------------------ whole-batch failures


def test_failing_batch_is_split_so_the_rest_lands_exactly_once(monkeypatch):
    """A fault outside the per-message guard (here: expiry crashes while one session is pending) fails the whole
    batch; split, only the message that trips it is quarantined as batch_failed, with the error."""
    victim = sid_of(999)  # no session of the valid stream
    good = valid_stream(40)
    trouble = ev(victim, 9, 9, "2025-03-05 12:00:00", "enabled")
    messages = good[:41] + [trouble] + good[41:]
    real_expire = SessionPairer._expire

    def expire(self, now, out):
        if victim in self.pending:
            raise RuntimeError("simulated bug in expiry")
        return real_expire(self, now, out)

    monkeypatch.setattr(SessionPairer, "_expire", expire)
    content = batch(messages)
    st_ = make_state()
    with pytest.raises(RuntimeError):
        st_.process("ff-1", content, now=T0)

    st_ = make_state()  # what the processor does: reload the last saved state, then split
    res = st_.process_isolating("ff-1", content, now=T0, error="RuntimeError: simulated bug in expiry")
    assert res.isolated
    rows = landed(res.content)
    assert sorted(r[0] for r in rows["sessions"]) == [sid_of(i + 1) for i in range(40)]
    assert len(rows["viewing_events"]) == 80
    assert [(r[0], r[1], r[4]) for r in rows["quarantine"]] == [("batch_failed", victim, trouble)]
    assert "simulated bug in expiry" in rows["quarantine"][0][3]
    assert victim not in st_.pairer.entries  # the failing part's changes were not adopted
    assert st_.offsets[0].ranges == [[0, len(messages) - 1]]  # every message accounted for
    # the same FlowFile again (NiFi replays it after a crash): the stored output, not a second processing
    again = st_.process("ff-1", content, now=T0 + 1)
    assert again.replayed and again.content == res.content


def test_unreadable_batch_is_one_quarantine_record():
    res = make_state().process_isolating("ff-1", b"\x1f\x8bnot gzip at all", now=T0, error="BadGzipFile: x")
    rows = landed(res.content)
    assert [r[0] for r in rows["quarantine"]] == ["batch_failed"]
    assert "unreadable batch" in rows["quarantine"][0][3]


def test_failed_attempts_counts_per_flowfile_and_stays_bounded():
    attempts = FailedAttempts(limit=3)
    assert [attempts.record("a"), attempts.record("a"), attempts.record("b")] == [1, 2, 1]
    attempts.forget("a")
    assert attempts.record("a") == 1
    for name in "cdef":
        attempts.record(name)
    assert len(attempts.counts) == 3 and "b" not in attempts.counts


def test_writer_keeps_content_that_is_not_sections_as_quarantine():
    content = b"#@ sessions dt=2025-03-05 n=5\nonly,one,line\r\n"
    sec = hdfs_sections.unreadable_section(content, "ValueError: 1 lines, marker says 5", now=T0)
    assert (sec.kind, sec.dt, sec.lines) == ("quarantine", "2033-05-18", 2)
    rows = list(csv.reader(io.StringIO(sec.data.decode())))
    assert rows == [
        ["unreadable_output", "", "2033-05-18T03:33:20.000Z", "ValueError: 1 lines, marker says 5", line]
        for line in ("#@ sessions dt=2025-03-05 n=5", "only,one,line\\r")
    ]


# ------------------------------------------------------------------------------------------------ property-based

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
_near_events = st.fixed_dictionaries(
    {
        "session_id": st.sampled_from([sid_of(1), sid_of(2), sid_of(3), "A" * 32, "\ud800"]) | st.text(max_size=40),
        "user_id": st.integers(min_value=-2, max_value=2**64) | st.sampled_from([1, 2, "1", 1.5, None]),
        "channel_id": st.sampled_from([1, 2, 148, 149, 0, "7", None]),
        "timer": st.sampled_from(["2025-03-05 10:00:00", "2025-03-05 11:00:00", "2023-02-30 10:00:00", "x", ""]),
        "status": st.sampled_from(["enabled", "disabled", "ENABLED", "", None]),
    },
    optional={"extra": _json_values},
)
_messages = st.one_of(
    st.binary(max_size=200),
    _json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    _near_events.map(json.dumps),
    _near_events.map(lambda e: json.dumps(e, ensure_ascii=False).encode("utf-8", errors="surrogatepass")),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=20_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.sampled_from(["", " ", "\n", "\x00", "\ufeff{}", "null", "1e999", "9" * 5000]),
)
#: Reasons of one message by itself (the rest are pairing outcomes of valid events).
_INVALID = (
    "invalid_json",
    "invalid_schema",
    "oversized_message",
    "invalid_key",
    "implausible_timer",
    "processing_error",
)
#: A record's Kafka envelope: None for a line of the first format, else (key, timestamp ms).
_envelopes = st.none() | st.tuples(
    st.none() | st.sampled_from([sid_of(1), sid_of(2), sid_of(3)]).map(str.encode) | st.binary(max_size=40),
    st.sampled_from([-1, 0, 1_741_176_000_000, 4_102_444_800_000]) | st.integers(min_value=-1, max_value=2**45),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_messages, max_size=30))
def test_validator_never_raises(messages):
    validator = default_schema_validator()
    for raw in messages:
        event, reason, detail = validate_message(raw, validator)
        assert (event is None) == (reason is not None)
        assert reason in (None, "invalid_json", "invalid_schema", "oversized_message") and isinstance(detail, str)


def _as_bytes(message: str | bytes) -> bytes:
    return message if isinstance(message, bytes) else message.encode("utf-8", errors="surrogatepass")


def _lines(messages: list[tuple[str | bytes, tuple | None]], first_offset: int) -> bytes:
    out = []
    for i, (m, envelope) in enumerate(messages):
        if envelope is None:
            out.append(format_line(0, first_offset + i, _as_bytes(m)))
        else:
            out.append(format_record_line(0, first_offset + i, envelope[1], envelope[0], _as_bytes(m)))
    return b"".join(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.tuples(_messages, _envelopes), max_size=25), min_size=1, max_size=4))
def test_every_input_accounted_for_exactly_once(batches):
    """Through the pairer and the output the HDFS writer parses: each message (with any Kafka key and timestamp, or
    in a line of the first format) is one valid event (raw, which the pairing rules then pair or quarantine), one
    dropped duplicate, or one quarantine record of its own whose raw column holds its bytes exactly."""
    state = make_state()
    offset = 0
    for i, messages in enumerate(batches):
        res = state.process(f"ff-{i}", _lines(messages, offset), now=T0 + 10 * i)
        offset += len(messages)
        c = res.counters
        invalid = sum(c["quarantined"][r] for r in _INVALID)
        assert c["events_in"] == len(messages)
        assert len(messages) == res.counts["viewing_events"] + c["duplicates_dropped"] + invalid
        rows = landed(res.content)  # valid UTF-8 CSV whose sections' line counts add up
        assert len(rows["viewing_events"]) == res.counts["viewing_events"]
        assert len(rows["quarantine"]) >= invalid
        kept = Counter(raw_bytes(r[4]) for r in rows["quarantine"] if r[0] in _INVALID)
        assert sum(kept.values()) == invalid
        assert not kept - Counter(_as_bytes(m) for m, _e in messages), "a quarantined raw that was not sent"
