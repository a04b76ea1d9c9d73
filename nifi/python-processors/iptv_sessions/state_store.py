"""Durable state store for the session-pairing processor: a snapshot plus an append-only journal of deltas
(stdlib only, no NiFi imports; NiFi loads it as a top-level module, so no relative imports).

The processor keeps a large in-memory state (~100k entries). Rewriting all of it per batch is too slow, so per
batch it appends only what changed (a "delta record") with :meth:`JournalStore.append`, which returns once the
record is on disk (fsync), i.e. before NiFi commits the batch's output. From time to time it writes the whole
state with :meth:`JournalStore.compact`, which starts a new generation and drops the old journal. On restart
:meth:`JournalStore.load` returns the last snapshot and the records appended after it, and the caller replays them.

Layout of the state directory::

    LOCK                 flock()ed by the open store; holds the owner's pid (diagnostics only)
    snapshot-<g>.pkl     generation g's full state (g >= 1; generation 0 has no snapshot)
    journal-<g>.log      records appended since snapshot-<g> (or since the empty state, for g = 0)
    *.tmp                files being written; only renamed into place once complete and fsynced

Snapshot file: ``b"IPTVSNP1"`` + u64 payload length + u32 CRC-32 of the payload + payload.
Journal file: ``b"IPTVJRN1"``, then per record a frame ``b"JREC"`` + u64 length + u32 CRC-32 + payload.
Integers are little-endian; a payload is ``pickle.dumps(obj, protocol=5)``.

Crash safety: a snapshot only appears under its final name after it was fsynced (rename + directory fsync), so
the highest ``snapshot-<g>.pkl`` is always complete and is the commit point of a compaction; a journal that does
not exist yet counts as empty. A crash in the middle of an append leaves a torn last frame, which :meth:`load`
cuts off (the batch it belonged to was never committed by NiFi, so it is replayed).

Not thread-safe: the processor runs with one concurrent task and serialises its calls.

Longer than 400 lines on purpose: the file formats, the crash-safety rules above and the one class that keeps
them are read and changed together; split apart, each rule would be stated in one module and relied on in another.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import pickle
import re
import struct
import zlib
from pathlib import Path
from types import TracebackType
from typing import IO, Any

# Trust note: pickle executes code found in the data it loads. That is acceptable here because these files are
# written and read only by this processor, inside NiFi's own state directory: whoever can write there can already
# tamper with NiFi's flow, content and provenance repositories (same trust domain). Never point a store at a
# directory that less trusted users can write to.

log = logging.getLogger(__name__)

PICKLE_PROTOCOL = 5  # out-of-band buffers unused; 5 is the newest protocol of every supported Python (3.8+)

_MAGIC_LEN = 8
_MAGIC_VERSIONLESS_LEN = 7  # b"IPTVSNP" / b"IPTVJRN": a different 8th byte is another format version
SNAPSHOT_MAGIC = b"IPTVSNP1"
JOURNAL_MAGIC = b"IPTVJRN1"
_FRAME_MAGIC = b"JREC"
_SNAPSHOT_HEAD = struct.Struct("<QI")  # payload length, CRC-32 (after the file magic)
_FRAME_HEAD = struct.Struct("<4sQI")  # frame magic, payload length, CRC-32
_SNAPSHOT_HEADER_LEN = _MAGIC_LEN + _SNAPSHOT_HEAD.size

_FILE_RE = re.compile(r"^(snapshot|journal)-(\d+)\.(pkl|log|tmp)$")

# What a corrupt payload that passed its CRC check can raise while being unpickled.
_UNPICKLE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
    OverflowError,
    MemoryError,
    RecursionError,
)


class StateStoreError(RuntimeError):
    """The state directory cannot be used as is (corrupt snapshot, foreign or future file format, misuse)."""


class StateStoreLockedError(StateStoreError):
    """The state directory is held by another live process or another store object."""


class JournalStore:
    """Snapshot + journal of one processor's state in ``directory`` (see the module docstring).

    Usage: ``snapshot, records = store.load()`` once, then ``store.append(delta)`` per batch and, when
    :meth:`should_compact` says so, ``store.compact(full_state)``; :meth:`close` (or a ``with`` block) at the end.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        compact_min_bytes: int = 64 * 2**20,
        compact_ratio: float = 2.0,
    ) -> None:
        self.directory = Path(directory)
        self.compact_min_bytes = compact_min_bytes
        self.compact_ratio = compact_ratio
        self._generation = 0
        self._snapshot_bytes = 0
        self._journal_end = 0  # offset just past the last verified record of the open journal
        self._journal: IO[bytes] | None = None
        self._loaded = False  # True once the journal tail is verified and the append handle matches it
        self._closed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._acquire_lock()

    # ------------------------------------------------------------------ properties

    @property
    def generation(self) -> int:
        """Current generation (0 = no snapshot yet); meaningful after :meth:`load`."""
        return self._generation

    @property
    def snapshot_bytes(self) -> int:
        """Size of the current snapshot file (0 without a snapshot); meaningful after :meth:`load`."""
        return self._snapshot_bytes

    @property
    def journal_bytes(self) -> int:
        """Bytes of records in the current journal (its file header excluded, so an empty journal is 0)."""
        return max(0, self._journal_end - _MAGIC_LEN)

    # ------------------------------------------------------------------ public API

    def load(self) -> tuple[Any | None, list[Any]]:
        """Return ``(snapshot or None, records appended after it, in order)`` and prepare for appending.

        A torn or corrupt record ends the journal: the file is truncated to the last good record (the normal
        outcome of a crash in the middle of an append) and a warning is logged. A corrupt snapshot raises
        :class:`StateStoreError`: starting empty over existing data would silently lose the state.
        """
        self._check_open()
        self._loaded = False
        self._close_journal()
        snapshots, journals, temps = self._scan()
        generation = max(snapshots, default=0)
        snapshot: Any | None = None
        snapshot_bytes = 0
        if generation in snapshots:
            snapshot, snapshot_bytes = self._read_snapshot(snapshots[generation])
        # Only now that the newest snapshot is verified are older generations garbage: if it were corrupt they
        # would be the only material left for a manual recovery.
        stale = [p for g, p in snapshots.items() if g != generation]
        stale += [p for g, p in journals.items() if g != generation]  # older, or orphans of an interrupted clear()
        stale += temps
        if stale:
            log.info("state store %s: removing leftover files %s", self.directory, sorted(p.name for p in stale))
            for path in stale:
                path.unlink(missing_ok=True)
        path = self._journal_path(generation)
        if generation in journals:
            records, self._journal_end = self._read_journal(path)
        else:  # a crash right after a compaction's snapshot rename, or a fresh directory
            records = []
            self._create_journal(generation)
        self._journal = open(path, "ab", buffering=0)  # kept open: one write + fsync per append
        self._generation = generation
        self._snapshot_bytes = snapshot_bytes
        self._loaded = True
        return snapshot, records

    def append(self, record: Any) -> None:
        """Append one record durably: it is on disk (fsync) when this returns."""
        self._check_loaded()
        payload = pickle.dumps(record, protocol=PICKLE_PROTOCOL)
        head = _FRAME_HEAD.pack(_FRAME_MAGIC, len(payload), zlib.crc32(payload))
        assert self._journal is not None
        fd = self._journal.fileno()
        try:
            # Two buffers in one writev: no copy of a multi-MB payload just to prepend 16 bytes.
            _write_all(fd, [head, payload])
            os.fsync(fd)
        except BaseException:
            # A partial frame left in place would hide every later record from load() (it stops at the first bad
            # frame), so cut it off. After a failed fsync the file's contents are unknown, hence the store also
            # refuses to append again until load() has re-verified the tail.
            self._loaded = False
            try:
                os.ftruncate(fd, self._journal_end)
            except OSError:
                log.exception("state store %s: cannot truncate the journal after a failed append", self.directory)
            raise
        self._journal_end += len(head) + len(payload)

    def should_compact(self) -> bool:
        """True when the journal has grown past ``max(compact_min_bytes, compact_ratio * snapshot_bytes)``: replay
        would then cost more than reading a fresh snapshot, so the caller should call :meth:`compact`."""
        return self.journal_bytes > max(self.compact_min_bytes, self.compact_ratio * self._snapshot_bytes)

    def compact(self, snapshot: Any) -> None:
        """Start generation g+1 with ``snapshot`` (the full current state, including every record appended so
        far) and an empty journal, then delete generation g's files.

        Crash-safe at every step: until the rename of ``snapshot-<g+1>.pkl`` the old generation is the state; from
        then on the new one is (its journal, if not created yet, counts as empty) and the old files are leftovers
        that the next :meth:`load` deletes.
        """
        self._check_loaded()
        old = self._generation
        new = old + 1
        tmp = self.directory / f"snapshot-{new}.tmp"
        try:
            size = _write_snapshot(tmp, snapshot)
        except BaseException:
            tmp.unlink(missing_ok=True)  # nothing committed: the store stays usable on generation g
            raise
        try:
            os.replace(tmp, self._snapshot_path(new))
            _fsync_dir(self.directory)  # commit point: snapshot-<g+1>.pkl is now durable
            self._close_journal()
            self._create_journal(new)
            self._journal = open(self._journal_path(new), "ab", buffering=0)
        except BaseException:
            # The new generation may or may not be committed on disk: let load() decide from the files.
            self._loaded = False
            self._close_journal()
            raise
        self._generation = new
        self._snapshot_bytes = size
        self._journal_end = _MAGIC_LEN
        # Deleting the old generation needs no directory fsync: if it reappears after a crash, load() removes it.
        for path in (self._snapshot_path(old), self._journal_path(old)):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("state store %s: cannot delete %s (%s); load() will retry", self.directory, path, exc)

    def clear(self) -> None:
        """Delete every snapshot and journal (state reset) and start over on generation 0; the lock is kept.

        Deletion order makes an interrupted clear() load as either the old state or the empty one, never a mix:
        first everything but the current generation (then fsync the directory), then the current snapshot (the
        commit point of the reset: without a snapshot, load() uses journal-0 only), then its journal.
        """
        self._check_open()
        self._loaded = False
        self._close_journal()
        snapshots, journals, temps = self._scan()
        generation = max(snapshots, default=0)
        stale = [p for g, p in snapshots.items() if g != generation]
        stale += [p for g, p in journals.items() if g != generation]
        stale += temps
        for path in stale:
            path.unlink(missing_ok=True)
        _fsync_dir(self.directory)
        if generation in snapshots:
            snapshots[generation].unlink(missing_ok=True)
            _fsync_dir(self.directory)
        # For generation 0 this replaces journal-0.log atomically with an empty one.
        self._create_journal(0)
        if generation:
            self._journal_path(generation).unlink(missing_ok=True)
        self._journal = open(self._journal_path(0), "ab", buffering=0)
        self._generation = 0
        self._snapshot_bytes = 0
        self._journal_end = _MAGIC_LEN
        self._loaded = True

    def close(self) -> None:
        """Close the journal and release the directory lock. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._loaded = False
        self._close_journal()
        # The LOCK file itself stays: deleting it would let a third process lock a new inode while a second one
        # still waits on (or holds) the old one.
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            os.close(self._lock_fd)

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JournalStore({str(self.directory)!r}, generation={self._generation})"

    # ------------------------------------------------------------------ internals

    def _acquire_lock(self) -> int:
        # flock (not fcntl/lockf record locks): it belongs to the open file description, so a second store object
        # in the same process conflicts too, and the kernel releases it when the holder dies, even by SIGKILL.
        fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateStoreLockedError(
                    f"state directory {self.directory} is in use by another processor (pid {holder})"
                ) from None
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _check_open(self) -> None:
        if self._closed:
            raise StateStoreError(f"state store {self.directory} is closed")

    def _check_loaded(self) -> None:
        self._check_open()
        if not self._loaded:
            # Appending is only safe right after a verified tail; after a failed append/compact the tail is unknown.
            raise StateStoreError(f"state store {self.directory}: call load() before append() or compact()")

    def _close_journal(self) -> None:
        if self._journal is not None:
            journal, self._journal = self._journal, None
            journal.close()

    def _snapshot_path(self, generation: int) -> Path:
        return self.directory / f"snapshot-{generation}.pkl"

    def _journal_path(self, generation: int) -> Path:
        return self.directory / f"journal-{generation}.log"

    def _scan(self) -> tuple[dict[int, Path], dict[int, Path], list[Path]]:
        snapshots: dict[int, Path] = {}
        journals: dict[int, Path] = {}
        temps: list[Path] = []
        for entry in os.scandir(self.directory):
            match = _FILE_RE.match(entry.name)
            if not match or not entry.is_file(follow_symlinks=False):
                continue  # LOCK and anything foreign are left alone
            kind, gen, ext = match.group(1), int(match.group(2)), match.group(3)
            if ext == "tmp":
                temps.append(Path(entry.path))
            elif kind == "snapshot" and ext == "pkl":
                snapshots[gen] = Path(entry.path)
            elif kind == "journal" and ext == "log":
                journals[gen] = Path(entry.path)
        return snapshots, journals, temps

    def _create_journal(self, generation: int) -> None:
        """Create an empty ``journal-<g>.log`` atomically (tmp + fsync + rename + directory fsync), so a journal
        either does not exist (= empty) or starts with a complete header, and records appended to it survive."""
        tmp = self.directory / f"journal-{generation}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(JOURNAL_MAGIC)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._journal_path(generation))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.directory)
        self._journal_end = _MAGIC_LEN

    def _read_snapshot(self, path: Path) -> tuple[Any, int]:
        data = path.read_bytes()
        _check_magic(path, data[:_MAGIC_LEN], SNAPSHOT_MAGIC, "snapshot")
        if len(data) < _SNAPSHOT_HEADER_LEN:
            raise StateStoreError(f"corrupt state snapshot {path}: truncated header ({len(data)} bytes)")
        length, crc = _SNAPSHOT_HEAD.unpack_from(data, _MAGIC_LEN)
        payload = memoryview(data)[_SNAPSHOT_HEADER_LEN:]
        if len(payload) != length:
            raise StateStoreError(f"corrupt state snapshot {path}: {len(payload)} payload bytes, header says {length}")
        if zlib.crc32(payload) != crc:
            raise StateStoreError(f"corrupt state snapshot {path}: CRC mismatch")
        try:
            obj = pickle.loads(payload)  # noqa: S301 - own file, see the trust note
        except _UNPICKLE_ERRORS as exc:
            raise StateStoreError(f"corrupt state snapshot {path}: cannot unpickle ({exc!r})") from None
        return obj, len(data)

    def _read_journal(self, path: Path) -> tuple[list[Any], int]:
        """Read the records of a journal; cut a torn or corrupt tail off the file. Returns (records, good end)."""
        records: list[Any] = []
        with open(path, "r+b") as f:
            size = os.fstat(f.fileno()).st_size
            magic = f.read(_MAGIC_LEN)
            if len(magic) < _MAGIC_LEN and JOURNAL_MAGIC.startswith(magic):
                # Cannot come from _create_journal (tmp + rename); tolerated as an empty journal all the same.
                log.warning("state store: journal %s has an incomplete header; starting it afresh", path)
                f.seek(0)
                f.truncate()
                f.write(JOURNAL_MAGIC)
                f.flush()
                os.fsync(f.fileno())
                return records, _MAGIC_LEN
            _check_magic(path, magic, JOURNAL_MAGIC, "journal")
            end = _MAGIC_LEN
            problem = None
            while end < size:
                head = f.read(_FRAME_HEAD.size)
                if len(head) < _FRAME_HEAD.size:
                    problem = "torn frame header"
                    break
                frame_magic, length, crc = _FRAME_HEAD.unpack(head)
                if frame_magic != _FRAME_MAGIC:
                    problem = "bad frame marker"
                    break
                if length > size - end - _FRAME_HEAD.size:  # checked before reading: a bad length may be huge
                    problem = f"torn record ({length} bytes announced, {size - end - _FRAME_HEAD.size} present)"
                    break
                payload = f.read(length)
                if zlib.crc32(payload) != crc:
                    problem = "CRC mismatch"
                    break
                try:
                    records.append(pickle.loads(payload))  # noqa: S301 - own file, see the trust note
                except _UNPICKLE_ERRORS as exc:
                    problem = f"cannot unpickle ({exc!r})"
                    break
                end += _FRAME_HEAD.size + length
            if problem is not None:
                log.warning(
                    "state store: journal %s: %s at offset %d after %d good records; truncating %d bytes "
                    "(expected after a crash during an append)",
                    path,
                    problem,
                    end,
                    len(records),
                    size - end,
                )
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
        return records, end


def _check_magic(path: Path, magic: bytes, expected: bytes, what: str) -> None:
    if magic == expected:
        return
    if len(magic) == _MAGIC_LEN and magic[:_MAGIC_VERSIONLESS_LEN] == expected[:_MAGIC_VERSIONLESS_LEN]:
        raise StateStoreError(
            f"state {what} {path} has format version {magic[-1:]!r}, this code reads {expected[-1:]!r}"
        )
    raise StateStoreError(f"{path} is not an IPTV state {what} (header {magic!r}, expected {expected!r})")


class _CrcWriter:
    """File wrapper that counts and CRCs what pickle streams through it (no full in-memory copy of a snapshot)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.crc = 0
        self.length = 0

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.length += len(data)
        return self.f.write(data)


def _write_snapshot(path: Path, obj: Any) -> int:
    """Write a snapshot file (header patched after streaming the pickle) and fsync it; returns its size."""
    with open(path, "wb") as f:
        f.write(SNAPSHOT_MAGIC + _SNAPSHOT_HEAD.pack(0, 0))
        writer = _CrcWriter(f)
        pickle.dump(obj, writer, protocol=PICKLE_PROTOCOL)
        f.seek(_MAGIC_LEN)
        f.write(_SNAPSHOT_HEAD.pack(writer.length, writer.crc))
        f.flush()
        os.fsync(f.fileno())
    return _SNAPSHOT_HEADER_LEN + writer.length


def _write_all(fd: int, buffers: list[bytes]) -> None:
    views = [memoryview(b) for b in buffers]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _fsync_dir(directory: Path) -> None:
    # Makes renames/creations in the directory durable (a file's own fsync does not cover its directory entry).
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
