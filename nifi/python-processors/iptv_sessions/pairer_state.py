"""What a session pairer remembers between batches, and its serialisations (stdlib only).

:class:`PairerState` holds, per session id, a :class:`SessionEntry` (its pending halves, whether it is closed, the
fingerprints of its events), plus the event-time watermark and the running totals. It round-trips through a dict
(:meth:`~PairerState.to_dict` / :meth:`~PairerState.from_dict`, the journal's snapshot), JSON, NiFi's state map
(:meth:`~PairerState.to_state_map`) and incremental deltas (:meth:`~PairerState.delta` /
:meth:`~PairerState.apply_delta`, the journal's records). session_pairer.SessionPairer adds the pairing rules to it.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, TypeVar

try:  # package import (tests)
    from iptv_sessions.batch_result import COUNTER_KEYS, new_counters
    from iptv_sessions.event_contract import format_timer
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from batch_result import COUNTER_KEYS, new_counters
    from event_contract import format_timer

STATE_FORMAT = "iptv-session-pairer/1"

_State = TypeVar("_State", bound="PairerState")


class PendingHalf:
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
    def load(cls, data: list) -> PendingHalf:
        return cls(int(data[0]), int(data[1]), int(data[2]), float(data[3]), str(data[4]))


class SessionEntry:
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
        self.start: PendingHalf | None = None
        self.end: PendingHalf | None = None

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
    def load(cls, data: list) -> SessionEntry:
        entry = cls(int(data[0]), int(data[1]))
        entry.statuses = int(data[2])
        entry.closed = bool(data[3])
        entry.fps = [str(f) for f in data[4]]
        entry.start = PendingHalf.load(data[5]) if data[5] else None
        entry.end = PendingHalf.load(data[6]) if data[6] else None
        return entry

    @property
    def pending(self) -> bool:
        return self.start is not None or self.end is not None


class PairerState:
    """The remembered state of a pairer. The ``from_*`` constructors pass ``args`` on to the class's constructor
    (for a SessionPairer: its config and schema validator, which are not part of the state)."""

    def __init__(self) -> None:
        self.watermark: int | None = None  # max event time seen (valid events)
        self.seq = 0
        self.entries: dict[str, SessionEntry] = {}
        self.totals = new_counters()
        #: Session ids with a pending half (insertion-ordered set): expiry scans these, not every entry.
        self.pending: dict[str, None] = {}
        #: Session ids whose entry changed or was removed since :meth:`take_dirty` (incremental state saves).
        self.dirty: set[str] = set()

    def take_dirty(self) -> dict[str, list | None]:
        """Entries changed since the last call, dumped (None = forgotten), and reset the change set."""
        entries = self.entries
        out = {sid: (entries[sid].dump() if sid in entries else None) for sid in self.dirty}
        self.dirty = set()
        return out

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

    # ------------------------------------------------------------------ dict and JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "watermark": self.watermark,
            "seq": self.seq,
            "totals": self.totals,
            # sorted for a deterministic serialisation
            "entries": {sid: self.entries[sid].dump() for sid in sorted(self.entries)},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls: type[_State], text: str | None, *args: Any) -> _State:
        if not text:
            return cls(*args)
        return cls.from_dict(json.loads(text), *args)

    @classmethod
    def from_dict(cls: type[_State], data: dict[str, Any], *args: Any) -> _State:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported pairer state format: {data.get('format')!r}")
        state = cls(*args)
        state._set_meta(data)
        state.entries = {sid: SessionEntry.load(v) for sid, v in data["entries"].items()}
        state.pending = {sid: None for sid, e in state.entries.items() if e.pending}
        return state

    def _set_meta(self, data: dict[str, Any]) -> None:
        self.watermark = data["watermark"]
        self.seq = int(data["seq"])
        totals = new_counters()
        for key in COUNTER_KEYS:
            totals[key] = int(data["totals"].get(key, 0))
        totals["quarantined"].update({k: int(v) for k, v in data["totals"].get("quarantined", {}).items()})
        self.totals = totals

    # ------------------------------------------------------------------ deltas

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
            entry = entries[sid] = SessionEntry.load(dump)
            if entry.pending:
                pending[sid] = None
            else:
                pending.pop(sid, None)

    # ------------------------------------------------------------------ NiFi state map

    def to_state_map(self, compress: bool = True) -> dict[str, str]:
        """State as Map<String,String> for NiFi's StateManager: zlib+base64 JSON (ZooKeeper-friendly size)."""
        text = self.to_json()
        if compress:
            data = base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")
            return {"format": STATE_FORMAT, "codec": "zlib+base64", "data": data}
        return {"format": STATE_FORMAT, "codec": "json", "data": text}

    @classmethod
    def from_state_map(cls: type[_State], state: dict[str, str] | None, *args: Any) -> _State:
        if not state or "data" not in state:
            return cls(*args)
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported pairer state format: {state.get('format')!r}")
        codec = state.get("codec", "json")
        if codec == "zlib+base64":
            text = zlib.decompress(base64.b64decode(state["data"])).decode("utf-8")
        elif codec == "json":
            text = state["data"]
        else:
            raise ValueError(f"unknown state codec {codec!r}")
        return cls.from_json(text, *args)
