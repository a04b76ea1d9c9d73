"""The regex fast path of SessionPairer (``match_canonical_event`` + the per-date cache) must change nothing observable:
every batch gives the same sessions, quarantine records, events and counters, and the saved state is byte-identical,
whether or not the fast path is used. It is also only enabled for the project's own schema rules."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from iptv_sessions import event_contract, quarantine_reasons, session_pairer
from iptv_sessions.event_contract import EVENT_FIELDS, validate_message
from iptv_sessions.fast_path import CANONICAL_SCHEMA_DIGEST, match_canonical_event, midnight, schema_rules_digest
from iptv_sessions.schema_validation import default_schema_validator, load_schema_validator
from iptv_sessions.session_pairer import PairerConfig, SessionPairer

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


SCHEMA = REPO / "schemas" / "viewing_event.schema.json"
CHANNELS = frozenset(range(1, 149))
CONFIG = PairerConfig(timeout_s=3600, grace_s=30.0, retention_s=6 * 3600, channels=CHANNELS)
T0 = 1_700_000_000.0
FIELDS = EVENT_FIELDS  # the canonical message's key order: the columns of dataset viewing_events
VALIDATOR = default_schema_validator()
#: Reasons these batches (plain messages, no Kafka envelope) cannot give: the message size and Kafka key and timer
#: bounds, checked alike on both paths (test_bad_message_kinds.py::test_fast_path_changes_nothing).
ENVELOPE_REASONS = ("oversized_message", "invalid_key", "implausible_timer")


def sid_of(n: int) -> str:
    return f"{n:032x}"


A, B, C, D, E, F, G, H, II, J, K, L, M, N = (sid_of(0xA0 + i) for i in range(14))


# ------------------------------------------------------------------------------------------------ message rendering


class Raw(str):
    """A JSON value token written as is (``1.0``, ``true``, ``NaN``, ``"\\u0065nabled"``...)."""


def token(value) -> str:
    return str(value) if isinstance(value, Raw) else json.dumps(value)


#: style -> (pair separator, key/value separator, prefix, suffix)
STYLES = {
    "compact": (",", ":", "{", "}"),
    "spaced": (", ", ": ", "{", "}"),  # json.dumps default
    "mixed": (",", ": ", "{", "}"),  # the regex allows the optional space per position
    "mixed2": (", ", ":", "{", "}"),
    "crlf": (",", ":", "{", "}\r\n"),  # the line ending is stripped before either path
    "tab": (",", ":\t", "{", "}"),
    "two_spaces": (",  ", ":  ", "{", "}"),
    "space_before_colon": (",", " :", "{", "}"),
    "inner_space": (",", ":", "{ ", " }"),
    "leading_space": (",", ":", " {", "}"),
    "trailing_space": (",", ":", "{", "} "),
}
CANONICAL_STYLES = ("compact", "spaced", "mixed", "mixed2", "crlf")
OTHER_STYLES = tuple(s for s in STYLES if s not in CANONICAL_STYLES)


def msg(sid, user, channel, timer, status, style="compact", order=FIELDS, escape_key: str | None = None) -> str:
    values = dict(zip(FIELDS, (sid, user, channel, timer, status), strict=True))
    pair_sep, kv_sep, prefix, suffix = STYLES[style]
    parts = []
    for key in order:
        name = json.dumps(key)
        if key == escape_key:
            name = '"\\u' + f"{ord(key[0]):04x}" + key[1:] + '"'
        parts.append(name + kv_sep + token(values[key]))
    return prefix + pair_sep.join(parts) + suffix


def escaped(text: str, index: int = 0) -> Raw:
    """``text`` as a JSON string with its character ``index`` written as a \\u escape (same decoded value)."""
    return Raw('"' + text[:index] + f"\\u{ord(text[index]):04x}" + text[index + 1 :] + '"')


GOOD = (A, 7, 5, "2023-09-23 10:00:00", "enabled")


def canonical_corpus() -> list[str]:
    """Messages in the producer's canonical shape with real dates: the fast path takes them."""
    values = [
        GOOD,
        (B, 1, 1, "2023-09-23 00:00:00", "disabled"),
        (C, 999_999_999_999_999_999, 148, "2023-09-23 23:59:59", "enabled"),  # 18 digits
        (D, 123_456_789_012_345_678, 999_999_999_999_999_999, "2024-02-29 12:00:00", "disabled"),  # leap day
        (E, 42, 999, "2023-12-31 23:59:59", "enabled"),  # unknown channel: still a valid event
        (F, 42, 9, "1970-01-01 00:00:00", "enabled"),  # midnight 0 is a real date
        (G, 42, 9, "9999-12-31 23:59:59", "disabled"),
        ("0123456789abcdef" * 2, 3, 4, "2000-02-29 05:06:07", "enabled"),
        ("f" * 32, 3, 4, "2023-04-30 05:06:07", "disabled"),
        ("0" * 32, 3, 4, "2023-01-31 05:06:07", "enabled"),
    ]
    return [msg(*v, style=style) for v in values for style in CANONICAL_STYLES]


