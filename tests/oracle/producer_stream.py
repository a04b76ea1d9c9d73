"""What the producer's stream must hold, worked out from its truth file and fault manifest alone -- not from
producer.events, so a wrong simulation, rendering or acceptance rule shows in the tests that use it.

Every session of the truth file is two events: ``enabled`` at time_start and ``disabled`` at time_end, on its
channel. A fault adds to those the messages of its manifest entry by the rules of producer/faults.py's docstring,
written out again here (:data:`ADDS`); the kinds whose session does not form are missing from the truth file.
Messages are compared byte for byte in the wire format (:data:`WIRE`), events as tuples of strings in the order
of :data:`EVENT_FIELDS`.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

EVENT_FIELDS = ("session_id", "user_id", "channel_id", "timer", "status")
Event = tuple[str, ...]

#: What each fault kind adds to the truth's events: "messages" -- all its manifest messages (a session of its own
#: or a fresh id); "repeat" -- one more copy of its message (the byte-identical duplicate); "quarantined" -- the
#: second, other-channel event; "nothing" -- the truth's own two events, only sent in another order.
ADDS = {
    "exact_duplicate": "repeat",
    "out_of_order": "nothing",
    "unmatched_start": "messages",
    "unmatched_end": "messages",
    "conflicting_duplicate": "quarantined",
    "invalid_json": "messages",
    "invalid_schema": "messages",
    "unknown_channel": "messages",
    "end_before_start": "messages",
}
#: Kinds whose added messages are well-formed events (the flow keeps them in viewing_events and quarantines the
#: sessions, not the events); the others add messages that are no event at all.
EVENT_KINDS = frozenset(
    {"unmatched_start", "unmatched_end", "conflicting_duplicate", "unknown_channel", "end_before_start"}
)
#: Kinds that take the picked session out of the truth file (invalid_json and invalid_schema use a fresh id).
LOST_KINDS = frozenset({"unmatched_start", "unmatched_end", "unknown_channel", "end_before_start"})


#: The wire formats, written out by hand: compact JSON in field order (Kafka) and headerless CSV (HDFS).
WIRE = {
    "json": '{{"session_id":"{0}","user_id":{1},"channel_id":{2},"timer":"{3}","status":"{4}"}}',
    "csv": "{0},{1},{2},{3},{4}",
}


def truth_events(path: str | Path) -> list[Event]:
    """The two events of every session of a truth file (CSV with a header line)."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: list[Event] = []
    for r in rows:
        ids = (r["session_id"], r["user_id"], r["channel_id"])
        out += [(*ids, r["time_start"], "enabled"), (*ids, r["time_end"], "disabled")]
    return out


def truth_sessions(path: str | Path) -> int:
    with Path(path).open(encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def event_of(raw: str | bytes) -> Event:
    """The event of a well-formed JSON message."""
    obj = json.loads(raw)
    return tuple(str(obj[k]) for k in EVENT_FIELDS)


def added_messages(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, raw message) of every message the faults add to the truth's events."""
    out = []
    for e in entries:
        adds = ADDS.get(e["kind"], "messages")
        if adds == "messages":
            out += [(e["kind"], m) for m in e["messages"]]
        elif adds == "repeat":
            out.append((e["kind"], e["messages"][0]))
        elif adds == "quarantined":
            out.append((e["kind"], e["quarantined"]))
    return out


def stream(truth: str | Path, entries: list[dict[str, Any]] = (), fmt: str = "json") -> Counter[str]:
    """Every message the producer must send, byte for byte, with multiplicity."""
    out = Counter(WIRE[fmt].format(*e) for e in truth_events(truth))
    out.update(raw for _kind, raw in added_messages(list(entries)))
    return out


def distinct_valid_events(truth: str | Path, entries: list[dict[str, Any]]) -> set[Event]:
    """The distinct well-formed events of the stream: what viewing_events must hold, each once."""
    out = set(truth_events(truth))
    out.update(event_of(raw) for kind, raw in added_messages(entries) if kind in EVENT_KINDS)
    return out
