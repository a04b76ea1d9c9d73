"""HDFS on the real local daemons: bytes written over WebHDFS read back over hdfs:// RPC (the java
`hdfs dfs` shell) and the reverse, the client helpers, and data surviving a restart of the service."""

from __future__ import annotations

import random
import uuid

import pytest

from iptv import hdfs_client
from iptv.stack.hdfs import Hdfs

pytestmark = pytest.mark.integration


def _payload(size: int = 3 * 1024 * 1024 + 17, seed: int = 42) -> bytes:
    """A few MB of binary data: every byte value, invalid UTF-8 sequences, NULs and CR/LF."""
    head = bytes(range(256)) + b"\xff\xfe\xc3\x28\x00\r\n\xe2\x82"
    return head + random.Random(seed).randbytes(size)


@pytest.fixture(scope="module")
def base(hdfs):
    path = f"/tmp/iptv-tests/hdfs-{uuid.uuid4().hex[:10]}"
    hdfs_client.mkdirs(hdfs, path)
    yield path
    hdfs_client.delete(hdfs, path, recursive=True)


def test_payload_is_not_text():
    with pytest.raises(UnicodeDecodeError):
        _payload(1024).decode("utf-8")


def test_webhdfs_write_then_rpc_read(hdfs, base, tmp_path):
    data = _payload()
    path = f"{base}/from-webhdfs.bin"
    hdfs_client.write_bytes(hdfs, path, data)

    cat = hdfs_client.hdfs_shell(hdfs, "-cat", path)
    assert len(cat.stdout) == len(data)
    assert cat.stdout == data

    local = tmp_path / "got.bin"
    hdfs_client.hdfs_shell(hdfs, "-get", path, str(local))
    assert local.read_bytes() == data


def test_rpc_write_then_webhdfs_read(hdfs, base, tmp_path):
    data = _payload(seed=7)
    local = tmp_path / "put.bin"
    local.write_bytes(data)
    path = f"{base}/from-rpc.bin"
    hdfs_client.hdfs_shell(hdfs, "-put", "-f", str(local), path)

    assert hdfs_client.read_bytes(hdfs, path) == data
    status = dict(hdfs_client.list_dir(hdfs, base, status=True))["from-rpc.bin"]
    assert status["length"] == len(data)
    assert status["type"] == "FILE"


def test_client_helpers(hdfs, base):
    d = f"{base}/helpers/a/b"
    hdfs_client.mkdirs(hdfs, d)
    assert hdfs_client.exists(hdfs, d)
    f = f"{d}/note.txt"
    hdfs_client.write_text(hdfs, f, "première ligne\n")
    with pytest.raises(hdfs_client.HdfsError):
        hdfs_client.write_text(hdfs, f, "again")  # no overwrite by default
    hdfs_client.write_text(hdfs, f, "zweite Zeile ✓\n", overwrite=True)
    assert hdfs_client.read_text(hdfs, f) == "zweite Zeile ✓\n"
    assert hdfs_client.list_dir(hdfs, d) == ["note.txt"]
    ls = hdfs_client.hdfs_shell(hdfs, "-ls", d).stdout.decode()
    assert f"{d}/note.txt" in ls
    assert hdfs_client.delete(hdfs, f"{base}/helpers", recursive=True)
    assert not hdfs_client.exists(hdfs, f)
    assert not hdfs_client.delete(hdfs, f)


def test_project_directories_exist(hdfs):
    for path in hdfs["hdfs"]["paths"].values():
        assert hdfs_client.exists(hdfs, path), path


def test_data_survives_restart(hdfs, base):
    # Restarts the NameNode and DataNode even when they were already up: clients must reconnect, data must stay.
    data = _payload(size=512 * 1024, seed=3)
    path = f"{base}/durable.bin"
    hdfs_client.write_bytes(hdfs, path, data)

    svc = Hdfs(hdfs)
    svc.stop()
    assert not svc.running()
    svc.start()
    svc.wait_ready()

    assert hdfs_client.read_bytes(hdfs, path) == data
    assert hdfs_client.hdfs_shell(hdfs, "-cat", path).stdout == data


def test_ingestion_writer_replaces_a_file_atomically(hdfs, base):
    """PutHdfsPartitioned's WebHDFS writer: a rewrite (a replay after a crash) replaces the file in one rename,
    while a reader polling the directory always finds it (the earlier delete + rename left a gap)."""
    import sys
    import threading

    from iptv.config import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "nifi" / "python-processors"))
    from iptv_ingest.hdfs_sections import WebHdfs

    fs = WebHdfs(hdfs["hdfs"]["webhdfs_url"], hdfs["hdfs"].get("user", "iptv"))
    final, tmp = f"{base}/atomic/part-x.csv", f"{base}/atomic/.part-x.csv.tmp"
    fs.mkdirs(f"{base}/atomic")
    fs.put_file(final, tmp, b"first\n")
    client = hdfs_client.client(hdfs)
    missing: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if client.status(final, strict=False) is None:
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(20):
            fs.put_file(final, tmp, f"version {i}\n".encode())
    finally:
        done.set()
        watcher.join()
    assert missing == []
    with client.read(final) as r:
        assert r.read() == b"version 19\n"
    assert client.status(tmp, strict=False) is None