def impossible_dates_corpus() -> list[str]:
    """Canonical shape, but not a real date: the regex matches, the date check sends them to the full path."""
    dates = ["2023-02-29", "2024-02-30", "2023-04-31", "2100-02-29", "0000-01-01", "2023-06-31"]
    return [msg(A, 7, 5, f"{d} 10:00:00", "enabled", style=s) for d in dates for s in ("compact", "spaced")]


def pre_epoch_corpus() -> list[str]:
    """Canonical shape, real dates before 1970 (negative midnight): the full path handles them."""
    return [
        msg(H, 7, 5, "1969-12-31 23:59:59", "enabled"),
        msg(H, 7, 5, "1969-12-31 00:00:00", "disabled", style="spaced"),  # end before start
        msg(II, 7, 5, "0001-01-01 00:00:00", "enabled", style="spaced"),
    ]


def non_canonical_corpus() -> list[str]:
    """Every variant the regex must reject (valid or not): they all take the full path."""
    sid, user, ch, timer, status = GOOD
    out = []
    # valid events in another spelling
    for style in OTHER_STYLES:
        out.append(msg(*GOOD, style=style))
    out.append(msg(*GOOD, order=tuple(reversed(FIELDS))))
    out.append(msg(*GOOD, order=("user_id", "session_id", "channel_id", "timer", "status"), style="spaced"))
    out.append(msg(sid, user, ch, timer, escaped("enabled")))  # "\u0065nabled"
    out.append(msg(sid, user, ch, timer, escaped("enabled", 3)))
    out.append(msg(escaped(sid, 5), user, ch, timer, status))
    out.append(msg(sid, user, ch, escaped(timer, 10), status))  # the space of the timer
    out.append(msg(*GOOD, escape_key="status"))
    out.append(msg(*GOOD, escape_key="session_id", style="spaced"))
    out.append(msg(sid, 1_234_567_890_123_456_789, ch, timer, status))  # 19 digits, valid
    out.append(msg(sid, user, 2**63 - 1, timer, status))  # valid max
    out.append(msg(sid, Raw("7.0"), ch, timer, status))
    out.append(msg(sid, Raw("7e0"), ch, timer, status))
    out.append(msg(sid, Raw("-0"), ch, timer, status))
    # duplicate key: json keeps the last value ("disabled")
    out.append(msg(*GOOD)[:-1] + ',"status":"disabled"}')
    out.append(msg(*GOOD)[:-1] + ',"user_id":8}')
    # invalid values
    for bad_user in (0, -5, 2**63, 12_345_678_901_234_567_890, Raw("1.0"), Raw("true"), Raw("false"), Raw("null")):
        out.append(msg(sid, bad_user, ch, timer, status))
        out.append(msg(sid, user, bad_user, timer, status, style="spaced"))
    for bad_user in (Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("01"), "7", Raw("[7]")):
        out.append(msg(sid, bad_user, ch, timer, status))
    for bad_timer in (
        "2023-09-23 24:00:00",
        "2023-09-23 10:60:00",
        "2023-09-23 10:00:60",
        "2023-13-01 10:00:00",
        "2023-00-10 10:00:00",
        "2023-09-00 10:00:00",
        "2023-09-32 10:00:00",
        "2023-9-23 10:00:00",
        "2023-09-23T10:00:00",
        "2023-09-23 10:00:00Z",
        "2023-09-23  10:00:00",
        "２０２３-09-23 10:00:00",  # non-ASCII digits
    ):
        out.append(msg(sid, user, ch, bad_timer, status))
    out.append(msg(sid, user, ch, Raw("1695463200"), status))
    for bad_sid in (A.upper(), "A" + A[1:], A[:31], A + "0", "g" * 32, A[:31] + "\u0661", Raw("1")):
        out.append(msg(bad_sid, user, ch, timer, status))
    for bad_status in ("Enabled", "started", "", "enabled ", Raw("1"), Raw("null")):
        out.append(msg(sid, user, ch, timer, bad_status))
    # missing / extra fields
    for missing in FIELDS:
        out.append(msg(*GOOD, order=tuple(k for k in FIELDS if k != missing)))
    out.append(msg(*GOOD)[:-1] + ',"extra":1}')
    out.append('{"extra":1,' + msg(*GOOD)[1:])
    # not an event / not JSON
    out += [
        msg(*GOOD)[:-1],  # truncated
        msg(*GOOD) + "}",
        msg(*GOOD) + msg(*GOOD),
        "[" + msg(*GOOD) + "]",
        '"' + A + '"',
        "42",
        "null",
        "{}",
        "not json",
        "{" + '"session_id":"' + A + '",' + "}",
        msg(*GOOD).replace('"', "'"),
        '{"session_id":"' + A + '","user_id":NaN}',
    ]
    return out


