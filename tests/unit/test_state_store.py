"""Unit tests of the durable snapshot + journal store of the pairing processor
(nifi/python-processors/iptv_sessions/state_store.py): round trips, torn and corrupt journal tails, compaction
and the crashes around it, corrupt snapshots, the directory lock, and a real SIGKILL during appends."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from iptv_sessions import state_store
from iptv_sessions.state_store import JournalStore, StateStoreError, StateStoreLockedError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PROCESSORS = REPO / "nifi" / "python-processors"


SNAPSHOT = {"pending": {"a" * 32: [1, 2, 1_000_000.5, "enabled"]}, "offsets": {0: 41, 1: 7}, "blob": b"\x00\xff"}


def rec(i: int) -> dict:
    """A delta record of every builtin type the processor stores."""
    return {
        "batch": i,
        "added": {f"s{i}": [i, float(i) / 3, "enabled", None]},
        "removed": [f"s{i - 1}"],
        "b": bytes([i % 256]) * 10,
    }


def journal(directory: Path, generation: int = 0) -> Path:
    return directory / f"journal-{generation}.log"


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def reopen(directory: Path, **kwargs) -> tuple[object, list]:
    with JournalStore(directory, **kwargs) as store:
        return store.load()


def three_records(directory: Path) -> list[int]:
    """Append rec(0..2); return the journal size after each append."""
    sizes = []
    with JournalStore(directory) as store:
        store.load()
        for i in range(3):
            store.append(rec(i))
            sizes.append(journal(directory).stat().st_size)
    return sizes


# ---------------------------------------------------------------------------------------------- basics


def test_empty_directory_is_created_and_loads_empty(tmp_path):
    directory = tmp_path / "a" / "b" / "state"
    with JournalStore(directory) as store:
        assert store.load() == (None, [])
        assert (store.generation, store.snapshot_bytes, store.journal_bytes) == (0, 0, 0)
        assert not store.should_compact()
    assert names(directory) == {"LOCK", "journal-0.log"}
    assert journal(directory).read_bytes() == state_store.JOURNAL_MAGIC
    assert reopen(directory) == (None, [])


def test_round_trip_without_snapshot(tmp_path):
    with JournalStore(tmp_path) as store:
        store.load()
        for i in range(5):
            store.append(rec(i))
        store.append(None)
        assert store.journal_bytes == journal(tmp_path).stat().st_size - len(state_store.JOURNAL_MAGIC)
    assert reopen(tmp_path) == (None, [rec(i) for i in range(5)] + [None])


def test_round_trip_snapshot_and_records_across_store_objects(tmp_path):
    store = JournalStore(tmp_path)
    store.load()
    store.append(rec(0))
    store.compact(SNAPSHOT)
    store.append(rec(1))
    store.append(rec(2))
    store.close()
    store.close()  # idempotent

    with JournalStore(tmp_path) as again:
        snapshot, records = again.load()
        assert snapshot == SNAPSHOT
        assert records == [rec(1), rec(2)]
        assert again.generation == 1
        assert again.snapshot_bytes == (tmp_path / "snapshot-1.pkl").stat().st_size
        again.append(rec(3))
    assert reopen(tmp_path) == (SNAPSHOT, [rec(1), rec(2), rec(3)])


def test_append_and_compact_require_load_and_an_open_store(tmp_path):
    store = JournalStore(tmp_path)
    with pytest.raises(StateStoreError, match="call load"):
        store.append(rec(0))
    with pytest.raises(StateStoreError, match="call load"):
        store.compact(SNAPSHOT)
    store.load()
    store.close()
    with pytest.raises(StateStoreError, match="closed"):
        store.append(rec(0))
    with pytest.raises(StateStoreError, match="closed"):
        store.load()


# ---------------------------------------------------------------------------------------------- journal tail


@pytest.mark.parametrize("chop", [1, 9, "into frame header"])
def test_torn_tail_is_truncated_and_appending_continues_after_it(tmp_path, caplog, chop):
    sizes = three_records(tmp_path)
    path = journal(tmp_path)
    # "into frame header": only 5 bytes of the third frame's 16-byte header remain
    cut = sizes[1] + 5 if chop == "into frame header" else sizes[-1] - chop
    with open(path, "r+b") as f:
        f.truncate(cut)

    with caplog.at_level(logging.WARNING, logger=state_store.__name__):
        assert reopen(tmp_path) == (None, [rec(0), rec(1)])
    assert "truncating" in caplog.text
    assert path.stat().st_size == sizes[1]  # cut back to the last good record

    with JournalStore(tmp_path) as store:
        assert store.load() == (None, [rec(0), rec(1)])
        store.append("after the crash")
    assert reopen(tmp_path) == (None, [rec(0), rec(1), "after the crash"])


def test_crc_mismatch_in_last_record_ends_the_journal(tmp_path, caplog):
    sizes = three_records(tmp_path)
    path = journal(tmp_path)
    data = bytearray(path.read_bytes())
    data[sizes[-1] - 3] ^= 0x40  # a byte inside the third record's payload
    path.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, logger=state_store.__name__):
        assert reopen(tmp_path) == (None, [rec(0), rec(1)])
    assert "CRC mismatch" in caplog.text
    assert path.stat().st_size == sizes[1]


def test_garbage_after_the_last_record_is_cut_off(tmp_path):
    sizes = three_records(tmp_path)
    with open(journal(tmp_path), "ab") as f:
        f.write(b"\x00" * 100)
    assert reopen(tmp_path) == (None, [rec(0), rec(1), rec(2)])
    assert journal(tmp_path).stat().st_size == sizes[-1]


def test_failed_append_leaves_no_partial_frame_and_requires_load(tmp_path, monkeypatch):
    with JournalStore(tmp_path) as store:
        store.load()
        store.append(rec(0))
        size = journal(tmp_path).stat().st_size

        def broken_fsync(fd):
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(state_store.os, "fsync", broken_fsync)
        with pytest.raises(OSError, match="Input/output"):
            store.append(rec(1))
        monkeypatch.undo()
        assert journal(tmp_path).stat().st_size == size
        with pytest.raises(StateStoreError, match="call load"):
            store.append(rec(2))
        assert store.load() == (None, [rec(0)])
        store.append(rec(2))
    assert reopen(tmp_path) == (None, [rec(0), rec(2)])


def test_foreign_and_future_journal_files_are_refused(tmp_path):
    journal(tmp_path).write_bytes(b"PK\x03\x04 not a journal at all")
    with pytest.raises(StateStoreError, match="is not an IPTV state journal"):
        reopen(tmp_path)
    journal(tmp_path).write_bytes(b"IPTVJRN2" + b"\x00" * 40)
    with pytest.raises(StateStoreError, match="format version b'2'"):
        reopen(tmp_path)


# ---------------------------------------------------------------------------------------------- compaction


def test_compaction_replaces_the_journal_with_a_snapshot(tmp_path):
    with JournalStore(tmp_path) as store:
        store.load()
        store.append(rec(0))
        store.append(rec(1))
        store.compact(SNAPSHOT)
        assert (store.generation, store.journal_bytes) == (1, 0)
        store.append(rec(2))
        store.compact({"second": True})
        store.append(rec(3))
        store.append(rec(4))
        assert store.generation == 2
    assert names(tmp_path) == {"LOCK", "snapshot-2.pkl", "journal-2.log"}
    assert reopen(tmp_path) == ({"second": True}, [rec(3), rec(4)])


def test_should_compact_thresholds(tmp_path):
    with JournalStore(tmp_path, compact_min_bytes=1000, compact_ratio=2.0) as store:
        store.load()
        store.append("x" * 500)
        assert not store.should_compact()
        store.append("x" * 600)
        assert store.should_compact()  # > 1000 bytes, no snapshot
        store.compact("y" * 5000)
        assert not store.should_compact()
        store.append("x" * 2 * store.snapshot_bytes)
        assert store.journal_bytes > 2 * store.snapshot_bytes
        assert store.should_compact()


def test_crash_between_snapshot_rename_and_old_file_deletion_newest_wins(tmp_path):
    aside = tmp_path / "aside"
    directory = tmp_path / "state"
    with JournalStore(directory) as store:
        store.load()
        store.compact({"gen": 1})
        store.append(rec(1))
        aside.mkdir()
        for name in ("snapshot-1.pkl", "journal-1.log"):
            shutil.copy2(directory / name, aside / name)
        store.compact({"gen": 2})
        store.append(rec(2))
    for name in ("snapshot-1.pkl", "journal-1.log"):  # as if the deletion had not happened before the crash
        shutil.copy2(aside / name, directory / name)

    with JournalStore(directory) as store:
        assert store.load() == ({"gen": 2}, [rec(2)])
        assert store.generation == 2
    assert names(directory) == {"LOCK", "snapshot-2.pkl", "journal-2.log"}


def test_crash_before_the_new_journal_exists_counts_as_empty(tmp_path):
    with JournalStore(tmp_path) as store:
        store.load()
        store.append(rec(0))
        store.compact({"gen": 1})
    journal(tmp_path, 1).unlink()
    assert reopen(tmp_path) == ({"gen": 1}, [])
    assert journal(tmp_path, 1).read_bytes() == state_store.JOURNAL_MAGIC


def test_leftover_tmp_files_are_ignored_and_removed(tmp_path):
    with JournalStore(tmp_path) as store:
        store.load()
        store.compact({"gen": 1})
        store.append(rec(1))
    (tmp_path / "snapshot-2.tmp").write_bytes(b"IPTVSNP1 half written")  # crash during compaction
    (tmp_path / "journal-2.tmp").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not ours")
    assert reopen(tmp_path) == ({"gen": 1}, [rec(1)])
    assert names(tmp_path) == {"LOCK", "snapshot-1.pkl", "journal-1.log", "notes.txt"}


# ---------------------------------------------------------------------------------------------- snapshots


def _generation_one(directory: Path) -> Path:
    with JournalStore(directory) as store:
        store.load()
        store.compact(SNAPSHOT)
        store.append(rec(1))
    return directory / "snapshot-1.pkl"


def test_corrupt_snapshot_raises_and_keeps_the_files(tmp_path):
    path = _generation_one(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StateStoreError, match="corrupt state snapshot .*CRC mismatch"):
        reopen(tmp_path)
    assert names(tmp_path) == {"LOCK", "snapshot-1.pkl", "journal-1.log"}


def test_truncated_snapshot_raises(tmp_path):
    path = _generation_one(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(StateStoreError, match="payload bytes, header says"):
        reopen(tmp_path)
    path.write_bytes(data[:12])
    with pytest.raises(StateStoreError, match="truncated header"):
        reopen(tmp_path)


def test_foreign_snapshot_raises(tmp_path):
    path = _generation_one(tmp_path)
    path.write_bytes(b"\x80\x05 some other pickle")
    with pytest.raises(StateStoreError, match="is not an IPTV state snapshot"):
        reopen(tmp_path)


def test_corrupt_newest_snapshot_does_not_fall_back_to_an_older_generation(tmp_path):
    path = _generation_one(tmp_path)
    shutil.copy2(path, tmp_path / "snapshot-2.pkl")
    (tmp_path / "snapshot-2.pkl").write_bytes(path.read_bytes()[:-1])
    with pytest.raises(StateStoreError, match="snapshot-2.pkl"):
        reopen(tmp_path)


# ---------------------------------------------------------------------------------------------- clear, lock


def test_clear_resets_the_state_and_keeps_the_lock(tmp_path):
    with JournalStore(tmp_path) as store:
        store.load()
        store.append(rec(0))
        store.compact(SNAPSHOT)
        store.append(rec(1))
        store.clear()
        assert (store.generation, store.snapshot_bytes, store.journal_bytes) == (0, 0, 0)
        assert names(tmp_path) == {"LOCK", "journal-0.log"}
        with pytest.raises(StateStoreLockedError):
            JournalStore(tmp_path)
        store.append(rec(2))
    assert reopen(tmp_path) == (None, [rec(2)])


def test_second_store_on_the_same_directory_is_locked_out_until_close(tmp_path):
    first = JournalStore(tmp_path)
    first.load()
    with pytest.raises(StateStoreLockedError, match=rf"in use by another processor \(pid {os.getpid()}\)"):
        JournalStore(tmp_path)
    first.close()
    with JournalStore(tmp_path) as second:
        assert second.load() == (None, [])


# ---------------------------------------------------------------------------------------------- kill -9

CHILD = textwrap.dedent(
    """
    import sys
    from iptv_sessions.state_store import JournalStore

    store = JournalStore(sys.argv[1])
    store.load()
    for i in range(100_000):
        # ~200 kB per record, so the kill is likely to land in the middle of a write
        store.append({"i": i, "payload": bytes([i % 251]) * 200_000, "tail": [i, str(i), None]})
        print(i, flush=True)
    """
)


def child_record(i: int) -> dict:
    return {"i": i, "payload": bytes([i % 251]) * 200_000, "tail": [i, str(i), None]}


def test_sigkill_during_appends_leaves_a_loadable_prefix(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(PROCESSORS)},  # where the child finds iptv_sessions
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        acknowledged = -1
        deadline = time.monotonic() + 20
        while acknowledged < 15 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acknowledged = int(line)
        assert acknowledged >= 15, "child did not append"
        with pytest.raises(StateStoreLockedError, match=rf"pid {proc.pid}\)"):
            JournalStore(tmp_path)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    with JournalStore(tmp_path) as store:  # the kernel released the dead child's lock
        snapshot, records = store.load()
        assert snapshot is None
        assert len(records) >= acknowledged + 1  # every acknowledged append survived
        assert records == [child_record(i) for i in range(len(records))]
        store.append("next")
    snapshot, again = reopen(tmp_path)
    assert again == records + ["next"]
