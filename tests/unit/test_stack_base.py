"""The process plumbing every service relies on: spawn/stop by PID, port conflicts, readiness waits."""

from __future__ import annotations

import json
import socket
import stat

import pytest

from iptv.config import Config, ServiceConfig, with_overrides
from local_stack import base
from local_stack.base import Service, StackError, ensure_generated_secrets, pid_alive, port_open, wait_until

pytestmark = pytest.mark.unit


class SleepService(Service):
    """A stand-in engine: a shell that starts a child and sleeps (to prove the whole group stops)."""

    name = "sleeper"

    def __init__(self, cfg, port: int):
        super().__init__(cfg, ServiceConfig())
        self.port = port

    def start_processes(self) -> None:
        # The children name the state dir on their command line, as the real engines' processes do.
        child = f"python3 -c 'import time; time.sleep(300)' {self.state}"
        self.spawn(["bash", "-c", f"{child} & {child}; wait"])

    def ready(self) -> bool:
        return True

    def ports(self):
        return [("127.0.0.1", self.port)]


@pytest.fixture
def tmp_cfg(tmp_path):
    return with_overrides(Config(), {"stack.state_dir": str(tmp_path / "state")})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for task in (f"/proc/{pid}/task",):
        try:
            import os

            for tid in os.listdir(task):
                with open(f"{task}/{tid}/children") as fh:
                    out += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return out


def test_spawn_writes_pid_and_stop_kills_the_whole_group(tmp_cfg):
    svc = SleepService(tmp_cfg, _free_port())
    svc.start()
    pids = svc.pids()
    assert list(pids) == ["sleeper"]
    parent = pids["sleeper"]
    wait_until(lambda: len(_children(parent)) == 2, 10, "children started", interval=0.1)
    children = _children(parent)
    svc.stop()
    assert not pid_alive(parent)
    assert not any(pid_alive(c) for c in children)
    assert svc.pids() == {}
    assert not svc.pid_file.exists()
    assert "start: bash -c" in svc.log_file.read_text()


def test_start_is_idempotent(tmp_cfg):
    svc = SleepService(tmp_cfg, _free_port())
    svc.start()
    first = svc.pids()
    svc.start()
    assert svc.pids() == first
    svc.stop()


def test_port_in_use_is_a_one_line_error(tmp_cfg):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_open("127.0.0.1", port)
        svc = SleepService(tmp_cfg, port)
        with pytest.raises(StackError) as err:
            svc.start()
    assert str(err.value) == f"port {port} (sleeper) is already in use by another process"
    assert svc.pids() == {}