def all_corpus() -> list[str]:
    return canonical_corpus() + impossible_dates_corpus() + pre_epoch_corpus() + non_canonical_corpus()


# ------------------------------------------------------------------------------------------------ equivalence


def tuples(result) -> list[tuple]:
    return [s.as_tuple() for s in result.sessions]


def fast_accepts(raw) -> bool:
    """Whether the fast pairer takes its fast path for this batch message (after the line-ending strip)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    m = match_canonical_event(raw.rstrip("\r\n"))
    return m is not None and midnight(m.group(4)) >= 0


def assert_equivalent(batches, config: PairerConfig = CONFIG) -> tuple[SessionPairer, int, int]:
    """Runs ``batches`` ([(messages, now), ...]) through a pairer with the fast path and one forced onto the full
    path; every observable output must be equal. Returns (fast pairer, #fast-path messages, #full-path messages)."""
    assert VALIDATOR is not None and VALIDATOR.canonical_fast_path is True
    fast = SessionPairer(config, VALIDATOR)
    full = SessionPairer(config, VALIDATOR)
    assert fast._fast_ok is True
    full._fast_ok = False

    # count the fallbacks of the fast pairer: only messages off the fast path reach validate_message
    fallbacks = 0
    validate = event_contract.validate_message

    def counting_validate(raw, schema_validator=None):
        nonlocal fallbacks
        fallbacks += 1
        return validate(raw, schema_validator)

    n_fast = n_full = 0
    for i, (messages, now) in enumerate(batches):
        before = fallbacks
        session_pairer.validate_message = counting_validate
        try:
            rf = fast.process_batch(list(messages), now)
        finally:
            session_pairer.validate_message = validate
        rs = full.process_batch(list(messages), now)
        where = f"batch {i} (now={now})"
        assert tuples(rf) == tuples(rs), where
        assert rf.quarantine == rs.quarantine, where
        assert rf.events == rs.events, where
        assert rf.counters == rs.counters, where
        assert rf.sessions_csv() == rs.sessions_csv(), where
        assert rf.quarantine_ndjson() == rs.quarantine_ndjson(), where
        assert fast.take_dirty() == full.take_dirty(), where
        assert fast.stats() == full.stats(), where
        expected_fast = sum(1 for m in messages if (m.strip() if isinstance(m, str) else m) and fast_accepts(m))
        blank = sum(1 for m in messages if not (m.strip() if isinstance(m, str) else m))
        n_fast += expected_fast
        n_full += fallbacks - before
        assert rf.counters["events_in"] - (fallbacks - before) == expected_fast + blank, where
    assert fast.to_json() == full.to_json()
    assert fast.to_state_map() == full.to_state_map()
    assert fast.pending_count() == full.pending_count()
    return fast, n_fast, n_full


def test_equivalence_on_handwritten_scenarios():
    t = "2023-09-23 "
    corpus = all_corpus()
    b1 = [
        # A: compact start, json.dumps-spaced end -> session
        msg(A, 7, 5, t + "10:00:00", "enabled"),
        msg(A, 7, 5, t + "10:30:15", "disabled", style="spaced"),
        # B: exact duplicates and duplicates in other spellings (identical events), then the end
        msg(B, 8, 6, t + "10:00:00", "enabled"),
        msg(B, 8, 6, t + "10:00:00", "enabled"),
        msg(B, 8, 6, t + "10:00:00", "enabled", style="spaced"),
        msg(B, 8, 6, t + "10:00:00", "enabled", style="tab"),
        msg(B, 8, 6, t + "10:00:00", "enabled", order=tuple(reversed(FIELDS))),
        msg(B, 8, 6, t + "10:00:00", escaped("enabled")),
        msg(B, 8, 6, t + "10:00:00", "enabled", style="crlf"),
        msg(B, 8, 6, t + "11:00:00", "disabled", style="two_spaces"),
        msg(B, 8, 6, t + "11:00:00", "disabled"),
        # C: conflicting duplicate while pending (canonical, then other spelling)
        msg(C, 9, 7, t + "10:00:00", "enabled"),
        msg(C, 9, 7, t + "10:05:00", "enabled"),
        msg(C, 9, 7, t + "10:06:00", "enabled", style="tab"),
        msg(C, 9, 7, t + "10:10:00", "disabled", style="spaced"),
        msg(C, 9, 7, t + "10:20:00", "disabled"),  # conflicting duplicate after close
        # D: conflicting pair (channel), E: conflicting pair (user), F: end before start
        msg(D, 10, 5, t + "10:00:00", "enabled"),
        msg(D, 10, 6, t + "10:10:00", "disabled"),
        msg(E, 10, 5, t + "10:00:00", "enabled", style="spaced"),
        msg(E, 11, 5, t + "10:10:00", "disabled", style="inner_space"),
        msg(F, 12, 5, t + "10:10:00", "enabled"),
        msg(F, 12, 5, t + "10:00:00", "disabled"),
        # G: unknown channel 999 on both halves
        msg(G, 13, 999, t + "10:00:00", "enabled"),
        msg(G, 13, 999, t + "10:05:00", "disabled", style="spaced"),
        # H: start only, II: end only (both expire later)
        msg(H, 14, 5, t + "10:00:00", "enabled"),
        msg(II, 15, 5, t + "10:01:00", "disabled", style="spaced"),
        # sessions crossing midnight (also a leap day and a year boundary)
        msg(J, 16, 5, "2024-02-28 23:50:00", "enabled"),
        msg(J, 16, 5, "2024-02-29 00:10:00", "disabled"),
        msg(K, 17, 5, "2024-02-29 23:59:59", "enabled", style="spaced"),
        msg(K, 17, 5, "2024-03-01 00:00:01", "disabled"),
        msg(L, 18, 5, "2023-12-31 23:00:00", "enabled"),
        msg(L, 18, 5, "2024-01-01 01:00:00", "disabled", style="tab"),
        # M: duplicate-key message whose last status wins ("disabled"), pairs with a canonical start
        msg(M, 19, 5, t + "10:00:00", "enabled"),
        msg(M, 19, 5, t + "10:09:00", "enabled")[:-1] + ',"status":"disabled"}',
        # N: 19-digit and max int64 ids (valid, full path) pair with themselves
        msg(N, 2**63 - 1, 5, t + "10:00:00", "enabled"),
        msg(N, 2**63 - 1, 5, t + "10:00:09", "disabled", style="spaced"),
        # blank lines are skipped
        "",
        "   ",
        "\n",
    ]
    b1 += corpus  # every corpus message (valid ones interact with A..N above: duplicates, conflicts...)
    late = "2023-09-23 12:30:00"  # watermark far past the timeout of the 10:00 halves
    b2 = [
        msg(sid_of(1), 20, 5, late, "enabled").encode(),
        msg(sid_of(1), 20, 5, "2023-09-23 12:31:00", "disabled", style="spaced").encode(),
        b'{"session_id":"\xff\xfe","user_id":1}',  # not UTF-8 (decoded with replacement by both)
        msg(sid_of(2), 21, 5, "2023-02-29 12:00:00", "enabled"),
    ]
    b3 = [  # after the grace: the halves of b1 expire, then their partners arrive too late
        msg(H, 14, 5, t + "10:30:00", "disabled"),
        msg(II, 15, 5, t + "09:00:00", "enabled", style="spaced"),
        msg(sid_of(3), 22, 5, "2023-09-23 12:40:00", "enabled"),  # pending at the end of the run
    ]
    batches = [
        (b1, T0),
        (b2, T0 + 10),  # watermark advanced, but the grace is not over yet
        ([], T0 + 100),  # tick: expiry
        (b3, T0 + 110),
        (b1 + b2 + b3, T0 + 200),  # full replay: duplicates / conflicts against remembered state
        ([msg(sid_of(4), 23, 5, "2023-09-24 10:00:00", "enabled")], T0 + 300),  # retention cleanup
    ]
    pairer, n_fast, n_full = assert_equivalent(batches)
    assert n_fast > 100 and n_full > 100  # both paths really ran
    totals = pairer.totals
    assert totals["sessions_out"] >= 8 and totals["duplicates_dropped"] > 0 and totals["expired"] >= 2
    for reason in quarantine_reasons.RULE_REASONS:
        if reason in ENVELOPE_REASONS:
            continue
        assert totals["quarantined"][reason] > 0, reason


def test_equivalence_when_state_is_restored_between_batches():
    """The fast path writes the timer text of a pending half from the regex; after a restore it is rebuilt from the
    seconds. Both must agree with the full path."""
    first = [msg(A, 7, 5, "2024-02-29 23:59:00", "enabled"), msg(B, 7, 5, "2023-09-23 10:00:00", "disabled")]
    second = [
        msg(A, 7, 5, "2024-03-01 00:01:00", "disabled", style="spaced"),
        msg(B, 7, 5, "2023-09-23 09:00:00", "enabled"),
    ]
    fast = SessionPairer(CONFIG, VALIDATOR)
    full = SessionPairer(CONFIG, VALIDATOR)
    full._fast_ok = False
    fast.process_batch(first, T0)
    full.process_batch(first, T0)
    assert fast.to_json() == full.to_json()
    fast2 = SessionPairer.from_json(fast.to_json(), CONFIG, VALIDATOR)
    full2 = SessionPairer.from_json(full.to_json(), CONFIG, VALIDATOR)
    full2._fast_ok = False
    rf, rs = fast2.process_batch(second, T0 + 1), full2.process_batch(second, T0 + 1)
    assert tuples(rf) == tuples(rs)
    assert tuples(rf) == [
        (A, 7, 5, "2024-02-29 23:59:00", "2024-03-01 00:01:00", 120),
        (B, 7, 5, "2023-09-23 09:00:00", "2023-09-23 10:00:00", 3600),
    ]
    assert fast2.to_json() == full2.to_json()


# ------------------------------------------------------------------------------------------------ property test

_BAD_USERS = (0, -3, 2**63, 12_345_678_901_234_567_890, Raw("1.0"), Raw("true"), Raw("NaN"), "5")
_BAD_TIMERS = ("2023-02-29 10:00:00", "2024-02-30 10:00:00", "2023-04-31 10:00:00", "2024-02-29 24:00:00",
               "2024-02-29 10:60:00", "2024-02-29T10:00:00")  # fmt: skip
_BAD_STATUSES = ("Enabled", "paused", "")


def _render_random(rng: random.Random, sid, user, channel, timer, status) -> str:
    roll = rng.random()
    if roll < 0.55:
        return msg(sid, user, channel, timer, status, style=rng.choice(CANONICAL_STYLES))
    if roll < 0.65:
        return msg(sid, user, channel, timer, status, style=rng.choice(OTHER_STYLES))
    if roll < 0.72:
        order = list(FIELDS)
        rng.shuffle(order)
        return msg(sid, user, channel, timer, status, style=rng.choice(("compact", "spaced")), order=tuple(order))
    if roll < 0.77:
        i = rng.randrange(len(status))
        return msg(sid, user, channel, timer, escaped(status, i))
    if roll < 0.80:
        return msg(sid, user, channel, timer, status, escape_key=rng.choice(FIELDS))
    if roll < 0.83:  # duplicate key: an earlier wrong status, the real one last
        other = "disabled" if status == "enabled" else "enabled"
        return msg(sid, user, channel, timer, other)[:-1] + f',"status":"{status}"}}'
    if roll < 0.86:  # valid big ids off the fast path
        return msg(sid, rng.choice((user, 2**63 - 1, 1_000_000_000_000_000_000)), channel, timer, status)
    return _render_invalid(rng, sid, user, channel, timer, status)


def _render_invalid(rng: random.Random, sid, user, channel, timer, status) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return msg(sid, rng.choice(_BAD_USERS), channel, timer, status)
    if kind == 1:
        return msg(sid, user, rng.choice(_BAD_USERS), timer, status, style="spaced")
    if kind == 2:
        return msg(sid, user, channel, rng.choice(_BAD_TIMERS), status, style=rng.choice(CANONICAL_STYLES))
    if kind == 3:
        return msg(sid, user, channel, timer, rng.choice(_BAD_STATUSES))
    if kind == 4:
        return msg(rng.choice((sid.upper(), sid[:31], sid + "a")), user, channel, timer, status)
    if kind == 5:
        return msg(sid, user, channel, timer, status, order=tuple(f for f in FIELDS if f != rng.choice(FIELDS)))
    if kind == 6:
        return msg(sid, user, channel, timer, status)[:-1] + ',"x":0}'
    return msg(sid, user, channel, timer, status)[: rng.randrange(1, 60)]  # truncated JSON


def random_batches(seed: int, n_sessions: int = 300) -> list[tuple[list, float]]:
    rng = random.Random(seed)
    base = event_contract.parse_timer("2024-02-28 20:00:00")  # crosses two midnights, one of them into a leap day
    stream: list[tuple[int, str]] = []  # (event time used for ordering, message)
    for n in range(n_sessions):
        sid = f"{rng.getrandbits(128):032x}"
        user = rng.choice((rng.randint(1, 50), rng.randint(1, 10**18 - 1)))
        channel = rng.choice(range(1, 149)) if rng.random() < 0.93 else 999
        start = base + rng.randrange(0, 2 * 86400)
        end = start + rng.randrange(0, 3 * 3600) * (-1 if rng.random() < 0.05 else 1)
        halves = [(start, "enabled", user, channel), (end, "disabled", user, channel)]
        if rng.random() < 0.06:  # conflicting pair
            halves[1] = (end, "disabled", user, channel % 148 + 1) if n % 2 else (end, "disabled", user + 1, channel)
        if rng.random() < 0.08:  # unmatched half
            del halves[rng.randrange(2)]
        for t, status, u, ch in list(halves):
            if rng.random() < 0.10:  # conflicting duplicate
                halves.append((t + rng.randint(1, 600), status, u, ch))
        for t, status, u, ch in halves:
            timer = event_contract.format_timer(t)
            copies = 1 + (rng.random() < 0.5) + (rng.random() < 0.3) + (rng.random() < 0.1)  # duplicates
            for _ in range(copies):
                raw = _render_random(rng, sid, u, ch, timer, status)
                stream.append((t + rng.randint(-900, 900), raw))
                if rng.random() < 0.1:  # redelivered much later (after the session closed or expired)
                    stream.append((t + rng.randint(3600, 4 * 3600), raw))
            for _ in range(rng.randint(0, 3)):  # invalid messages about this session
                stream.append((t + rng.randint(-900, 900), _render_invalid(rng, sid, u, ch, timer, status)))
    stream.append((base, "not json at all"))
    stream.sort(key=lambda x: x[0])
    messages = [m for _t, m in stream]
    batches = []
    now = T0
    i = 0
    while i < len(messages):
        size = rng.randint(0, 80)
        now += rng.uniform(0, 40)
        batches.append((messages[i : i + size], now))
        i += size
    batches.append(([], now + 1000))  # final tick: everything expires
    return batches


@pytest.mark.parametrize(
    ("seed", "config"),
    [
        (20240229, CONFIG),
        (7, PairerConfig(timeout_s=900, grace_s=5.0, retention_s=4 * 3600, max_entries=12, channels=CHANNELS)),
    ],
)
def test_equivalence_randomized(seed, config):
    batches = random_batches(seed)
    n_messages = sum(len(b) for b, _now in batches)
    assert n_messages > 1000
    assert batches == random_batches(seed)  # deterministic
    pairer, n_fast, n_full = assert_equivalent(batches, config)
    assert n_fast + n_full == n_messages
    assert n_fast > n_messages // 5 and n_full > n_messages // 5
    totals = pairer.totals
    assert totals["sessions_out"] > 50 and totals["duplicates_dropped"] > 20 and totals["expired"] > 0
    for reason in quarantine_reasons.RULE_REASONS:
        if reason in ENVELOPE_REASONS:
            continue
        assert totals["quarantined"][reason] > 0, reason
    if config.max_entries < 200:
        assert totals["evicted"] > 0


# ------------------------------------------------------------------------------------------------ canonical_fast_path


def _write_schema(tmp_path: Path, edit) -> str:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    edit(schema)
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return str(path)


def test_default_schema_enables_fast_path():
    assert VALIDATOR is not None
    assert VALIDATOR.canonical_fast_path is True
    assert schema_rules_digest(json.loads(SCHEMA.read_text(encoding="utf-8"))) == CANONICAL_SCHEMA_DIGEST
    assert SessionPairer(CONFIG, VALIDATOR)._fast_ok is True
    assert SessionPairer(CONFIG, None)._fast_ok is True
    assert SessionPairer(CONFIG)._fast_ok is True
    assert SessionPairer(CONFIG, lambda obj: None)._fast_ok is False  # a foreign validator: always the full path


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["properties"]["session_id"].update(maxLength=40),
        lambda s: s["properties"]["timer"].update(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"),
        lambda s: s["properties"]["channel_id"].update(maximum=100),
        lambda s: s["properties"]["status"].update(enum=["enabled", "disabled", "paused"]),
        lambda s: s.update(required=["session_id", "user_id", "channel_id", "timer"]),
        lambda s: s.update(additionalProperties=True),
    ],
    ids=["session_id_maxLength", "timer_pattern", "channel_maximum", "status_enum", "required", "additional"],
)
def test_modified_schema_disables_fast_path(tmp_path, edit):
    validator = load_schema_validator(_write_schema(tmp_path, edit))
    assert validator is not None
    assert validator.canonical_fast_path is False
    assert SessionPairer(CONFIG, validator)._fast_ok is False


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.update(description="another description", title="another title"),
        lambda s: s["properties"]["session_id"].update(description="changed", title="Session"),
        lambda s: s["properties"]["timer"].pop("description"),
        lambda s: s.update({"$comment": "note", "$id": "https://example.invalid/x.json"}),
    ],
    ids=["top_level", "property", "removed", "comment_id"],
)
def test_annotation_only_schema_change_keeps_fast_path(tmp_path, edit):
    validator = load_schema_validator(_write_schema(tmp_path, edit))
    assert validator is not None and validator.canonical_fast_path is True
    assert SessionPairer(CONFIG, validator)._fast_ok is True


