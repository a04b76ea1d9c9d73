"""HDFS on the real local daemons: bytes written over WebHDFS read back over hdfs:// RPC (the java
`hdfs dfs` shell) and the reverse, the client helpers, data surviving a restart of the service, and one WebHDFS
contract that both clients pass: the pipeline's (iptv.hdfs_client) and the NiFi processors' self-contained copy
(iptv_ingest.hdfs_sections.WebHdfs)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from iptv import hdfs_client
from iptv.config import Config
from iptv_ingest.hdfs_sections import WebHdfs
from local_stack.hdfs import Hdfs, hdfs_shell, lake_directories

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


def test_webhdfs_write_then_rpc_read(hdfs, base, tmp_path):
    data = _payload()
    path = f"{base}/from-webhdfs.bin"
    hdfs_client.write_bytes(hdfs, path, data)

    cat = hdfs_shell(hdfs, "-cat", path)
    assert len(cat.stdout) == len(data)
    assert cat.stdout == data

    local = tmp_path / "got.bin"
    hdfs_shell(hdfs, "-get", path, str(local))
    assert local.read_bytes() == data
    with pytest.raises(UnicodeDecodeError):  # read as text, bytes that are not UTF-8 fail (never replaced)
        hdfs_client.read_text(hdfs, path)


def test_rpc_write_then_webhdfs_read(hdfs, base, tmp_path):
    data = _payload(seed=7)
    local = tmp_path / "put.bin"
    local.write_bytes(data)
    path = f"{base}/from-rpc.bin"
    hdfs_shell(hdfs, "-put", "-f", str(local), path)

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
    ls = hdfs_shell(hdfs, "-ls", d).stdout.decode()
    assert f"{d}/note.txt" in ls
    assert hdfs_client.delete(hdfs, f"{base}/helpers", recursive=True)
    assert not hdfs_client.exists(hdfs, f)
    assert not hdfs_client.delete(hdfs, f)


def test_project_directories_exist(hdfs):
    for path in hdfs.hdfs.paths.as_dict().values():
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
    assert hdfs_shell(hdfs, "-cat", path).stdout == data


# ---------------------------------------------------------------------------------------------- WebHDFS contract
@dataclass(frozen=True)
class WebHdfsWriter:
    """What both WebHDFS clients offer for the same job (land a file, replacing an earlier one atomically), in one
    shape. Checks read back through the pipeline's client (the processors' copy cannot read)."""

    name: str
    create: Callable[[str, bytes, bool], None]  # (path, data, overwrite)
    mkdirs: Callable[[str], None]
    replace: Callable[[str, str], None]  # atomic rename over an existing destination
    error: type[Exception]  # what a refused request raises


def _pipeline_writer(cfg: Config) -> WebHdfsWriter:
    return WebHdfsWriter(
        "iptv.hdfs_client",
        create=lambda path, data, overwrite: hdfs_client.write_bytes(cfg, path, data, overwrite=overwrite),
        mkdirs=lambda path: hdfs_client.mkdirs(cfg, path),
        replace=lambda src, dst: hdfs_client.replace(cfg, src, dst),
        error=hdfs_client.HdfsError,
    )


def _processors_writer(cfg: Config) -> WebHdfsWriter:
    fs = WebHdfs(cfg.hdfs.webhdfs_url, cfg.hdfs.user)
    return WebHdfsWriter("hdfs_sections.WebHdfs", fs.create, fs.mkdirs, fs.replace, OSError)


@pytest.fixture(params=[_pipeline_writer, _processors_writer], ids=["pipeline", "processors"])
def writer(request, hdfs) -> WebHdfsWriter:
    return request.param(hdfs)


@pytest.fixture
def area(hdfs, base, writer) -> str:
    """A fresh directory per client and test (not created: the tests create it with the client under test)."""
    return f"{base}/contract-{writer.name.replace('.', '_')}-{uuid.uuid4().hex[:8]}"


def test_contract_mkdirs_creates_parents_and_is_idempotent(hdfs, writer, area):
    d = f"{area}/a/b/c"
    writer.mkdirs(d)
    writer.mkdirs(d)
    assert hdfs_client.client(hdfs).status(d)["type"] == "DIRECTORY"


def test_contract_create_round_trips_binary_data(hdfs, writer, area):
    data = _payload(seed=11)
    path = f"{area}/new/dir/data.bin"  # parents are created by the create itself
    writer.create(path, data, False)
    assert hdfs_client.read_bytes(hdfs, path) == data
    assert hdfs_client.client(hdfs).status(path)["length"] == len(data)
    assert hdfs_shell(hdfs, "-cat", path).stdout == data  # the same bytes over hdfs:// RPC


def test_contract_create_overwrites_only_when_asked(hdfs, writer, area):
    path = f"{area}/file.csv"
    writer.create(path, b"first\n", False)
    with pytest.raises(writer.error):
        writer.create(path, b"second\n", False)
    assert hdfs_client.read_bytes(hdfs, path) == b"first\n"
    writer.create(path, b"third\n", True)
    assert hdfs_client.read_bytes(hdfs, path) == b"third\n"
    writer.create(path, b"", True)  # an empty file is a file
    assert hdfs_client.client(hdfs).status(path)["length"] == 0


def test_contract_replace_moves_onto_a_missing_or_existing_file(hdfs, writer, area):
    writer.mkdirs(area)
    final, tmp = f"{area}/part-x.csv", f"{area}/.part-x.csv.tmp"
    writer.create(tmp, b"one\n", True)
    writer.replace(tmp, final)
    assert hdfs_client.read_bytes(hdfs, final) == b"one\n"
    assert not hdfs_client.exists(hdfs, tmp)
    writer.create(tmp, b"two\n", True)
    writer.replace(tmp, final)
    assert hdfs_client.read_bytes(hdfs, final) == b"two\n"
    assert not hdfs_client.exists(hdfs, tmp)
    assert hdfs_client.list_dir(hdfs, area) == ["part-x.csv"]


def test_contract_replace_of_a_missing_source_fails(hdfs, writer, area):
    writer.mkdirs(area)
    writer.create(f"{area}/kept.csv", b"kept\n", True)
    with pytest.raises(writer.error):
        writer.replace(f"{area}/no-such.tmp", f"{area}/kept.csv")
    assert hdfs_client.read_bytes(hdfs, f"{area}/kept.csv") == b"kept\n"


def test_contract_replace_is_atomic_for_readers(hdfs, writer, area):
    """A rewrite (a replay after a crash) replaces the file in one rename, while a reader polling it always finds
    it (a delete + rename would leave a gap)."""
    writer.mkdirs(area)
    final, tmp = f"{area}/part-x.csv", f"{area}/.part-x.csv.tmp"
    writer.create(tmp, b"first\n", True)
    writer.replace(tmp, final)
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
            writer.create(tmp, f"version {i}\n".encode(), True)
            writer.replace(tmp, final)
    finally:
        done.set()
        watcher.join()
    assert missing == []
    assert hdfs_client.read_bytes(hdfs, final) == b"version 19\n"
    assert not hdfs_client.exists(hdfs, tmp)


def test_ingestion_writer_put_file_lands_via_its_temporary(hdfs, base):
    """PutHdfsPartitioned's put_file is create(tmp) + replace(tmp, final), the two calls of the contract above."""
    fs = WebHdfs(hdfs.hdfs.webhdfs_url, hdfs.hdfs.user)
    final, tmp = f"{base}/put-file/part-x.csv", f"{base}/put-file/.part-x.csv.tmp"
    fs.mkdirs(f"{base}/put-file")
    fs.put_file(final, tmp, b"first\n")
    fs.put_file(final, tmp, b"again\n")
    assert hdfs_client.read_bytes(hdfs, final) == b"again\n"
    assert not hdfs_client.exists(hdfs, tmp)