class FakeClock:
    """local_stack.base's ``time``: sleeping moves the clock on, and a wait that never ends is stopped."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < 100, "still polling long after the timeout"
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_until_times_out_with_the_name_of_what_it_waited_for(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(base, "time", clock)
    checks: list[float] = []
    with pytest.raises(StackError, match="the moon did not become ready within 1 s"):
        wait_until(lambda: checks.append(clock.now), 1, "the moon", interval=0.25)
    assert checks == [0.0, 0.25, 0.5, 0.75, 1.0]  # polled every interval, the last time at the deadline
    assert clock.sleeps == [0.25] * 4


def test_wait_until_returns_once_ready_and_rides_over_failing_probes(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(base, "time", clock)
    answers = iter([ConnectionRefusedError("not yet"), False, True])

    def probe() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    wait_until(probe, 10, "the sun", interval=2)
    assert clock.sleeps == [2, 2]


def test_wait_ready_reports_a_service_that_died(tmp_cfg):
    class Dying(SleepService):
        def start_processes(self) -> None:
            self.spawn(["bash", "-c", "exit 3"])

        def ready(self) -> bool:
            return False

    svc = Dying(tmp_cfg, _free_port())
    svc.start()
    with pytest.raises(StackError, match="sleeper exited during start-up"):
        svc.wait_ready()
    svc.stop()


def test_children_left_by_a_killed_main_process_are_stopped(tmp_cfg):
    # What NiFi does after a kill -9 of its JVM: its Python workers live on in the process group.
    import os
    import signal

    svc = SleepService(tmp_cfg, _free_port())
    svc.start()
    parent = svc.pids()["sleeper"]
    wait_until(lambda: len(_children(parent)) == 2, 10, "children started", interval=0.1)
    children = _children(parent)
    os.kill(parent, signal.SIGKILL)
    wait_until(lambda: not pid_alive(parent), 10, "main process gone", interval=0.1)
    assert all(pid_alive(c) for c in children)
    assert not svc.running()

    svc.start()  # a restart first reaps what the crashed run left behind
    assert not any(pid_alive(c) for c in children)
    restarted = svc.pids()["sleeper"]
    assert restarted != parent
    svc.stop()
    assert not pid_alive(restarted)


def test_kafka_cluster_id_never_starts_with_a_dash(monkeypatch, tmp_path):
    import uuid

    from local_stack import kafka as kafka_stack

    # 0xF8 encodes to "-" first in URL-safe base64: the first draw must be refused
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(range(16)))])
    with monkeypatch.context() as patch:
        patch.setattr(kafka_stack.uuid, "uuid4", lambda: next(draws))
        assert kafka_stack.new_cluster_id() == "AAECAwQFBgcICQoLDA0ODw"
    # a kept id starting with "-" is replaced, a good one kept
    broker = kafka_stack.Kafka(with_overrides(Config(), {"stack.state_dir": str(tmp_path)}))
    broker.data_dir.mkdir(parents=True)
    (broker.data_dir / "cluster.id").write_text("-7BOOF7HS8S93Qe_urqAbg\n", encoding="ascii")
    cid = broker.cluster_id()
    assert not cid.startswith("-") and len(cid) == 22
    assert broker.cluster_id() == cid == (broker.data_dir / "cluster.id").read_text(encoding="ascii").strip()


def test_generated_secrets_are_kept_completed_and_private(tmp_path):
    path = tmp_path / "secrets" / "creds.json"
    first, generated = ensure_generated_secrets(path, {"a": 18, "b": 48})
    assert generated == ["a", "b"]
    assert len(first["a"]) == 24 and len(first["b"]) == 64  # token_urlsafe: 4 characters per 3 bytes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    path.write_text(json.dumps({"a": first["a"], "other": "kept"}), encoding="utf-8")
    again, generated = ensure_generated_secrets(path, {"a": 18, "b": 48})
    assert generated == ["b"]
    assert again["a"] == first["a"] and again["other"] == "kept" and again["b"] != first["b"]
    assert ensure_generated_secrets(path, {"a": 18, "b": 48}) == (again, [])
    assert json.loads(path.read_text(encoding="utf-8")) == again


class TwoDaemons(Service):
    """A stand-in of a service of two processes (as HDFS: a NameNode and a DataNode)."""

    name = "pair"
    process_labels = ("pair-a", "pair-b")

    def __init__(self, cfg, port: int):
        super().__init__(cfg, ServiceConfig())
        self.port = port
        self.spawned: list[str] = []

    def start_processes(self) -> None:
        for label in self.missing_processes():
            self.spawned.append(label)
            self.spawn(["python3", "-c", f"import time; time.sleep(300) # {self.state}"], label=label)

    def ready(self) -> bool:
        return True

    def ports(self):
        return [("127.0.0.1", self.port)]


def test_a_killed_process_of_a_running_service_is_started_again_alone(tmp_cfg):
    import os
    import signal

    svc = TwoDaemons(tmp_cfg, _free_port())
    svc.start()
    first = svc.pids()
    assert sorted(first) == ["pair-a", "pair-b"] and svc.missing_processes() == []
    os.kill(first["pair-b"], signal.SIGKILL)
    wait_until(lambda: not pid_alive(first["pair-b"]), 10, "pair-b gone", interval=0.1)
    assert svc.running() and svc.missing_processes() == ["pair-b"]

    svc.start()
    again = svc.pids()
    assert svc.spawned == ["pair-a", "pair-b", "pair-b"]
    assert again["pair-a"] == first["pair-a"] and again["pair-b"] != first["pair-b"]
    svc.start()  # nothing missing: nothing spawned
    assert svc.spawned == ["pair-a", "pair-b", "pair-b"]
    svc.stop()
    assert not any(pid_alive(p) for p in again.values())


def test_lake_directories_are_the_paths_and_their_ancestors_below_the_top_level():
    from local_stack.hdfs import lake_directories

    got = lake_directories(["/data/iptv/raw/viewing_events", "/data/iptv/sessions/", "/user/hive/warehouse", "/lake"])
    assert got == [
        "/lake",
        "/data/iptv",
        "/user/hive",
        "/data/iptv/raw",
        "/data/iptv/sessions",
        "/user/hive/warehouse",
        "/data/iptv/raw/viewing_events",
    ]
    with pytest.raises(StackError):
        lake_directories(["/"])


def test_a_killed_child_counts_as_gone_and_is_reaped():
    """A service this process started and that was killed stays a zombie until waited for: pid_alive says it is
    gone, and reaps it, so that an engine checking its lock file's PID (PostgreSQL) does not see it alive."""
    import os
    import signal
    import subprocess
    from pathlib import Path

    child = subprocess.Popen(["sleep", "300"])
    pid = child.pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 10, "killed child gone", interval=0.05)
    assert not Path(f"/proc/{pid}").exists()
    child.returncode = -9  # reaped above: keep Popen from waiting for it again