def test_stricter_schema_is_applied_to_canonical_messages(tmp_path):
    """With a schema the regex was not written for, a canonical message must be judged by that schema."""
    validator = load_schema_validator(
        _write_schema(tmp_path, lambda s: s["properties"]["channel_id"].update(maximum=100))
    )
    pairer = SessionPairer(CONFIG, validator)
    raw = msg(A, 7, 120, "2023-09-23 10:00:00", "enabled")
    assert match_canonical_event(raw) is not None
    r = pairer.process_batch([raw], T0)
    assert [(q["reason"], q["session_id"]) for q in r.quarantine] == [("invalid_schema", A)]
    assert r.events == []
    # the project schema accepts it (channel 120 is in the catalog: a pending start)
    p2 = SessionPairer(CONFIG, VALIDATOR)
    r2 = p2.process_batch([raw], T0)
    assert r2.quarantine == [] and r2.events == [(A, 7, 120, "2023-09-23 10:00:00", "enabled")]
    assert p2.pending_count() == 1


# ------------------------------------------------------------------------------------------------ regex vs validator


def test_fast_regex_accepts_only_what_the_full_path_accepts():
    pairer = SessionPairer(CONFIG, VALIDATOR)
    corpus = [m.rstrip("\r\n") for m in canonical_corpus()]
    assert len(corpus) == 50
    for raw in corpus:
        m = match_canonical_event(raw)
        assert m is not None, raw
        sid, uid, ch, day, hh, mi, ss, status = m.groups()
        assert midnight(day) >= 0, raw
        event, reason, detail = validate_message(raw, VALIDATOR)
        assert (reason, detail) == (None, ""), raw
        assert event == json.loads(raw)
        assert (sid, int(uid), int(ch), f"{day} {hh}:{mi}:{ss}", status) == tuple(event[k] for k in FIELDS)
        expected = (
            event["session_id"],
            event["user_id"],
            event["channel_id"],
            event_contract.parse_timer(event["timer"]),
            event["timer"],
            event["status"],
        )
        assert pairer._parse(raw) == pairer._parse(raw, fast=False) == expected, raw


