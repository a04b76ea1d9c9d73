"""The viewing event contract: how one Kafka message becomes an event, or why it does not (stdlib only).

A viewing event is one Kafka message (JSON text)::

    {"session_id": "<32 lowercase hex>", "user_id": 1, "channel_id": 2,
     "timer": "YYYY-MM-DD HH:MM:SS", "status": "enabled" | "disabled"}

:func:`validate_message` turns raw message text into an event (or an ``oversized_message`` / ``invalid_json`` /
``invalid_schema`` verdict); :func:`check_envelope` checks a valid event against its Kafka record (key and
timestamp); :func:`fingerprint` is an event's identity (for deduplication).

Times: ``timer`` is naive event time; it is handled as UTC seconds since the epoch internally and written back
in the same ``YYYY-MM-DD HH:MM:SS`` form. Wall-clock values are POSIX seconds supplied by the caller.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from hashlib import blake2b as _blake2b
from typing import Any

try:  # package import (tests)
    from iptv_sessions.lake_datasets import column_names
    from iptv_sessions.quarantine_reasons import (
        IMPLAUSIBLE_TIMER,
        INVALID_JSON,
        INVALID_KEY,
        INVALID_SCHEMA,
        OVERSIZED_MESSAGE,
    )
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from lake_datasets import column_names
    from quarantine_reasons import (
        IMPLAUSIBLE_TIMER,
        INVALID_JSON,
        INVALID_KEY,
        INVALID_SCHEMA,
        OVERSIZED_MESSAGE,
    )

#: The fields of an event: the columns of dataset viewing_events (schemas/datasets.json).
EVENT_FIELDS = column_names("viewing_events")
STATUSES = ("enabled", "disabled")
TIMER_FORMAT = "%Y-%m-%d %H:%M:%S"
SESSION_ID_RE = re.compile(r"[0-9a-f]{32}")
TIMER_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
INT64_MAX = 2**63 - 1
#: Longest message (characters, bytes for undecoded input) validated; a valid event is about 150. Longer ones are
#: quarantined before they are parsed, their raw kept whole (docs/session-pairing.md).
MAX_MESSAGE_CHARS = 65_536


def parse_timer(value: str) -> int:
    """``YYYY-MM-DD HH:MM:SS`` (a real calendar date/time) -> integer seconds, the string read as UTC.
    Raises ValueError for another shape or an impossible date/time (e.g. 2023-02-30, 24:00:00)."""
    if not TIMER_RE.fullmatch(value):
        raise ValueError(f"timer {value!r} is not 'YYYY-MM-DD HH:MM:SS'")
    parts = (
        int(value[0:4]),
        int(value[5:7]),
        int(value[8:10]),
        int(value[11:13]),
        int(value[14:16]),
        int(value[17:19]),
    )
    datetime(*parts)  # calendar check: raises ValueError for impossible dates and times
    return calendar.timegm(parts)


def format_timer(epoch_s: int) -> str:
    """Inverse of :func:`parse_timer`. The year is zero-padded by hand: glibc's ``%Y`` writes year 1 as ``1``."""
    t = time.gmtime(epoch_s)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def format_wallclock(epoch_s: float) -> str:
    """POSIX seconds -> ISO 8601 UTC with milliseconds, e.g. ``2023-09-23T10:00:00.000Z``."""
    ms = int(round(epoch_s * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT64_MAX


def check_event(obj: Any) -> str | None:
    """Hand-written event contract check. Returns None when ``obj`` is a valid event, else a short reason."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    missing = [k for k in EVENT_FIELDS if k not in obj]
    if missing:
        return "missing field(s): " + ",".join(missing)
    extra = sorted(k for k in obj if k not in EVENT_FIELDS)
    if extra:
        return "unexpected field(s): " + ",".join(extra)
    sid = obj["session_id"]
    if not isinstance(sid, str) or not SESSION_ID_RE.fullmatch(sid):
        return "session_id must be 32 lowercase hex characters"
    for key in ("user_id", "channel_id"):
        if not _is_int(obj[key]):
            return f"{key} must be a positive integer"
    timer = obj["timer"]
    if not isinstance(timer, str) or not TIMER_RE.fullmatch(timer):
        return "timer must be a string 'YYYY-MM-DD HH:MM:SS'"
    try:
        parse_timer(timer)
    except ValueError:
        return f"timer is not a real date/time: {timer}"
    if obj["status"] not in STATUSES:
        return "status must be 'enabled' or 'disabled'"
    return None


def validate_message(
    raw: str | bytes, schema_validator: Callable[[Any], str | None] | None = None
) -> tuple[dict | None, str | None, str]:
    """Validate one raw Kafka message.

    Returns ``(event, None, "")`` for a valid event, else ``(None, reason, detail)`` with reason
    ``oversized_message``, ``invalid_json`` or ``invalid_schema``. The hand check (:func:`check_event`) always
    runs, because a JSON Schema cannot check that the timer is a real date; ``schema_validator`` (see
    schema_validation.load_schema_validator) runs first if given. A ``str`` may carry bytes that are not UTF-8
    as ``surrogateescape`` characters (as flowfile_formats.read_batch decodes them): they make it invalid_json
    with the same detail as the bytes themselves.
    """
    if len(raw) > MAX_MESSAGE_CHARS:
        return None, OVERSIZED_MESSAGE, f"{len(raw)} characters, more than {MAX_MESSAGE_CHARS}"
    if isinstance(raw, str) and not raw.isascii():
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            try:
                raw = raw.encode("utf-8", errors="surrogateescape")
            except UnicodeEncodeError:
                raw = raw.encode("utf-8", errors="surrogatepass")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, INVALID_JSON, f"not UTF-8: {exc}"
    try:
        obj = json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_unique_fields)
    except _DuplicateFieldError as exc:
        return None, INVALID_SCHEMA, str(exc)
    except ValueError as exc:
        return None, INVALID_JSON, str(exc)
    except RecursionError:  # json's C decoder recurses once per nesting level: '[[[[...' of a few thousand
        return None, INVALID_JSON, "nested too deeply"
    try:
        problem = schema_validator(obj) if schema_validator is not None else None
        if not problem:
            problem = check_event(obj)
    except Exception as exc:  # noqa: BLE001 - whatever a decoded value does to a validator is the message's fault
        problem = f"could not be validated: {describe_error(exc)}"
    if problem:
        return None, INVALID_SCHEMA, problem
    return obj, None, ""


class _DuplicateFieldError(ValueError):
    pass


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict:
    """An object's fields; a name given twice raises (json would keep the last value silently, so two
    readers of the same message could disagree on what it says)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _value in pairs:
            if name in seen:
                raise _DuplicateFieldError(f"duplicate field {name[:80]!r}")
            seen.add(name)
    return obj


def check_envelope(
    session_id: str, timer_s: int, envelope: tuple[str | None, int], max_lead_s: int, max_lag_s: int
) -> tuple[str, str] | None:
    """A valid event against its Kafka record ``envelope = (key, timestamp_ms)``: ``(reason, detail)`` when the
    key is null or not the session_id (``invalid_key``: the producer partitions by session, so both halves of a
    session meet in one partition, in order), or the timer is more than ``max_lead_s`` after or ``max_lag_s``
    before the record's timestamp (``implausible_timer``: a device clock that is off; bounded by the record's own
    timestamp, not the wall clock, so that a replay gives the same verdicts). None when it passes. A timestamp
    below 0 (the broker had none) is not checked."""
    # Timer bounds also checked in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
    key, timestamp_ms = envelope
    if key is None:
        return INVALID_KEY, "null Kafka key (the producer keys each event by its session_id)"
    if key != session_id:
        return INVALID_KEY, f"Kafka key {key[:80]!r} is not the session_id"
    if timestamp_ms >= 0:
        ts = timestamp_ms // 1000
        if timer_s > ts + max_lead_s:
            return IMPLAUSIBLE_TIMER, (
                f"timer {format_timer(timer_s)} is more than {max_lead_s} s after the record's Kafka timestamp "
                f"{format_timer(ts)}"
            )
        if timer_s < ts - max_lag_s:
            return IMPLAUSIBLE_TIMER, (
                f"timer {format_timer(timer_s)} is more than {max_lag_s} s before the record's Kafka timestamp "
                f"{format_timer(ts)}"
            )
    return None


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` of an exception, one line, at most ``limit`` characters (for a quarantine detail)."""
    text = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def fingerprint(session_id: str, user_id: int, channel_id: int, timer: str, status: str) -> str:
    """Identity of an event: 16 hex chars of a hash of its five field values (so the key order and spacing of
    its JSON do not matter)."""
    # The fields are validated (hex id, ints, fixed timer shape, status enum), so '|' cannot be ambiguous.
    # This string is also written in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
    return _blake2b(f"{session_id}|{user_id}|{channel_id}|{timer}|{status}".encode(), digest_size=8).hexdigest()


def guess_session_id(raw: str) -> str | None:
    """Best-effort session id of an invalid message (for the quarantine record), else None."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    sid = obj.get("session_id") if isinstance(obj, dict) else None
    if isinstance(sid, str) and len(sid) <= 64 and sid.isprintable():  # no line breaks, lone surrogates, ...
        return sid
    return None
