"""Pure pairing logic for IPTV viewing events (stdlib only, no NiFi imports).

A viewing event is one Kafka message (JSON text)::

    {"session_id": "<32 lowercase hex>", "user_id": 1, "channel_id": 2,
     "timer": "YYYY-MM-DD HH:MM:SS", "status": "enabled" | "disabled"}

:func:`validate_message` turns raw message text into an event (or an ``invalid_json`` / ``invalid_schema``
verdict). :class:`SessionPairer` pairs the ``enabled`` and ``disabled`` events of each ``session_id`` into
sessions, with explicit state that round-trips through :meth:`SessionPairer.to_json` /
:meth:`SessionPairer.to_state_map`. The rules are documented in docs/session-pairing.md.

Times: ``timer`` is naive event time; it is handled as UTC seconds since the epoch internally and written back
in the same ``YYYY-MM-DD HH:MM:SS`` form. Wall-clock ``now`` values are POSIX seconds supplied by the caller
(the pairer never reads the clock itself, so it is deterministic under test).
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import heapq
import json
import os
import re
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b as _blake2b
from typing import Any, NamedTuple

EVENT_FIELDS = ("session_id", "user_id", "channel_id", "timer", "status")
STATUSES = ("enabled", "disabled")
TIMER_FORMAT = "%Y-%m-%d %H:%M:%S"
SESSION_ID_RE = re.compile(r"[0-9a-f]{32}")
TIMER_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
INT64_MAX = 2**63 - 1

# Quarantine reasons.
INVALID_JSON = "invalid_json"
INVALID_SCHEMA = "invalid_schema"
UNKNOWN_CHANNEL = "unknown_channel"
CONFLICTING_PAIR = "conflicting_pair"
END_BEFORE_START = "end_before_start"
CONFLICTING_DUPLICATE = "conflicting_duplicate"
UNMATCHED_START = "unmatched_start"
UNMATCHED_END = "unmatched_end"
#: An exception while pairing one message that its validation did not foresee: the message is quarantined with
#: the error instead of failing its whole batch (and the batch's valid events with it).
PROCESSING_ERROR = "processing_error"
#: A consumer batch line that is not ``<partition>\t<offset>\t<message>`` (see ingestion.parse_batch).
MALFORMED_BATCH_LINE = "malformed_batch_line"
#: A message of a batch that kept failing for a reason outside any one message's validation, isolated by
#: splitting the batch (ingestion.IngestState.process_isolating); the detail holds the error.
BATCH_FAILED = "batch_failed"
#: Reasons given by the pairing rules (docs/session-pairing.md).
RULE_REASONS = (
    INVALID_JSON,
    INVALID_SCHEMA,
    UNKNOWN_CHANNEL,
    CONFLICTING_PAIR,
    END_BEFORE_START,
    CONFLICTING_DUPLICATE,
    UNMATCHED_START,
    UNMATCHED_END,
)
#: Reasons given by the guards that keep one bad message from failing its batch.
GUARD_REASONS = (PROCESSING_ERROR, MALFORMED_BATCH_LINE, BATCH_FAILED)
REASONS = RULE_REASONS + GUARD_REASONS

SESSION_COLUMNS = ("session_id", "user_id", "channel_id", "time_start", "time_end", "duration_s")
STATE_FORMAT = "iptv-session-pairer/1"
MAX_FINGERPRINTS_PER_SESSION = 32

# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


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


#: The producer's canonical message shape (fixed key order, compact or ``json.dumps`` spacing), accepting exactly
#: the values the project schema *and* :func:`check_event` accept (the date's reality is checked separately).
#: Only used when validation is the project's own contract (see ``canonical_fast_path``); a message that does not
#: match is not invalid, it just takes the full path (``json`` + schema validator).
_CANONICAL_EVENT = re.compile(
    r'\{"session_id": ?"([0-9a-f]{32})", ?'
    r'"user_id": ?([1-9][0-9]{0,17}), ?'  # <= 18 digits: always <= 2^63-1
    r'"channel_id": ?([1-9][0-9]{0,17}), ?'
    r'"timer": ?"([0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])) '
    r'([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])", ?'
    r'"status": ?"(enabled|disabled)"\}'
).fullmatch

#: sha256 of the validation keywords of schemas/viewing_event.schema.json (titles, descriptions and ids left
#: out, see :func:`_schema_rules_digest`): the schema the fast path above was written for. A changed schema
#: disables the fast path (correct, only slower) until the expression is reviewed and this digest updated.
CANONICAL_SCHEMA_DIGEST = "c06660400ce25408bfedec88a80346d6da244a30cd2a6d699c1fefdfadd80b9c"
_ANNOTATION_KEYWORDS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples"})


def _schema_rules(node: Any, in_properties: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            k: _schema_rules(v, k == "properties")
            for k, v in node.items()
            if in_properties or k not in _ANNOTATION_KEYWORDS
        }
    if isinstance(node, list):
        return [_schema_rules(v) for v in node]
    return node


def _schema_rules_digest(schema: dict) -> str:
    text = json.dumps(_schema_rules(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _midnight(day: str) -> int:
    """Epoch seconds of ``YYYY-MM-DD`` 00:00:00 UTC, or -1 when it is not a real date."""
    try:
        return parse_timer(day + " 00:00:00")
    except ValueError:
        return -1


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


def load_schema_validator(schema_path: str | None) -> Callable[[Any], str | None] | None:
    """A callable(obj) -> error message or None from a JSON Schema file, or None when there is no schema file
    or the ``jsonschema`` package is not importable (the hand check then stands alone)."""
    if not schema_path:
        return None
    try:
        import jsonschema  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    with open(schema_path, encoding="utf-8") as fh:
        schema = json.load(fh)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    fast = _compile_fast_validator(schema)

    def _validate(obj: Any) -> str | None:
        if fast is not None and fast(obj):
            return None  # valid per the compiled schema; jsonschema only explains rejections
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path)
        return f"{where}: {error.message}" if where else error.message

    _validate.canonical_fast_path = _schema_rules_digest(schema) == CANONICAL_SCHEMA_DIGEST  # type: ignore[attr-defined]
    return _validate


#: Keywords whose meaning is the same in draft-07 (fastjsonschema's newest draft) and draft 2020-12.
_DRAFT7_SAFE_KEYWORDS = frozenset(
    "$schema $id title description type properties required additionalProperties pattern enum minimum maximum "
    "minLength maxLength const".split()
)


def _schema_keywords(node: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            keys.add(k)
            if k == "properties" and isinstance(v, dict):
                for sub in v.values():
                    keys |= _schema_keywords(sub)
            elif isinstance(v, dict) and k not in ("enum", "const"):
                keys |= _schema_keywords(v)
    return keys


def _compile_fast_validator(schema: dict) -> Callable[[Any], bool] | None:
    """A compiled is-valid check (``fastjsonschema``, ~50x faster than jsonschema's iter_errors) when the package is
    importable and the schema only uses keywords that mean the same in draft-07; else None."""
    try:
        import fastjsonschema  # noqa: PLC0415 - optional accelerator
    except ImportError:
        return None
    if not _schema_keywords(schema) <= _DRAFT7_SAFE_KEYWORDS:
        return None
    draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
    try:
        check = fastjsonschema.compile(draft7)
    except Exception:  # noqa: BLE001 - fall back to jsonschema alone
        return None

    def is_valid(obj: Any) -> bool:
        try:
            check(obj)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


# schemas/viewing_event.schema.json of the repository, when this module runs from the repository layout.
DEFAULT_SCHEMA_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
    "schemas",
    "viewing_event.schema.json",
)


def default_schema_validator() -> Callable[[Any], str | None] | None:
    """Validator for the project's event schema file if it exists here and jsonschema is importable, else None."""
    return load_schema_validator(DEFAULT_SCHEMA_PATH) if os.path.isfile(DEFAULT_SCHEMA_PATH) else None


def validate_message(
    raw: str | bytes, schema_validator: Callable[[Any], str | None] | None = None
) -> tuple[dict | None, str | None, str]:
    """Validate one raw Kafka message.

    Returns ``(event, None, "")`` for a valid event, else ``(None, reason, detail)`` with reason ``invalid_json``
    or ``invalid_schema``. The hand check (:func:`check_event`) always runs, because a JSON Schema cannot check
    that the timer is a real date; ``schema_validator`` (see :func:`load_schema_validator`) runs first if given.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, INVALID_JSON, f"not UTF-8: {exc}"
    try:
        obj = json.loads(raw, parse_constant=_reject_constant)
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
    return _blake2b(f"{session_id}|{user_id}|{channel_id}|{timer}|{status}".encode(), digest_size=8).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Pairing
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairerConfig:
    """Tuning of :class:`SessionPairer`. ``channels=None`` disables the channel-catalog check."""

    timeout_s: int = 12 * 3600  # event-time wait for the partner of a half
    grace_s: float = 300.0  # wall-clock wait since a half arrived, on top of timeout_s
    retention_s: int = 24 * 3600  # event time a closed session is remembered past its end
    max_entries: int = 200_000  # hard bound on remembered session ids (pending + closed)
    channels: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if self.timeout_s < 0 or self.grace_s < 0 or self.retention_s < 0:
            raise ValueError("timeout, grace and retention must be >= 0")
        if self.max_entries < 1:
            raise ValueError("max_entries must be >= 1")


class Session(NamedTuple):
    """One formed session (a NamedTuple: created once per session on the hot path, ~5x cheaper than a dataclass)."""

    session_id: str
    user_id: int
    channel_id: int
    time_start: str
    time_end: str
    duration_s: int

    def as_tuple(self) -> tuple:
        return tuple(self)

    def as_dict(self) -> dict:
        return dict(zip(SESSION_COLUMNS, self, strict=True))

    def as_csv_line(self) -> str:
        return f"{self[0]},{self[1]},{self[2]},{self[3]},{self[4]},{self[5]}"


@dataclass
class BatchResult:
    """What one :meth:`SessionPairer.process_batch` call produced, in deterministic order."""

    sessions: list[Session] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)
    #: Distinct valid events of the batch (schema-valid, not an identical duplicate), in arrival order. Includes
    #: events that are quarantined later by a pairing rule (unknown channel, conflicts, unmatched): they are
    #: valid events of the stream, landed as raw data.
    #: Each is a tuple ``(session_id, user_id, channel_id, timer, status)`` (the raw CSV columns).
    events: list[tuple[str, int, int, str, str]] = field(default_factory=list)

    def sessions_csv(self) -> str:
        """Headerless CSV: session_id,user_id,channel_id,time_start,time_end,duration_s (one line per session)."""
        return "".join(s.as_csv_line() + "\n" for s in self.sessions)

    def quarantine_ndjson(self) -> str:
        return "".join(json.dumps(q, ensure_ascii=False, separators=(",", ":")) + "\n" for q in self.quarantine)


class _Half:
    """One pending event of a session (``enabled`` or ``disabled``) waiting for its partner."""

    __slots__ = ("timer", "user_id", "channel_id", "arrival", "raw", "text")

    def __init__(
        self, timer: int, user_id: int, channel_id: int, arrival: float, raw: str, text: str | None = None
    ) -> None:
        self.timer = timer
        self.user_id = user_id
        self.channel_id = channel_id
        self.arrival = arrival
        self.raw = raw
        #: ``timer`` as the event wrote it (canonical form, so equal to format_timer(timer)); not persisted.
        self.text = text

    def timer_text(self) -> str:
        return self.text if self.text is not None else format_timer(self.timer)

    def dump(self) -> list:
        return [self.timer, self.user_id, self.channel_id, self.arrival, self.raw]

    @classmethod
    def load(cls, data: list) -> _Half:
        return cls(int(data[0]), int(data[1]), int(data[2]), float(data[3]), str(data[4]))


class _Entry:
    """Everything remembered about one session_id.

    ``statuses``: bit 1 = an ``enabled`` took part (pending or paired), bit 2 = a ``disabled`` did;
    ``closed``: the session was emitted or quarantined; ``t``: max event time seen (retention reference);
    ``seq``: insertion order, to break ties when evicting; ``fps``: fingerprints of events seen.
    """

    __slots__ = ("t", "seq", "statuses", "closed", "fps", "start", "end")

    def __init__(self, t: int, seq: int) -> None:
        self.t = t
        self.seq = seq
        self.statuses = 0
        self.closed = False
        self.fps: list[str] = []
        self.start: _Half | None = None
        self.end: _Half | None = None

    def dump(self) -> list:
        return [
            self.t,
            self.seq,
            self.statuses,
            1 if self.closed else 0,
            self.fps,
            self.start.dump() if self.start else None,
            self.end.dump() if self.end else None,
        ]

    @classmethod
    def load(cls, data: list) -> _Entry:
        entry = cls(int(data[0]), int(data[1]))
        entry.statuses = int(data[2])
        entry.closed = bool(data[3])
        entry.fps = [str(f) for f in data[4]]
        entry.start = _Half.load(data[5]) if data[5] else None
        entry.end = _Half.load(data[6]) if data[6] else None
        return entry

    @property
    def pending(self) -> bool:
        return self.start is not None or self.end is not None


_STATUS_BIT = {"enabled": 1, "disabled": 2}
_COUNTER_KEYS = ("events_in", "sessions_out", "duplicates_dropped", "evicted", "expired", "ticks")


def new_counters() -> dict[str, Any]:
    counters: dict[str, Any] = {k: 0 for k in _COUNTER_KEYS}
    counters["quarantined"] = {r: 0 for r in REASONS}
    return counters


def add_counters(into: dict[str, Any], counters: dict[str, Any]) -> None:
    for key in _COUNTER_KEYS:
        into[key] += counters[key]
    for reason, n in counters["quarantined"].items():
        into["quarantined"][reason] = into["quarantined"].get(reason, 0) + n


def quarantine(out: BatchResult, reason: str, sid: str | None, raw: str, detail: str, arrival_iso: str) -> None:
    """Add one quarantine record (and count it) to ``out``."""
    out.quarantine.append(
        {"reason": reason, "session_id": sid, "raw": raw, "detail": detail, "arrival_ts": arrival_iso}
    )
    out.counters["quarantined"][reason] += 1


class SessionPairer:
    """Pairs viewing events into sessions. Feed batches with :meth:`process_batch`; persist with
    :meth:`to_json` / :meth:`to_state_map` and restore with :meth:`from_json` / :meth:`from_state_map`.

    Not thread-safe: one pairer (one NiFi concurrent task) per state.
    """

    def __init__(self, config: PairerConfig | None = None, schema_validator: Callable | None = None) -> None:
        self.config = config or PairerConfig()
        self.schema_validator = schema_validator
        self.watermark: int | None = None  # max event time seen (valid events)
        self.seq = 0
        self.entries: dict[str, _Entry] = {}
        self.totals = new_counters()
        #: Session ids with a pending half (insertion-ordered set): expiry scans these, not every entry.
        self.pending: dict[str, None] = {}
        #: Session ids whose entry changed or was removed since :meth:`take_dirty` (incremental state saves).
        self.dirty: set[str] = set()
        # The regex fast path is only sound when validation is the project's own contract.
        self._fast_ok = schema_validator is None or bool(getattr(schema_validator, "canonical_fast_path", False))
        self._days: dict[str, int] = {}  # 'YYYY-MM-DD' -> its midnight in epoch seconds, -1 if not a real date

    def take_dirty(self) -> dict[str, list | None]:
        """Entries changed since the last call, dumped (None = forgotten), and reset the change set."""
        entries = self.entries
        out = {sid: (entries[sid].dump() if sid in entries else None) for sid in self.dirty}
        self.dirty = set()
        return out

    # ------------------------------------------------------------------ processing

    def process_batch(self, messages: Iterable[str | bytes], now: float, tick: bool = False) -> BatchResult:
        """Process raw messages in arrival order, then expire / clean up / evict. ``now``: wall clock (POSIX s),
        used as the arrival time of every message in the batch and for the grace check. Blank messages are
        skipped. ``tick`` only marks the call in the counters: an empty batch already runs the expiry."""
        out = BatchResult(counters=new_counters())
        if tick:
            out.counters["ticks"] += 1
        arrival_iso = format_wallclock(now)
        process_one = self._process_one
        n_in = 0
        for raw in messages:
            n_in += 1
            if not isinstance(raw, str):
                raw = raw.decode("utf-8", errors="replace")
            if raw[-1:] in ("\r", "\n"):
                raw = raw.rstrip("\r\n")
            if not raw or (raw[0] != "{" and not raw.strip()):
                self._quarantine(out, INVALID_JSON, None, raw, "empty message", arrival_iso)
                continue
            try:
                process_one(raw, now, arrival_iso, out)
            except Exception as exc:  # noqa: BLE001 - no content of one message may fail the batch around it
                self._quarantine(out, PROCESSING_ERROR, guess_session_id(raw), raw, describe_error(exc), arrival_iso)
        out.counters["events_in"] += n_in
        self._expire(now, out)
        self._cleanup()
        self._evict(out)
        self._add_totals(out.counters)
        return out

    _quarantine = staticmethod(quarantine)

    def _day_midnight(self, day: str) -> int:
        midnight = _midnight(day)
        if len(self._days) > 4096:  # bounded: a stream of distinct (bad) dates cannot grow it
            self._days.clear()
        self._days[day] = midnight
        return midnight

    def _parse(self, raw: str, fast: bool = True) -> tuple[str, int, int, int, str, str] | tuple[None, str, str]:
        """``(session_id, user_id, channel_id, timer seconds, timer text, status)`` of a valid event, else
        ``(None, reason, detail)``. Fast path: a message in the producer's canonical JSON shape (fixed key order,
        compact or ``json.dumps`` spacing) is matched by one regular expression that accepts exactly what the
        project schema and :func:`check_event` accept; anything else (other key order, whitespace, escapes,
        invalid) takes the full path through ``json`` and the schema validator, which also names the reason."""
        if fast and self._fast_ok:
            m = _CANONICAL_EVENT(raw)
            if m is not None:
                sid, uid, ch, day, hh, mi, ss, status = m.groups()
                midnight = self._days.get(day)
                if midnight is None:
                    midnight = self._day_midnight(day)
                if midnight >= 0:  # else not a real date (2023-02-30): the full path gives the reason
                    return (
                        sid,
                        int(uid),
                        int(ch),
                        midnight + int(hh) * 3600 + int(mi) * 60 + int(ss),
                        f"{day} {hh}:{mi}:{ss}",
                        status,
                    )
        event, reason, detail = validate_message(raw, self.schema_validator)
        if event is None:
            return None, reason, detail  # type: ignore[return-value]
        text = event["timer"]
        return event["session_id"], event["user_id"], event["channel_id"], parse_timer(text), text, event["status"]

    def _process_one(self, raw: str, now: float, arrival_iso: str, out: BatchResult) -> None:
        parsed = self._parse(raw)
        if parsed[0] is None:
            self._quarantine(out, parsed[1], guess_session_id(raw), raw, parsed[2], arrival_iso)
            return
        sid, user_id, channel_id, timer, text, status = parsed
        if self.watermark is None or timer > self.watermark:
            self.watermark = timer
        fp = fingerprint(sid, user_id, channel_id, text, status)
        entry = self.entries.get(sid)
        if entry is not None and fp in entry.fps:
            out.counters["duplicates_dropped"] += 1
            return
        if entry is None:
            self.seq += 1
            entry = self.entries[sid] = _Entry(timer, self.seq)
        elif timer > entry.t:
            entry.t = timer
        self.dirty.add(sid)
        out.events.append((sid, user_id, channel_id, text, status))
        entry.fps.append(fp)
        if len(entry.fps) > MAX_FINGERPRINTS_PER_SESSION:
            del entry.fps[0]

        channels = self.config.channels
        if channels is not None and channel_id not in channels:
            self._quarantine(out, UNKNOWN_CHANNEL, sid, raw, f"channel_id {channel_id}", arrival_iso)
            return

        bit = _STATUS_BIT[status]
        if entry.statuses & bit:
            state = "closed" if entry.closed else "pending"
            detail = f"session already has a different '{status}' ({state})"
            self._quarantine(out, CONFLICTING_DUPLICATE, sid, raw, detail, arrival_iso)
            return
        entry.statuses |= bit
        if entry.closed:
            # The partner was already closed (expired as unmatched): this half can never pair.
            late = UNMATCHED_START if status == "enabled" else UNMATCHED_END
            self._quarantine(out, late, sid, raw, "arrived after its session was closed (partner expired)", arrival_iso)
            return

        half = _Half(timer, user_id, channel_id, now, raw, text)
        if bit == 1:
            entry.start = half
            if entry.end is None:
                self.pending[sid] = None
                return
        else:
            entry.end = half
            if entry.start is None:
                self.pending[sid] = None
                return
        self.pending.pop(sid, None)
        self._close_pair(sid, entry, out, arrival_iso)

    def _close_pair(self, sid: str, entry: _Entry, out: BatchResult, arrival_iso: str) -> None:
        start, end = entry.start, entry.end
        assert start is not None and end is not None
        both_raw = start.raw + "\n" + end.raw
        entry.start = entry.end = None
        entry.closed = True
        if start.user_id != end.user_id or start.channel_id != end.channel_id:
            detail = (
                f"enabled user_id={start.user_id} channel_id={start.channel_id}; "
                f"disabled user_id={end.user_id} channel_id={end.channel_id}"
            )
            self._quarantine(out, CONFLICTING_PAIR, sid, both_raw, detail, arrival_iso)
            return
        if end.timer < start.timer:
            detail = f"end {format_timer(end.timer)} < start {format_timer(start.timer)}"
            self._quarantine(out, END_BEFORE_START, sid, both_raw, detail, arrival_iso)
            return
        out.sessions.append(
            Session(
                sid,
                start.user_id,
                start.channel_id,
                start.timer_text(),
                end.timer_text(),
                end.timer - start.timer,
            )
        )
        out.counters["sessions_out"] += 1

    def _expire(self, now: float, out: BatchResult) -> None:
        """Quarantine halves older than the event-time timeout (vs the watermark) that also waited the grace."""
        if self.watermark is None or not self.pending:
            return
        cfg = self.config
        oldest = self.watermark - cfg.timeout_s  # a half with timer < oldest is past the event-time timeout
        grace = cfg.grace_s
        expired: list[tuple[int, str, str, _Half]] = []
        entries = self.entries
        for sid in self.pending:
            entry = entries[sid]
            half = entry.start
            if half is not None and half.timer < oldest and now - half.arrival >= grace:
                expired.append((half.timer, sid, "enabled", half))
            half = entry.end
            if half is not None and half.timer < oldest and now - half.arrival >= grace:
                expired.append((half.timer, sid, "disabled", half))
        expired.sort(key=lambda x: (x[0], x[1], x[2]))
        for _timer, sid, status, half in expired:
            entry = entries[sid]
            reason = UNMATCHED_START if status == "enabled" else UNMATCHED_END
            if status == "enabled":
                entry.start = None
            else:
                entry.end = None
            entry.closed = True
            if entry.start is None and entry.end is None:
                self.pending.pop(sid, None)
            self.dirty.add(sid)
            detail = f"no partner within {cfg.timeout_s}s of event time (watermark {format_timer(self.watermark)})"
            self._quarantine(out, reason, sid, half.raw, detail, format_wallclock(half.arrival))
            out.counters["expired"] += 1

    def _cleanup(self) -> None:
        """Forget settled session ids (no pending half) whose latest event is older than the retention."""
        if self.watermark is None:
            return
        limit = self.watermark - self.config.retention_s
        stale = [sid for sid, e in self.entries.items() if e.t < limit and e.start is None and e.end is None]
        for sid in stale:
            del self.entries[sid]
        self.dirty.update(stale)

    def _evict(self, out: BatchResult) -> None:
        """Hard bound: drop the oldest entries (by event time, then insertion order) beyond max_entries.
        A pending half that is evicted is quarantined as unmatched (it could otherwise be lost silently)."""
        excess = len(self.entries) - self.config.max_entries
        if excess <= 0:
            return
        victims = heapq.nsmallest(excess, self.entries.items(), key=lambda kv: (kv[1].t, kv[1].seq))
        for sid, entry in victims:
            for reason, half in ((UNMATCHED_START, entry.start), (UNMATCHED_END, entry.end)):
                if half is not None:
                    self._quarantine(
                        out, reason, sid, half.raw, "evicted: state reached max entries", format_wallclock(half.arrival)
                    )
            del self.entries[sid]
            self.pending.pop(sid, None)
            self.dirty.add(sid)
            out.counters["evicted"] += 1

    def _add_totals(self, counters: dict[str, Any]) -> None:
        add_counters(self.totals, counters)

    # ------------------------------------------------------------------ introspection

    def pending_count(self) -> int:
        return len(self.pending)

    def stats(self) -> dict[str, Any]:
        return {
            "entries": len(self.entries),
            "pending": self.pending_count(),
            "watermark": format_timer(self.watermark) if self.watermark is not None else None,
            "totals": json.loads(json.dumps(self.totals)),
        }

    # ------------------------------------------------------------------ state

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "watermark": self.watermark,
            "seq": self.seq,
            "totals": self.totals,
            # sorted for a deterministic serialisation
            "entries": {sid: self.entries[sid].dump() for sid in sorted(self.entries)},
        }

    def copy(self) -> SessionPairer:
        """An independent copy (state and change set), to try a batch on without touching this pairer."""
        twin = SessionPairer.from_dict(self.to_dict(), self.config, self.schema_validator)
        twin.dirty = set(self.dirty)
        return twin

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(
        cls, text: str | None, config: PairerConfig | None = None, schema_validator: Callable | None = None
    ) -> SessionPairer:
        if not text:
            return cls(config, schema_validator)
        return cls.from_dict(json.loads(text), config, schema_validator)

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], config: PairerConfig | None = None, schema_validator: Callable | None = None
    ) -> SessionPairer:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported pairer state format: {data.get('format')!r}")
        pairer = cls(config, schema_validator)
        pairer._set_meta(data)
        pairer.entries = {sid: _Entry.load(v) for sid, v in data["entries"].items()}
        pairer.pending = {sid: None for sid, e in pairer.entries.items() if e.pending}
        return pairer

    def _set_meta(self, data: dict[str, Any]) -> None:
        self.watermark = data["watermark"]
        self.seq = int(data["seq"])
        totals = new_counters()
        for key in _COUNTER_KEYS:
            totals[key] = int(data["totals"].get(key, 0))
        totals["quarantined"].update({k: int(v) for k, v in data["totals"].get("quarantined", {}).items()})
        self.totals = totals

    def delta(self) -> dict[str, Any]:
        """What changed since the last :meth:`delta` (or :meth:`take_dirty`): the changed entries (None = forgotten)
        and the small fields in full. :meth:`apply_delta` of all deltas since a :meth:`to_dict` rebuilds the state."""
        return {
            "format": STATE_FORMAT,
            "watermark": self.watermark,
            "seq": self.seq,
            "totals": json.loads(json.dumps(self.totals)),
            "entries": self.take_dirty(),
        }

    def apply_delta(self, delta: dict[str, Any]) -> None:
        if delta.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported pairer delta format: {delta.get('format')!r}")
        self._set_meta(delta)
        entries, pending = self.entries, self.pending
        for sid, dump in delta["entries"].items():
            if dump is None:
                entries.pop(sid, None)
                pending.pop(sid, None)
                continue
            entry = entries[sid] = _Entry.load(dump)
            if entry.pending:
                pending[sid] = None
            else:
                pending.pop(sid, None)

    def to_state_map(self, compress: bool = True) -> dict[str, str]:
        """State as Map<String,String> for NiFi's StateManager: zlib+base64 JSON (ZooKeeper-friendly size)."""
        text = self.to_json()
        if compress:
            data = base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")
            return {"format": STATE_FORMAT, "codec": "zlib+base64", "data": data}
        return {"format": STATE_FORMAT, "codec": "json", "data": text}

    @classmethod
    def from_state_map(
        cls, state: dict[str, str] | None, config: PairerConfig | None = None, schema_validator: Callable | None = None
    ) -> SessionPairer:
        if not state or "data" not in state:
            return cls(config, schema_validator)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported pairer state format: {state.get('format')!r}")
        codec = state.get("codec", "json")
        if codec == "zlib+base64":
            text = zlib.decompress(base64.b64decode(state["data"])).decode("utf-8")
        elif codec == "json":
            text = state["data"]
        else:
            raise ValueError(f"unknown state codec {codec!r}")
        return cls.from_json(text, config, schema_validator)


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


def parse_channel_catalog(spec: str | None) -> frozenset[int] | None:
    """``"1,2,5-9"`` -> {1,2,5,6,7,8,9}; None/blank -> None (no check)."""
    if spec is None or not spec.strip():
        return None
    ids: set[int] = set()
    for part in spec.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            if hi < lo or hi - lo > 1_000_000:
                raise ValueError(f"bad channel range {part!r}")
            ids.update(range(lo, hi + 1))
        else:
            ids.add(int(part))
    return frozenset(ids)


def load_channel_catalog_file(path: str) -> frozenset[int]:
    """Channel ids from a file: first comma-separated column of each line; a non-numeric first line (header)
    and blank lines are skipped."""
    ids: set[int] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            cell = line.split(",", 1)[0].strip()
            if not cell:
                continue
            try:
                ids.add(int(cell))
            except ValueError:
                if n == 0:
                    continue
                raise ValueError(f"{path}:{n + 1}: not a channel id: {cell!r}") from None
    return frozenset(ids)