def test_fast_regex_rejects_non_canonical_variants():
    for raw in non_canonical_corpus():
        assert match_canonical_event(raw) is None, raw
        assert match_canonical_event(raw.rstrip("\r\n")) is None, raw


def test_impossible_and_pre_epoch_dates_leave_the_fast_path():
    """The regex matches these (its day range is 01-31, year 0000-9999); the date check sends them on."""
    pairer = SessionPairer(CONFIG, VALIDATOR)
    for raw in impossible_dates_corpus():
        m = match_canonical_event(raw)
        assert m is not None and midnight(m.group(4)) == -1, raw
        assert validate_message(raw, VALIDATOR)[1] == "invalid_schema", raw
        assert pairer._parse(raw) == pairer._parse(raw, fast=False), raw
        assert pairer._parse(raw)[0] is None
    for raw in pre_epoch_corpus():
        m = match_canonical_event(raw)
        assert m is not None and midnight(m.group(4)) < 0, raw
        assert validate_message(raw, VALIDATOR)[0] is not None, raw  # valid, handled by the full path
        assert pairer._parse(raw) == pairer._parse(raw, fast=False), raw
    assert midnight("2024-02-29") == event_contract.parse_timer("2024-02-29 00:00:00")
    assert midnight("2023-02-29") == -1


def test_parse_agrees_on_whole_corpus():
    """_parse with and without the fast path: same event values, or the same rejection reason and detail."""
    pairer = SessionPairer(CONFIG, VALIDATOR)
    corpus = all_corpus()
    accepted = rejected = 0
    for raw in corpus:
        got = pairer._parse(raw)
        assert got == pairer._parse(raw, fast=False), raw
        if got[0] is None:
            rejected += 1
        else:
            accepted += 1
    assert accepted > 60 and rejected > 60
