"""The ledger of loaded files: which version of which lake file the warehouse holds the rows of (pure logic,
stdlib only).

Every sessions load records, in the same transaction as the rows, one ``loaded_file`` row per file it read: the
dataset, the date, the path, its length and modification time (``greenplum/ddl.sql``). The next load of that
date compares the lake's listing with it (:func:`plan`):

- only new files (every file of the ledger still there, unchanged): the new files' rows are appended, the old
  ones untouched -- the cost of a load follows the new data, not the date's size;
- a file rewritten (another length or modification time) or removed, or a date with no ledger yet (loaded before
  the ledger existed): the date is reloaded whole from its files, and its ledger replaced;
- nothing new: nothing to load.

A crash or retry cannot lose or double a file: its ledger row commits with its rows or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileVersion:
    """One version of a lake file: its path, length in bytes and modification time (ms since the epoch)."""

    path: str
    length: int
    mtime_ms: int


@dataclass
class LedgerPlan:
    """What a load of one date has to do, from the lake's files and the date's ledger."""

    new: list[FileVersion] = field(default_factory=list)  # listed, not in the ledger
    changed: list[FileVersion] = field(default_factory=list)  # listed with another length or modification time
    removed: list[str] = field(default_factory=list)  # in the ledger, no longer listed
    loaded: int = 0  # files of the ledger of the date

    @property
    def appendable(self) -> bool:
        """The date can be brought up to date by appending the new files' rows: it has a ledger and none of its
        files changed or went away."""
        return self.loaded > 0 and not self.changed and not self.removed

    @property
    def up_to_date(self) -> bool:
        return self.appendable and not self.new

    def why_reload(self) -> str:
        """Why the date must be reloaded whole ('' when it need not be)."""
        if self.loaded == 0:
            return "no ledger for the date"
        parts = []
        if self.changed:
            parts.append(f"{len(self.changed)} file(s) rewritten")
        if self.removed:
            parts.append(f"{len(self.removed)} file(s) removed")
        return ", ".join(parts)


def plan(listed: Iterable[FileVersion], ledger: Mapping[str, tuple[int, int]]) -> LedgerPlan:
    """Compare the files of a date on the lake (``listed``) with its ledger (``{path: (length, mtime_ms)}``)."""
    out = LedgerPlan(loaded=len(ledger))
    seen: set[str] = set()
    for f in sorted(listed, key=lambda f: f.path):
        seen.add(f.path)
        was = ledger.get(f.path)
        if was is None:
            out.new.append(f)
        elif was != (f.length, f.mtime_ms):
            out.changed.append(f)
    out.removed = sorted(p for p in ledger if p not in seen)
    return out
