"""What one batch of the pairer produces: the sessions it formed, its distinct valid events, its quarantine
records and its counters (stdlib only)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

try:  # package import (tests)
    from iptv_sessions.lake_datasets import require_columns
    from iptv_sessions.quarantine_reasons import REASONS
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from lake_datasets import require_columns
    from quarantine_reasons import REASONS

COUNTER_KEYS = ("events_in", "sessions_out", "duplicates_dropped", "evicted", "expired", "ticks")


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


#: The order of the fields of an event tuple of BatchResult.events (plain tuples on the hot path: a NamedTuple
#: costs 20 times as much to create), as the pairer builds them and flowfile_formats writes them.
EVENT_TUPLE = ("session_id", "user_id", "channel_id", "timer", "status")
#: What this code writes must be the definition's columns (schemas/datasets.json): checked here, at import.
SESSION_COLUMNS = require_columns("sessions", Session._fields, "batch_result.Session")
EVENT_COLUMNS = require_columns("viewing_events", EVENT_TUPLE, "batch_result.EVENT_TUPLE")


@dataclass
class BatchResult:
    """What one SessionPairer.process_batch call produced, in deterministic order."""

    sessions: list[Session] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)
    #: Distinct valid events of the batch (schema-valid, not an identical duplicate), in arrival order. Includes
    #: events that are quarantined later by a pairing rule (unknown channel, conflicts, unmatched): they are
    #: valid events of the stream, landed in viewing_events.
    #: Each is a tuple ``(session_id, user_id, channel_id, timer, status)`` (EVENT_TUPLE: dataset viewing_events).
    events: list[tuple[str, int, int, str, str]] = field(default_factory=list)

    def sessions_csv(self) -> str:
        """Headerless CSV: session_id,user_id,channel_id,time_start,time_end,duration_s (one line per session)."""
        return "".join(s.as_csv_line() + "\n" for s in self.sessions)

    def quarantine_ndjson(self) -> str:
        return "".join(json.dumps(q, ensure_ascii=False, separators=(",", ":")) + "\n" for q in self.quarantine)


def new_counters() -> dict[str, Any]:
    counters: dict[str, Any] = {k: 0 for k in COUNTER_KEYS}
    counters["quarantined"] = {r: 0 for r in REASONS}
    return counters


def add_counters(into: dict[str, Any], counters: dict[str, Any]) -> None:
    for key in COUNTER_KEYS:
        into[key] += counters[key]
    for reason, n in counters["quarantined"].items():
        into["quarantined"][reason] = into["quarantined"].get(reason, 0) + n


def quarantine(out: BatchResult, reason: str, sid: str | None, raw: str, detail: str, arrival_iso: str) -> None:
    """Add one quarantine record (and count it) to ``out``."""
    out.quarantine.append(
        {"reason": reason, "session_id": sid, "raw": raw, "detail": detail, "arrival_ts": arrival_iso}
    )
    out.counters["quarantined"][reason] += 1
