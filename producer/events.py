"""From sessions to the messages sent, in event-time order.

Each session yields an ``enabled`` event at its start and a ``disabled`` event at its end. A :class:`Plan` holds
the events as arrays (so fault injection can drop, move or alter them) plus extra raw messages, and renders
them lazily in send order: by send time (= event time unless a fault moved it), a ``disabled`` before an
``enabled`` of the same second (a subscriber closes one channel before opening the next).
"""

from __future__ import annotations

import csv
import inspect
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from iptv.config import REPO_ROOT
from iptv.datasets import SESSIONS, VIEWING_EVENTS
from producer.model import Sessions

SCHEMA_PATH = REPO_ROOT / "schemas" / "viewing_event.schema.json"
STATUS = ("enabled", "disabled")
FORMATS = ("json", "csv")
_JSON = '{"session_id":"%s","user_id":%d,"channel_id":%d,"timer":"%s","status":"%s"}'
_CSV = "%s,%d,%d,%s,%s"


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def format_times(epoch: np.ndarray) -> list[str]:
    """Epoch seconds (wall clock) -> 'YYYY-MM-DD HH:MM:SS'."""
    if len(epoch) == 0:
        return []
    iso = np.datetime_as_string(np.asarray(epoch, dtype=np.int64).astype("datetime64[s]"), unit="s")
    return np.char.replace(iso, "T", " ").tolist()


def format_time(epoch: int) -> str:
    return format_times(np.array([epoch]))[0]


def render(fmt: str, session_id: str, user_id: int, channel_id: int, timer: str, status: str) -> str:
    """One message value: a JSON object (Kafka) or a headerless CSV line without newline (HDFS files)."""
    return (_JSON if fmt == "json" else _CSV) % (session_id, user_id, channel_id, timer, status)


# render() writes its parameters in their order: they must be the columns of dataset viewing_events.
if tuple(inspect.signature(render).parameters)[1:] != VIEWING_EVENTS.column_names:
    raise ImportError(f"producer.events.render does not take the columns {VIEWING_EVENTS.column_names} in order")


