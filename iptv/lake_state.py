"""The sync state of the lake and what changed in it: pure logic of :mod:`iptv.lake_sync` (stdlib only).

The *sync state* is a flat ``{key: fingerprint}`` dict of strings (JSON-able and a valid NiFi state map) where a
key is ``<kind>/dt=<date>`` (kind = viewing_events, sessions, quarantine, programmes: the partitioned datasets
of :mod:`iptv.datasets`) or ``catalogs/<name>`` (channels, users: the catalogs kept whole), and a fingerprint
is a hash of the names, lengths and modification times of the visible data files of that directory (from one
WebHDFS LISTSTATUS per directory).
A date is *changed* when one of its directories has a fingerprint other than the synced one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iptv import datasets

#: Partitioned datasets whose dt= directories are watched, and the whole catalogs (catalogs/<name> keys).
KINDS = datasets.PARTITIONED
CATALOGS = datasets.WHOLE_CATALOGS

DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")

#: A dt= directory whose modification time is this many seconds older than the listing that fingerprinted it is
#: not listed again while its modification time stays the same (a change inside it -- a file created, renamed
#: or deleted -- moves it). Younger ones are listed every time: a change in the same millisecond as the listing
#: would not move it, and a cluster's clocks may differ by a few seconds.
SETTLED_S = 10.0


@dataclass
class ListingCache:
    """The fingerprints of the dt= directories of the last listings, with their directory's modification time:
    a sync that keeps one (the NiFi processor, for as long as it runs) lists only the directories that changed
    -- one LISTSTATUS per dataset and catalog, plus one per changed directory, instead of one per date."""

    entries: dict[str, tuple[int, float, str | None]] = field(default_factory=dict)  # dir -> (mtime, listed, fp)

    def get(self, directory: str, mtime_ms: int) -> tuple[bool, str | None]:
        """``(True, fingerprint)`` when ``directory`` was listed with this modification time, settled by then;
        ``(False, None)`` when it must be listed."""
        hit = self.entries.get(directory)
        if hit is None or hit[0] != mtime_ms or mtime_ms / 1000 > hit[1] - SETTLED_S:
            return False, None
        return True, hit[2]

    def put(self, directory: str, mtime_ms: int, fp: str | None, listed_at: float | None = None) -> None:
        """Remember the fingerprint of ``directory`` listed at ``listed_at`` (epoch seconds; default now)."""
        self.entries[directory] = (mtime_ms, time.time() if listed_at is None else listed_at, fp)


def fingerprint(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The fingerprint of a directory from its LISTSTATUS entries ``(name, FileStatus)``: a hash over the
    visible files' names, lengths and modification times. None when it holds no visible data file (an empty
    directory counts as absent: registering a Hive partition creates empty directories)."""
    files = sorted(
        (name, int(st.get("length", 0)), int(st.get("modificationTime", 0)))
        for name, st in entries
        if st.get("type", "FILE") == "FILE" and not name.startswith(("_", "."))  # as Hive: not data
    )
    if not files:
        return None
    h = hashlib.sha1(usedforsecurity=False)
    for name, length, mtime in files:
        h.update(f"{name}\0{length}\0{mtime}\n".encode())
    return f"{len(files)}:{sum(f[1] for f in files)}:{h.hexdigest()[:16]}"


def partition_key(kind: str, day: str | dt.date) -> str:
    return f"{kind}/dt={day if isinstance(day, str) else day.isoformat()}"


def parse_key(key: str) -> tuple[str, dt.date | None]:
    """``sessions/dt=2026-03-02`` -> ("sessions", date); ``catalogs/users`` -> ("catalogs/users", None)."""
    kind, _, rest = key.partition("/")
    m = DT_DIR.match(rest)
    if kind in KINDS and m:
        try:
            return kind, dt.date.fromisoformat(m.group(1))
        except ValueError:
            pass
    return key, None


@dataclass
class Changes:
    """What differs between a listing and the synced state."""

    dates: list[dt.date] = field(default_factory=list)  # every date with a changed directory, sorted
    session_dates: list[dt.date] = field(default_factory=list)  # dates whose sessions changed, sorted
    programme_dates: list[dt.date] = field(default_factory=list)  # dates whose programme guide changed, sorted
    quarantine_dates: list[dt.date] = field(default_factory=list)  # dates whose quarantine changed, sorted
    catalogs: bool = False
    keys: dict[str, str | None] = field(default_factory=dict)  # changed key -> new fingerprint (None: removed)
    #: Keys of the state that name no directory of the lake (neither a dataset's dt= nor a catalog, e.g. of a
    #: dataset since renamed): nothing to sync, to be dropped from the state.
    stale: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def keys_of(self, day: dt.date) -> dict[str, str | None]:
        return {k: v for k, v in self.keys.items() if parse_key(k)[1] == day}


def detect_changes(current: Mapping[str, str], state: Mapping[str, str]) -> Changes:
    """Compare a listing (``{key: fingerprint}``, see :func:`list_lake`) with the synced state. A key missing
    from the listing but present in the state is a removal (its date changed)."""
    ch = Changes()
    for key in sorted(set(current) | set(state)):
        new, old = current.get(key), state.get(key)
        if new == old:
            continue
        kind, day = parse_key(key)
        if day is None and new is None and not kind.startswith("catalogs/"):
            ch.stale.append(key)
            continue
        ch.keys[key] = new
        if day is None:
            if kind.startswith("catalogs/"):
                ch.catalogs = True
            continue
        if day not in ch.dates:
            ch.dates.append(day)
        if kind == datasets.SESSIONS.name and day not in ch.session_dates:
            ch.session_dates.append(day)
        if kind == datasets.PROGRAMMES.name and day not in ch.programme_dates:
            ch.programme_dates.append(day)
        if kind == datasets.QUARANTINE.name and day not in ch.quarantine_dates:
            ch.quarantine_dates.append(day)
    ch.dates.sort()
    ch.session_dates.sort()
    ch.programme_dates.sort()
    ch.quarantine_dates.sort()
    return ch


def apply_keys(state: Mapping[str, str], keys: Mapping[str, str | None]) -> dict[str, str]:
    """A new state: ``state`` with ``keys`` set (None removes the key)."""
    out = dict(state)
    for k, v in keys.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def synced_dates(state: Mapping[str, str], kind: str) -> list[dt.date]:
    """The dates of ``kind`` (a partitioned dataset) in the synced state."""
    return sorted(d for k in state for k_kind, d in [parse_key(k)] if k_kind == kind and d is not None)


def synced_session_dates(state: Mapping[str, str]) -> list[dt.date]:
    return synced_dates(state, datasets.SESSIONS.name)


def synced_programme_dates(state: Mapping[str, str]) -> list[dt.date]:
    return synced_dates(state, datasets.PROGRAMMES.name)


def hive_dates(session_dates: Iterable[dt.date]) -> list[dt.date]:
    """Dates whose Hive marts a change of ``session_dates`` affects: each date and the next one."""
    out = set()
    for d in session_dates:
        out.update((d, d + dt.timedelta(days=1)))
    return sorted(out)
