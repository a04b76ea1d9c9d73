"""The session pairer: pairs the ``enabled`` and ``disabled`` events of each ``session_id`` into sessions, by
the rules of docs/session-pairing.md (stdlib only, no NiFi imports).

:class:`SessionPairer` is fed batches of raw messages (:meth:`SessionPairer.process_batch`) and returns what
each produced (batch_result.BatchResult); what it remembers between batches, and how that is saved and restored,
is its base class pairer_state.PairerState. Wall-clock ``now`` values are POSIX seconds supplied by the caller
(the pairer never reads the clock itself, so it is deterministic under test).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

try:  # package import (tests)
    from iptv_sessions.batch_result import BatchResult, Session, add_counters, new_counters, quarantine
    from iptv_sessions.event_contract import (
        check_envelope,
        describe_error,
        fingerprint,
        format_timer,
        format_wallclock,
        guess_session_id,
        parse_timer,
        validate_message,
    )
    from iptv_sessions.fast_path import match_canonical_event
    from iptv_sessions.fast_path import midnight as midnight_of_day
    from iptv_sessions.pairer_state import PairerState, PendingHalf, SessionEntry
    from iptv_sessions.quarantine_reasons import (
        CONFLICTING_DUPLICATE,
        CONFLICTING_PAIR,
        END_BEFORE_START,
        INVALID_JSON,
        PROCESSING_ERROR,
        UNKNOWN_CHANNEL,
        UNMATCHED_END,
        UNMATCHED_START,
    )
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from batch_result import BatchResult, Session, add_counters, new_counters, quarantine
    from event_contract import (
        check_envelope,
        describe_error,
        fingerprint,
        format_timer,
        format_wallclock,
        guess_session_id,
        parse_timer,
        validate_message,
    )
    from fast_path import match_canonical_event
    from fast_path import midnight as midnight_of_day
    from pairer_state import PairerState, PendingHalf, SessionEntry
    from quarantine_reasons import (
        CONFLICTING_DUPLICATE,
        CONFLICTING_PAIR,
        END_BEFORE_START,
        INVALID_JSON,
        PROCESSING_ERROR,
        UNKNOWN_CHANNEL,
        UNMATCHED_END,
        UNMATCHED_START,
    )

MAX_FINGERPRINTS_PER_SESSION = 32
#: What became of one message (SessionPairer.process_batch ``outcomes``): landed as a distinct valid event (even if
#: a pairing rule quarantines it later), rejected (quarantined instead: not JSON, invalid, an error), or dropped as
#: an identical duplicate.
LANDED, REJECTED, DUPLICATE = 0, 1, 2
#: The bit of each status in SessionEntry.statuses (which halves a session has seen).
STATUS_BIT = {"enabled": 1, "disabled": 2}


@dataclass(frozen=True)
class PairerConfig:
    """Tuning of :class:`SessionPairer`. ``channels=None`` disables the channel-catalog check."""

    timeout_s: int = 12 * 3600  # event-time wait for the partner of a half
    grace_s: float = 300.0  # wall-clock wait since a half arrived, on top of timeout_s
    retention_s: int = 24 * 3600  # event time a closed session is remembered past its end
    max_entries: int = 1_000_000  # hard bound on remembered session ids (pending + closed), ~0.6-0.9 KB each
    channels: frozenset[int] | None = None
    # Bounds of a timer against its Kafka record's timestamp (event_contract.check_envelope): a box's clock may
    # run a little ahead; history (a backfill, a box that was offline) may be weeks old.
    max_timer_lead_s: int = 2 * 86400
    max_timer_lag_s: int = 366 * 86400

    def __post_init__(self) -> None:
        if self.timeout_s < 0 or self.grace_s < 0 or self.retention_s < 0:
            raise ValueError("timeout, grace and retention must be >= 0")
        if self.max_timer_lead_s < 0 or self.max_timer_lag_s < 0:
            raise ValueError("the timer's lead and lag bounds must be >= 0")
        if self.max_entries < 1:
            raise ValueError("max_entries must be >= 1")


class SessionPairer(PairerState):
    """Pairs viewing events into sessions. Feed batches with :meth:`process_batch`; persist with
    :meth:`to_json` / :meth:`to_state_map` and restore with :meth:`from_json` / :meth:`from_state_map`
    (``SessionPairer.from_json(text, config, schema_validator)``).

    Not thread-safe: one pairer (one NiFi concurrent task) per state.
    """

    def __init__(self, config: PairerConfig | None = None, schema_validator: Callable | None = None) -> None:
        super().__init__()
        self.config = config or PairerConfig()
        self.schema_validator = schema_validator
        # The regex fast path is only sound when validation is the project's own contract.
        self._fast_ok = schema_validator is None or bool(getattr(schema_validator, "canonical_fast_path", False))
        self._days: dict[str, int] = {}  # 'YYYY-MM-DD' -> its midnight in epoch seconds, -1 if not a real date

    @property
    def fast_path(self) -> bool:
        """Whether the regex fast paths may be used (validation is the project's own contract)."""
        return self._fast_ok

    def copy(self) -> SessionPairer:
        """An independent copy (state and change set), to try a batch on without touching this pairer."""
        twin = SessionPairer.from_dict(self.to_dict(), self.config, self.schema_validator)
        twin.dirty = set(self.dirty)
        return twin

    def process_batch(
        self,
        messages: Iterable[str | bytes],
        now: float,
        tick: bool = False,
        envelopes: Sequence[tuple[str | None, int] | None] | None = None,
        outcomes: list[int] | None = None,
    ) -> BatchResult:
        """Process raw messages in arrival order, then expire / clean up / evict. ``now``: wall clock (POSIX s),
        used as the arrival time of every message in the batch and for the grace check. ``envelopes[i]``: the
        Kafka ``(key, timestamp_ms)`` of ``messages[i]`` (event_contract.check_envelope), or None where the batch
        line carried none (then no key or timer-bound check). Empty and whitespace-only messages are quarantined.
        ``tick`` only marks the call in the counters: an empty batch already runs the expiry.
        ``outcomes``, when given, gets one code per message (:data:`LANDED`, :data:`REJECTED` or
        :data:`DUPLICATE`): what became of it, for the ingestion's per-partition accounting."""
        out = BatchResult(counters=new_counters())
        if tick:
            out.counters["ticks"] += 1
        arrival_iso = format_wallclock(now)
        process_message = self.process_message
        n_in = 0
        for raw in messages:
            envelope = envelopes[n_in] if envelopes is not None else None
            n_in += 1
            outcome = process_message(raw, envelope, now, arrival_iso, out)
            if outcomes is not None:
                outcomes.append(outcome)
        out.counters["events_in"] += n_in
        self.finish_batch(now, out)
        return out

    def process_message(
        self, raw: str | bytes, envelope: tuple[str | None, int] | None, now: float, arrival_iso: str, out: BatchResult
    ) -> int:
        """One message of a batch (see :meth:`process_batch`) into ``out``; returns its outcome code."""
        if not isinstance(raw, str):
            raw = raw.decode("utf-8", errors="surrogateescape")  # undecodable bytes kept for the quarantine
        whole = raw
        if raw[-1:] in ("\r", "\n"):  # a trailing line break: the event is the text before it
            raw = raw.rstrip("\r\n")
        if not raw or (raw[0] != "{" and not raw.strip()):
            self._quarantine(out, INVALID_JSON, None, whole, "empty message", arrival_iso)
            return REJECTED
        landed_before, dropped_before = len(out.events), out.counters["duplicates_dropped"]
        try:
            self._process_one(raw, now, arrival_iso, out, envelope, whole)
        except Exception as exc:  # noqa: BLE001 - no content of one message may fail the batch around it
            sid = guess_session_id(raw)
            detail = describe_error(exc)
            self._quarantine(out, PROCESSING_ERROR, sid, whole, detail, arrival_iso)
        if len(out.events) > landed_before:
            return LANDED
        if out.counters["duplicates_dropped"] > dropped_before:
            return DUPLICATE
        return REJECTED

    def finish_batch(self, now: float, out: BatchResult) -> None:
        """End of a batch, after all its messages: expiry, retention clean-up, eviction, running totals."""
        self._expire(now, out)
        self._cleanup()
        self._evict(out)
        add_counters(self.totals, out.counters)

    _quarantine = staticmethod(quarantine)

    def _day_midnight(self, day: str) -> int:
        midnight = midnight_of_day(day)
        if len(self._days) > 4096:  # bounded: a stream of distinct (bad) dates cannot grow it
            self._days.clear()
        self._days[day] = midnight
        return midnight

    def _parse(self, raw: str, fast: bool = True) -> tuple[str, int, int, int, str, str] | tuple[None, str, str]:
        """``(session_id, user_id, channel_id, timer seconds, timer text, status)`` of a valid event, else
        ``(None, reason, detail)``. Fast path: a message in the producer's canonical JSON shape (fixed key order,
        compact or ``json.dumps`` spacing) is matched by one regular expression that accepts exactly what the
        project schema and event_contract.check_event accept; anything else (other key order, whitespace, escapes,
        invalid) takes the full path through ``json`` and the schema validator, which also names the reason."""
        if fast and self._fast_ok:
            m = match_canonical_event(raw)
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
        return (
            event["session_id"],
            event["user_id"],
            event["channel_id"],
            parse_timer(text),
            text,
            event["status"],
        )

    def _process_one(
        self,
        raw: str,
        now: float,
        arrival_iso: str,
        out: BatchResult,
        envelope: tuple[str | None, int] | None = None,
        whole: str | None = None,
    ) -> None:
        """One message: ``raw`` without a trailing line break, ``whole`` the message as it came (for a quarantine
        record of a message that is no valid event; None: the same as ``raw``)."""
        parsed = self._parse(raw)
        if parsed[0] is None:
            self._quarantine(out, parsed[1], guess_session_id(raw), whole or raw, parsed[2], arrival_iso)
            return
        sid, user_id, channel_id, timer, text, status = parsed
        if envelope is not None:
            cfg = self.config
            problem = check_envelope(sid, timer, envelope, cfg.max_timer_lead_s, cfg.max_timer_lag_s)
            if problem is not None:
                self._quarantine(out, problem[0], sid, whole or raw, problem[1], arrival_iso)
                return
        if self.watermark is None or timer > self.watermark:
            self.watermark = timer
        self._pair_event(sid, user_id, channel_id, timer, text, status, raw, now, arrival_iso, out)

    def _pair_event(
        self,
        sid: str,
        user_id: int,
        channel_id: int,
        timer: int,
        text: str,
        status: str,
        raw: str,
        now: float,
        arrival_iso: str,
        out: BatchResult,
    ) -> None:
        """A valid event (its envelope checked, the watermark moved) against the session's entry: deduplication
        and the pairing rules. ``raw``: the message without a trailing line break."""
        # Common case also in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
        fp = fingerprint(sid, user_id, channel_id, text, status)
        entry = self.entries.get(sid)
        if entry is not None and fp in entry.fps:
            out.counters["duplicates_dropped"] += 1
            return
        if entry is None:
            self.seq += 1
            entry = self.entries[sid] = SessionEntry(timer, self.seq)
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

        bit = STATUS_BIT[status]
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

        half = PendingHalf(timer, user_id, channel_id, now, raw, text)
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

    def _close_pair(self, sid: str, entry: SessionEntry, out: BatchResult, arrival_iso: str) -> None:
        # Clean case also in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
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
        expired: list[tuple[int, str, str, PendingHalf]] = []
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
            watermark = format_timer(self.watermark)
            detail = f"no partner within {cfg.timeout_s}s of event time (watermark {watermark})"
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
        """Hard bound: drop entries beyond max_entries, the closed ones first, then pending ones, each oldest
        first (by event time, then insertion order). Forgetting a closed session only lets a later redelivery of
        both its events through again; an evicted pending half is a session that would still have formed, so it
        goes last, and is quarantined as unmatched (it could otherwise be lost silently). By age alone the victims
        would be the longest-running views of a busy evening, whose start is the oldest event time held."""
        excess = len(self.entries) - self.config.max_entries
        if excess <= 0:
            return
        entries, pending = self.entries, self.pending

        def age(sid: str) -> tuple[int, int]:
            return entries[sid].t, entries[sid].seq

        victims = heapq.nsmallest(excess, (sid for sid in entries if sid not in pending), key=age)
        if len(victims) < excess:
            victims += heapq.nsmallest(excess - len(victims), pending, key=age)
        for sid in victims:
            entry = entries[sid]
            for reason, half in (
                (UNMATCHED_START, entry.start),
                (UNMATCHED_END, entry.end),
            ):
                if half is not None:
                    self._quarantine(
                        out,
                        reason,
                        sid,
                        half.raw,
                        "evicted: state reached max entries",
                        format_wallclock(half.arrival),
                    )
            del self.entries[sid]
            self.pending.pop(sid, None)
            self.dirty.add(sid)
            out.counters["evicted"] += 1