class Plan:
    """The messages of a set of sessions, with room for injected faults.

    ``not_before`` (epoch s): sessions that ended earlier are left out, and the events of sessions already
    running are sent at ``not_before`` (with their true timer) -- used by ``live --from-now``.
    """

    def __init__(self, sessions: Sessions, *, fmt: str = "json", not_before: int | None = None):
        if fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {FORMATS}")
        if not_before is not None:
            sessions = sessions.take(np.flatnonzero(sessions.end > not_before))
        self.fmt = fmt
        self.sessions = sessions
        n = self.n_sessions = len(sessions)
        self.channel = sessions.channel_id.copy()
        self.ev_session = np.r_[np.arange(n), np.arange(n)]
        self.ev_status = np.r_[np.zeros(n, np.int8), np.ones(n, np.int8)]
        self.ev_timer = np.r_[sessions.start, sessions.end].astype(np.int64)
        self.ev_send = self.ev_timer.copy()
        if not_before is not None:
            np.maximum(self.ev_send, not_before, out=self.ev_send)
        self.ev_rank = np.where(self.ev_status == 0, 1, 0).astype(np.int8)
        self.ev_keep = np.ones(2 * n, dtype=bool)
        #: Sessions expected to form downstream (the ground truth).
        self.formed = np.ones(n, dtype=bool)
        self.extra: list[tuple[int, int, str, str]] = []  # (send_time, rank, key, value)
        self._order: np.ndarray | None = None
        self._pos: np.ndarray | None = None

    # ----- building ------------------------------------------------------------------------
    def event(self, session: int, status: int) -> int:
        """Index of a session's enabled (0) or disabled (1) event."""
        return int(session + status * self.n_sessions)

    def value(self, ev: int) -> str:
        """The rendered message of base event ``ev`` with its current fields."""
        s = int(self.ev_session[ev])
        return render(
            self.fmt,
            str(self.sessions.session_id[s]),
            int(self.sessions.user_id[s]),
            int(self.channel[s]),
            format_time(int(self.ev_timer[ev])),
            STATUS[self.ev_status[ev]],
        )

    def add(self, send_time: int, key: str, value: str, rank: int = 2) -> int:
        """An extra raw message; returns its reference (for :meth:`position`)."""
        self._order = None
        self.extra.append((int(send_time), rank, key, value))
        return 2 * self.n_sessions + len(self.extra) - 1

    # ----- order ---------------------------------------------------------------------------
    def order(self) -> np.ndarray:
        """References (base event index, or 2n + extra index) in send order."""
        if self._order is None:
            base = np.flatnonzero(self.ev_keep)
            xs = np.array([e[0] for e in self.extra], dtype=np.int64)
            xr = np.array([e[1] for e in self.extra], dtype=np.int8)
            refs = np.r_[base, 2 * self.n_sessions + np.arange(len(self.extra))]
            send = np.r_[self.ev_send[base], xs]
            rank = np.r_[self.ev_rank[base], xr]
            self._order = refs[np.lexsort((refs, rank, send))]
            self._pos = np.full(2 * self.n_sessions + len(self.extra), -1, dtype=np.int64)
            self._pos[self._order] = np.arange(len(self._order))
        return self._order

    def position(self, ref: int) -> int:
        """Where message ``ref`` is in send order (-1: not sent)."""
        self.order()
        return int(self._pos[ref])

    def __len__(self) -> int:
        return int(self.ev_keep.sum()) + len(self.extra)

    def messages(self, start: int = 0) -> Iterator[tuple[int, str, str]]:
        """(send_time, key, value) in send order, from position ``start``."""
        order = self.order()[start:]
        n2 = 2 * self.n_sessions
        timers = format_times(self.ev_timer)
        sid = self.sessions.session_id
        uid = self.sessions.user_id.tolist()
        ch = self.channel.tolist()
        ev_session = self.ev_session.tolist()
        ev_status = self.ev_status.tolist()
        ev_send = self.ev_send.tolist()
        tpl = _JSON if self.fmt == "json" else _CSV
        for ref in order.tolist():
            if ref < n2:
                s = ev_session[ref]
                key = str(sid[s])
                yield ev_send[ref], key, tpl % (key, uid[s], ch[s], timers[ref], STATUS[ev_status[ref]])
            else:
                t, _, key, value = self.extra[ref - n2]
                yield t, key, value

    # ----- ground truth --------------------------------------------------------------------
    def truth(self, sent: int | None = None) -> Sessions:
        """The sessions downstream should form; with ``sent``, only those whose events were all among the
        first ``sent`` messages."""
        ok = self.formed.copy()
        if sent is not None:
            self.order()
            n = self.n_sessions
            last = np.maximum(self._pos[:n], self._pos[n : 2 * n])
            ok &= (self._pos[:n] >= 0) & (self._pos[n : 2 * n] >= 0) & (last < sent)
        idx = np.flatnonzero(ok)
        out = self.sessions.take(idx)
        out.channel_id = self.channel[idx]
        return out


#: The truth file's header: the columns of dataset sessions (schemas/datasets.json), which its rows follow.
TRUTH_HEADER = list(SESSIONS.column_names)


def write_truth(sessions: Sessions, path: str | Path) -> int:
    """Ground truth of valid sessions as CSV with a header line; returns the number of rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((sessions.session_id, sessions.start))
    starts, ends = format_times(sessions.start[order]), format_times(sessions.end[order])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(TRUTH_HEADER)
        for k, i in enumerate(order.tolist()):
            row = {
                "session_id": sessions.session_id[i],
                "user_id": int(sessions.user_id[i]),
                "channel_id": int(sessions.channel_id[i]),
                "time_start": starts[k],
                "time_end": ends[k],
                "duration_s": int(sessions.end[i] - sessions.start[i]),
            }
            w.writerow([row[c] for c in TRUTH_HEADER])
    return len(order)


def csv_line(fields: list[Any]) -> str:
    """One RFC 4180 CSV line (no newline)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue()