# ----- permissions: the lake is the pipeline user's; others read it and cannot change it ---------------------
OTHER_USER = "iptv-intruder"


def _as_other(cfg: Config, method: str, path: str, op: str, **params: str) -> requests.Response:
    """A raw WebHDFS call as another (simple-auth) user. A write the NameNode redirects (CREATE, APPEND) is
    sent on to the DataNode with a body, where the NameNode's permission check then answers; reads are not
    followed, so the caller sees the redirect."""
    url = f"{cfg.hdfs.webhdfs_url}/webhdfs/v1{path}"
    resp = requests.request(method, url, params={"op": op, "user.name": OTHER_USER, **params},
                            allow_redirects=False, timeout=30)  # fmt: skip
    if resp.status_code == 307 and method != "GET":
        resp = requests.request(method, resp.headers["Location"], data=b"planted\n", timeout=30)
    return resp


def _refused(resp: requests.Response) -> bool:
    return resp.status_code == 403 and resp.json()["RemoteException"]["exception"] == "AccessControlException"


def test_lake_directories_belong_to_the_pipeline_user(hdfs):
    s = hdfs.hdfs
    dirs = lake_directories(s.paths.as_dict().values())
    assert s.paths.sessions in dirs and len(dirs) >= len(s.paths.as_dict())
    statuses = {d: hdfs_client.client(hdfs).status(d) for d in dirs}
    assert {d: (st["owner"], st["group"], st["permission"]) for d, st in statuses.items()} == dict.fromkeys(
        dirs, (s.user, s.group, s.lake_permission)
    )


def test_another_user_reads_the_lake_but_cannot_write_it(hdfs):
    s = hdfs.hdfs
    lake = f"{s.paths.sessions}/permissions-test-{uuid.uuid4().hex[:8]}"
    data = b"session_id,channel\nabc,1\n"
    hdfs_client.write_bytes(hdfs, f"{lake}/part-0.csv", data)  # the pipeline's own writes work
    hdfs_client.write_bytes(hdfs, f"{lake}/part-0.csv", data + b"def,2\n", overwrite=True)
    try:
        assert _as_other(hdfs, "GET", lake, "LISTSTATUS").json()["FileStatuses"]["FileStatus"][0]["owner"] == s.user
        opened = _as_other(hdfs, "GET", f"{lake}/part-0.csv", "OPEN")
        assert opened.status_code == 307  # to the DataNode, which serves it to the same user
        assert requests.get(opened.headers["Location"], timeout=30).content == data + b"def,2\n"

        for method, path, op, params in [
            ("PUT", f"{lake}/planted.csv", "CREATE", {}),
            ("PUT", f"{s.paths.viewing_events}/planted", "MKDIRS", {}),
            ("PUT", f"{lake}/part-0.csv", "CREATE", {"overwrite": "true"}),
            ("POST", f"{lake}/part-0.csv", "APPEND", {}),
            ("PUT", f"{lake}/part-0.csv", "RENAME", {"destination": f"{lake}/moved.csv"}),
            ("DELETE", f"{lake}/part-0.csv", "DELETE", {}),
            ("PUT", lake, "SETPERMISSION", {"permission": "777"}),
        ]:
            resp = _as_other(hdfs, method, path, op, **params)
            assert _refused(resp), (op, path, resp.status_code, resp.text[:200])
        assert hdfs_client.list_dir(hdfs, lake) == ["part-0.csv"]
        assert hdfs_client.read_bytes(hdfs, f"{lake}/part-0.csv") == data + b"def,2\n"
    finally:
        hdfs_client.delete(hdfs, lake, recursive=True)
