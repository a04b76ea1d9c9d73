"""The pairer's fast path over a whole consumer batch (stdlib only, no NiFi imports).

The CPU cost of PairViewingEvents is CPython's work per event, so the common case is done with as little of it as
possible: one regular expression over the decompressed batch reads every line of the current format whose Kafka key
is its message's session_id and whose message is in the producer's canonical shape (fast_path.py: the same pattern,
so the same messages), and one loop applies the processed offsets, the timer checks, deduplication and pairing to
it, writing the output lines directly instead of building records first. Two cases are done there: the first half
of a new session, and the second half that closes its session cleanly (same user and channel, end >= start).

Everything else goes, in its place in the batch, through the per-message code: a line of another shape (first
format, escapes, another key, not a batch line) through flowfile_formats.read_batch and
session_pairer.SessionPairer.process_message, a canonical line with an impossible date or a timer outside its
bounds through process_message, and any other pairing case (unknown channel, a conflict, a partner already closed)
through SessionPairer._pair_event. So the result is that of read_batch + SessionPairer.process_batch, byte for byte
and state for state (tests/unit/test_batch_fast_path.py); ingestion.IngestState uses this only while the pairer's
own fast path is on (validation is the project's own contract).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from hashlib import blake2b
from typing import Any

try:  # package import (tests)
    from iptv_sessions.batch_result import BatchResult
    from iptv_sessions.event_contract import format_timer
    from iptv_sessions.fast_path import DAY_PATTERN, canonical_event_pattern
    from iptv_sessions.flowfile_formats import EVENTS, SESSIONS, read_batch
    from iptv_sessions.pairer_state import PendingHalf, SessionEntry
    from iptv_sessions.session_pairer import MAX_FINGERPRINTS_PER_SESSION, STATUS_BIT
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from batch_result import BatchResult
    from event_contract import format_timer
    from fast_path import DAY_PATTERN, canonical_event_pattern
    from flowfile_formats import EVENTS, SESSIONS, read_batch
    from pairer_state import PendingHalf, SessionEntry
    from session_pairer import MAX_FINGERPRINTS_PER_SESSION, STATUS_BIT

#: One batch line: either ``<partition>\t<offset>@<timestamp_ms>\t=<key>\t<canonical message>`` with the key equal
#: to the session_id (a back-reference), groups partition, offset, timestamp, session_id, message, user_id,
#: channel_id, timer, its day, status; or any other non-empty line, as the last group. ASCII digits only: int()
#: would also take other digits, signs and underscores, which read_batch then handles. At most 19 digits (Kafka's
#: partitions, offsets and timestamps fit in 64 bits): int() raises ValueError on more than 4,300 digits, which would
#: fail the whole batch here, whereas read_batch quarantines such a line as malformed.
BATCH_LINE = re.compile(
    r"^(?:([0-9]{1,19})\t([0-9]{1,19})@(-?[0-9]{1,19})\t=([0-9a-f]{32})\t("
    + canonical_event_pattern(r"\4", "((" + DAY_PATTERN + ")", r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])")
    + r")|(.+))$",
    re.MULTILINE,
)
#: Characters of batch text matched at a time (about 1,400 lines).
CHUNK_CHARS = 1 << 18
#: The status bits as plain names: a comparison in the loop instead of a dict lookup per event.
ENABLED_BIT, DISABLED_BIT = STATUS_BIT["enabled"], STATUS_BIT["disabled"]
#: Where a message's outcome (session_pairer LANDED, REJECTED, DUPLICATE = 0, 1, 2) is counted in a partition's
#: stats ``[first offset, last offset, landed, rejected, duplicates]``.
OUTCOME_BASE = 2


class BatchPass:
    """What :func:`pair_batch` produced besides ``out``: the output lines of events and sessions by section, the
    per-partition accounting stats, the redeliveries skipped per partition, the malformed lines and the number of
    messages handed to the pairer."""

    __slots__ = ("lines", "stats", "redelivered", "malformed", "messages")

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], list[str]] = {}
        self.stats: dict[int, list] = {}
        self.redelivered: dict[int, int] = {}
        self.malformed: list[str] = []
        self.messages = 0


def pair_batch(
    pairer: Any, offsets: dict[int, Any], new_ranges: Any, text: str, now: float, arrival_iso: str, out: BatchResult
) -> BatchPass:
    """Pair the lines of one batch (``text``, decoded as flowfile_formats.batch_text does) into ``out`` (its
    quarantine records and counters; its events and sessions end up in the returned lines), skipping and recording
    Kafka offsets in ``offsets`` (partition -> ingestion.OffsetRanges, new ones made by ``new_ranges()``). The
    caller then runs ``pairer.finish_batch`` (expiry etc.), as SessionPairer.process_batch does."""
    result = BatchPass()
    stats, redelivered, malformed = result.stats, result.redelivered, result.malformed
    events_by_day: dict[str, list[str]] = {}
    sessions_by_day: dict[str, list[str]] = {}
    slots: dict[str, list] = {}  # partition as written -> [OffsetRanges, stats, partition]

    def slot_of(partition: int) -> list:
        ranges = offsets.get(partition)
        if ranges is None:
            ranges = offsets[partition] = new_ranges()
        st = stats.get(partition)
        if st is None:
            st = stats[partition] = [math.inf, -math.inf, 0, 0, 0]
        return [ranges, st, partition]

    entries, pending = pairer.entries, pairer.pending
    entries_get, dirty_add = entries.get, pairer.dirty.add
    days, day_midnight = pairer._days, pairer._day_midnight
    channels = pairer.config.channels
    channel_ok: dict[str, bool] = {}  # channel_id as written -> in the catalog
    lead, lag = pairer.config.max_timer_lead_s, pairer.config.max_timer_lag_s
    process_message, pair_event = pairer.process_message, pairer._pair_event
    new_hasher = blake2b(digest_size=8).copy
    timers: dict[str, int] = {}  # timer text -> seconds, for the real dates of this batch
    no_watermark = watermark = -(1 << 80)  # below any timer (year 1 is about -6.2e10 s)
    seq = pairer.seq
    messages = duplicates = sessions_out = 0

    for rows in _chunks(text):
        for p, o, ts, sid, msg, uid, ch, timer_text, day, status, other_line in rows:
            if other_line:
                items, bad = read_batch(other_line)
                if bad:
                    malformed.append(other_line)
                    continue
                partition, offset, message, envelope = items[0]
                ranges, st, _ = slot_of(partition)
                if ranges.contains(offset):
                    redelivered[partition] = redelivered.get(partition, 0) + 1
                    continue
                ranges.add(offset)
                _take(st, offset)
                messages += 1
                pairer.seq = seq
                st[OUTCOME_BASE + process_message(message, envelope, now, arrival_iso, out)] += 1
                seq = pairer.seq
                _flush(out, events_by_day, sessions_by_day)
                continue

            slot = slots.get(p)
            if slot is None:
                slot = slots[p] = slot_of(int(p))
            ranges, st, partition = slot
            offset = int(o)
            rs = ranges.ranges
            if rs and rs[-1][1] + 1 == offset:  # the usual case: the next offset of the partition
                rs[-1][1] = offset
            elif ranges.contains(offset):
                redelivered[partition] = redelivered.get(partition, 0) + 1
                continue
            else:
                ranges.add(offset)
            if offset < st[0]:
                st[0] = offset
            if offset > st[1]:
                st[1] = offset
            messages += 1

            # the timer: a real date, within its bounds around the record's timestamp (event_contract.check_envelope)
            timer = timers.get(timer_text)
            if timer is None:
                midnight = days.get(day)
                if midnight is None:
                    midnight = day_midnight(day)
                if midnight >= 0:
                    clock = timer_text[11:]
                    timer = timers[timer_text] = (
                        midnight + int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:])
                    )
            timestamp_ms = int(ts)
            if timer is None or (
                timestamp_ms >= 0 and not (t := timestamp_ms // 1000) - lag <= timer <= t + lead
            ):  # the full path gives the reason
                pairer.seq = seq
                st[OUTCOME_BASE + process_message(msg, (sid, timestamp_ms), now, arrival_iso, out)] += 1
                seq = pairer.seq
                _flush(out, events_by_day, sessions_by_day)
                continue
            if timer > watermark:
                watermark = timer

            hasher = new_hasher()  # event_contract.fingerprint, without parsing the constructor's arguments
            hasher.update(f"{sid}|{uid}|{ch}|{timer_text}|{status}".encode())
            fp = hasher.hexdigest()
            entry = entries_get(sid)
            if entry is not None and fp in entry.fps:
                duplicates += 1
                st[4] += 1
                continue
            known = channels is None or channel_ok.get(ch)
            if known is None:
                if len(channel_ok) > 65536:
                    channel_ok.clear()
                known = channel_ok[ch] = int(ch) in channels
            bit = ENABLED_BIT if status == "enabled" else DISABLED_BIT
            if known:
                if entry is None:  # the first half of a new session
                    seq += 1
                    entry = entries[sid] = SessionEntry(timer, seq)
                    dirty_add(sid)
                    lines = events_by_day.get(day)
                    if lines is None:
                        lines = events_by_day[day] = []
                    lines.append(f"{sid},{uid},{ch},{timer_text},{status}\n")
                    entry.fps.append(fp)
                    entry.statuses = bit
                    half = PendingHalf(timer, int(uid), int(ch), now, msg, timer_text)
                    if bit == ENABLED_BIT:
                        entry.start = half
                    else:
                        entry.end = half
                    pending[sid] = None
                    st[2] += 1
                    continue
                if not entry.statuses & bit and not entry.closed:
                    partner = entry.end if bit == ENABLED_BIT else entry.start
                    if (
                        partner is not None
                        and partner.user_id == int(uid)
                        and partner.channel_id == int(ch)
                        and (partner.timer >= timer if bit == ENABLED_BIT else timer >= partner.timer)
                    ):  # the second half, closing its session cleanly
                        if timer > entry.t:
                            entry.t = timer
                        dirty_add(sid)
                        lines = events_by_day.get(day)
                        if lines is None:
                            lines = events_by_day[day] = []
                        lines.append(f"{sid},{uid},{ch},{timer_text},{status}\n")
                        fps = entry.fps
                        fps.append(fp)
                        if len(fps) > MAX_FINGERPRINTS_PER_SESSION:
                            del fps[0]
                        entry.statuses |= bit
                        entry.start = entry.end = None
                        entry.closed = True
                        pending.pop(sid, None)
                        partner_text = partner.text if partner.text is not None else format_timer(partner.timer)
                        if bit == ENABLED_BIT:
                            start, end, duration = timer_text, partner_text, partner.timer - timer
                        else:
                            start, end, duration = partner_text, timer_text, timer - partner.timer
                        lines = sessions_by_day.get(start[:10])
                        if lines is None:
                            lines = sessions_by_day[start[:10]] = []
                        lines.append(f"{sid},{uid},{ch},{start},{end},{duration}\n")
                        sessions_out += 1
                        st[2] += 1
                        continue
            # any other case of the pairing rules: the event lands (it is no duplicate), the rules decide the rest
            pairer.seq = seq
            pair_event(sid, int(uid), int(ch), timer, timer_text, status, msg, now, arrival_iso, out)
            seq = pairer.seq
            st[2] += 1
            _flush(out, events_by_day, sessions_by_day)

    pairer.seq = seq
    if watermark != no_watermark and (pairer.watermark is None or watermark > pairer.watermark):
        pairer.watermark = watermark
    counters = out.counters
    counters["events_in"] += messages
    counters["duplicates_dropped"] += duplicates
    counters["sessions_out"] += sessions_out
    result.messages = messages
    lines_by_section = result.lines
    for day, lines in events_by_day.items():
        lines_by_section[(EVENTS, day)] = lines
    for day, lines in sessions_by_day.items():
        lines_by_section[(SESSIONS, day)] = lines
    for partition in [p for p, st in stats.items() if not st[2] + st[3] + st[4]]:
        del stats[partition]  # only redeliveries (or nothing) taken from it: no accounting row
    return result


def _chunks(text: str, chunk: int = CHUNK_CHARS) -> Iterator[list[tuple[str, ...]]]:
    """The matches of BATCH_LINE in ``text``, a slice of whole lines at a time: the rows of a whole batch at once
    would be tens of MB of short-lived objects, and fresh memory costs page faults on every batch."""
    find, findall = text.find, BATCH_LINE.findall
    pos, size = 0, len(text)
    while pos < size:
        end = find("\n", pos + chunk)
        end = size if end < 0 else end + 1
        yield findall(text, pos, end)  # '^' matches at pos: it follows a line break (or starts the text)
        pos = end


def _take(st: list, offset: int) -> None:
    if offset < st[0]:
        st[0] = offset
    if offset > st[1]:
        st[1] = offset


def _flush(out: BatchResult, events_by_day: dict[str, list[str]], sessions_by_day: dict[str, list[str]]) -> None:
    """Move what the per-message code added to ``out.events`` / ``out.sessions`` into the output lines, in order
    (written as flowfile_formats.render_output writes them)."""
    for sid, user_id, channel_id, timer, status in out.events:
        events_by_day.setdefault(timer[:10], []).append(f"{sid},{user_id},{channel_id},{timer},{status}\n")
    out.events.clear()
    for s in out.sessions:
        sessions_by_day.setdefault(s[3][:10], []).append(f"{s[0]},{s[1]},{s[2]},{s[3]},{s[4]},{s[5]}\n")
    out.sessions.clear()
