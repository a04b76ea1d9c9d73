"""Every kind of malformed Kafka message the pipeline is known to receive, written out by hand with the quarantine
reason it must get (issue #16, item 3; docs/session-pairing.md), and the ``raw`` column a quarantine record of it
must hold -- both from the documentation alone, not from the pipeline's code, so a wrong rule shows in the tests
that use them (tests/unit/test_bad_message_kinds.py, tests/integration/test_ingestion.py).

The messages are for records whose Kafka timestamp is :data:`TS_MS`; an event of session :data:`S` is keyed
:data:`K` unless the kind is about the key.
"""

from __future__ import annotations

import base64

#: The Kafka timestamp of the records: 2025-03-05 12:00:00 UTC.
TS_MS = 1_741_176_000_000
S = "5a" * 16  # the session id of the bad messages that need one (no valid event uses it)
K = S.encode()


def event(sid: str, user: str, channel: str, timer: str, status: str) -> bytes:
    """An event in the producer's shape, each field's JSON token as given (so a test can write any token)."""
    return (
        f'{{"session_id": {sid}, "user_id": {user}, "channel_id": {channel}, "timer": {timer}, "status": {status}}}'
    ).encode()


def good(**tokens: str) -> bytes:
    """A valid event of session S with the given JSON tokens replaced."""
    base = {
        "sid": f'"{S}"',
        "user": "7",
        "channel": "5",
        "timer": '"2025-03-05 10:00:00"',
        "status": '"enabled"',
    }
    return event(**{**base, **tokens})


#: (kind, Kafka key, message value, reason). The value is the exact bytes sent; None is a tombstone.
KINDS: list[tuple[str, bytes | None, bytes | None, str]] = [
    # --- not JSON at all
    ("plain text", K, b"hello, set-top box", "invalid_json"),
    ("truncated JSON", K, b'{"session_id": "5a5a', "invalid_json"),
    ("trailing garbage", K, good() + b" xyz", "invalid_json"),
    ("invalid UTF-8", K, b"\xff\xfe{", "invalid_json"),
    ("invalid UTF-8 inside an event", K, good().replace(b"enabled", b"enab\xe9led"), "invalid_json"),
    ("UTF-8 BOM before an event", K, b"\xef\xbb\xbf" + good(), "invalid_json"),
    ("NUL bytes only", K, b"\x00\x00\x00", "invalid_json"),
    ("NUL inside a string", K, b'{"session_id": "\x00"}', "invalid_json"),
    ("NaN constant", K, good(user="NaN"), "invalid_json"),
    ("empty message", K, b"", "invalid_json"),
    ("tombstone (null value)", K, None, "invalid_json"),
    ("whitespace only", K, b" \t  ", "invalid_json"),
    ("line breaks only", K, b"\r\n\n", "invalid_json"),
    ("not JSON, with a trailing line break", K, b"not json\n", "invalid_json"),
    ("text that looks like the base64 marker", K, b"base64:aGVsbG8=", "invalid_json"),
    ("deeply nested arrays", K, b"[" * 5000 + b"]" * 5000, "invalid_json"),
    ("deeply nested objects", K, b'{"a":' * 3000 + b"1" + b"}" * 3000, "invalid_json"),
    # --- too large
    (
        "over 1 MB",
        K,
        b'{"session_id": "' + S.encode() + b'", "pad": "' + b"x" * 1_100_000 + b'"}',
        "oversized_message",
    ),  # fmt: skip
    # --- JSON, but not an event
    ("JSON array", K, b"[1, 2, 3]", "invalid_schema"),
    ("JSON null", K, b"null", "invalid_schema"),
    ("JSON string", K, b'"enabled"', "invalid_schema"),
    ("missing field", K, good().replace(b', "status": "enabled"', b""), "invalid_schema"),
    ("null field", K, good(user="null"), "invalid_schema"),
    ("unexpected field", K, good().replace(b"}", b', "debug": true}'), "invalid_schema"),
    ("duplicate field", K, good().replace(b"}", b', "user_id": 8}'), "invalid_schema"),
    ("user_id as a string", K, good(user='"7"'), "invalid_schema"),
    ("channel_id as a boolean", K, good(channel="true"), "invalid_schema"),
    ("user_id a float", K, good(user="7.5"), "invalid_schema"),
    ("user_id an integral float", K, good(user="7.0"), "invalid_schema"),
    ("user_id above 2^63-1", K, good(user="9223372036854775808"), "invalid_schema"),
    ("user_id overflowing to infinity", K, good(user="1e999"), "invalid_schema"),
    ("user_id zero", K, good(user="0"), "invalid_schema"),
    ("channel_id negative", K, good(channel="-3"), "invalid_schema"),
    ("session_id of 31 characters", K, good(sid='"' + "5" * 31 + '"'), "invalid_schema"),
    ("session_id of 33 characters", K, good(sid='"' + "5" * 33 + '"'), "invalid_schema"),
    ("session_id in upper case", K, good(sid='"' + "5A" * 16 + '"'), "invalid_schema"),
    ("session_id not hex", K, good(sid='"' + "g" * 32 + '"'), "invalid_schema"),
    ("session_id a number", K, good(sid="12345"), "invalid_schema"),
    ("session_id a lone surrogate escape", K, good(sid='"\\ud800"'), "invalid_schema"),
    ("unknown status", K, good(status='"paused"'), "invalid_schema"),
    ("status in upper case", K, good(status='"ENABLED"'), "invalid_schema"),
    ("timer in ISO 8601", K, good(timer='"2025-03-05T10:00:00Z"'), "invalid_schema"),
    ("timer as epoch seconds", K, good(timer="1741168800"), "invalid_schema"),
    ("timer without seconds", K, good(timer='"2025-03-05 10:00"'), "invalid_schema"),
    ("timer day-month-year", K, good(timer='"05-03-2025 10:00:00"'), "invalid_schema"),
    ("timer an impossible date", K, good(timer='"2023-02-30 10:00:00"'), "invalid_schema"),
    ("timer an impossible time", K, good(timer='"2025-03-05 24:00:00"'), "invalid_schema"),
    ("message with line breaks inside", K, b'{\n  "session_id": 1\r\n}', "invalid_schema"),
    # --- a valid event, but not from this record
    ("timer far in the future", K, good(timer='"2099-01-01 00:00:00"'), "implausible_timer"),
    ("timer three days ahead", K, good(timer='"2025-03-08 12:00:01"'), "implausible_timer"),
    ("timer far in the past", K, good(timer='"1970-01-01 00:00:00"'), "implausible_timer"),
    ("timer more than a year before", K, good(timer='"2024-03-03 11:59:59"'), "implausible_timer"),
    ("null key", None, good(), "invalid_key"),
    ("key not the session_id", b"0" * 32, good(), "invalid_key"),
    ("key the session_id in upper case", S.upper().encode(), good(), "invalid_key"),
]


def raw_column(value: bytes | None) -> str:
    """The documented ``raw`` column of a quarantined message: its text when it is UTF-8 without a line break and
    does not start with ``base64:``, else ``base64:`` and the base64 of its bytes (a tombstone: empty)."""
    data = value or b""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\n" not in text and "\r" not in text and not text.startswith("base64:"):
        return text
    return "base64:" + base64.b64encode(data).decode("ascii")


def raw_bytes(column: str) -> bytes:
    """The bytes a documented ``raw`` column stands for."""
    return base64.b64decode(column[7:]) if column.startswith("base64:") else column.encode("utf-8")
