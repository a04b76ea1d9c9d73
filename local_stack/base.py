"""What every locally managed service shares: state directories, PID files, spawning, stopping
by PID, port checks and readiness waits. Service modules subclass :class:`Service`."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from iptv.config import Config, ServiceConfig, state_dir

log = logging.getLogger(__name__)

# A long-running engine's heap is committed and touched at start (with -Xms = -Xmx), as on a production host: its
# memory is then taken up front instead of growing for hours as the collector first reaches each page, and what
# grows after start-up is the process's own (off-heap) use, which the soak bench watches.
ALWAYS_PRE_TOUCH = "-XX:+AlwaysPreTouch"


class StackError(RuntimeError):
    """A one-line, user-facing failure of the stack (port in use, missing prerequisite, timeout)."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_generated_secrets(path: Path, sizes: Mapping[str, int]) -> tuple[dict[str, str], list[str]]:
    """The JSON secrets file at ``path`` with every key of ``sizes`` present: a missing one is generated
    (``secrets.token_urlsafe(size)``) and the file rewritten atomically, mode 600 in a mode-700 directory.
    Returns the secrets and the keys generated now; keys the file holds beyond ``sizes`` are kept."""
    creds: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = [key for key in sizes if not creds.get(key)]
    if missing:
        for key in missing:
            creds[key] = secrets.token_urlsafe(sizes[key])
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(creds, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    os.chmod(path, 0o600)
    return creds, missing


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone, and reap it when it is our own child (a service this
    # process started and that was killed): its entry in the process table would stay until we wait for it.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            zombie = fh.read().split(") ", 1)[1][:1] == "Z"
    except OSError:
        return True
    if zombie:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return not zombie


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 1.0) -> None:
    """Poll ``check`` until true; raise a one-line StackError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - readiness probes fail in many ways while starting
            log.debug("%s not ready yet: %s", what, exc)
        if time.monotonic() >= deadline:
            raise StackError(f"{what} did not become ready within {timeout:.0f} s")
        time.sleep(interval)


def stop_pid(pid: int, timeout: float = 30.0) -> None:
    """Stop a process we started (and its process group): SIGTERM, then SIGKILL after ``timeout``."""
    if not pid_alive(pid):
        return
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    # Services are started in their own session, so the group is theirs alone.
    target = -pgid if pgid == pid else pid
    try:
        os.kill(target, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.3)
    else:
        log.warning("pid %s did not stop within %.0f s; killing", pid, timeout)
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Children that outlived their parent in the same group.
    if target < 0:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:  # reap if it was our child
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def group_members(pgid: int, marker: str) -> list[int]:
    """Live PIDs in process group ``pgid`` whose command line mentions ``marker`` (the stack's state dir), so a
    stranger that happens to reuse the number is never touched."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getpgid(pid) != pgid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ProcessLookupError):
            continue
        if marker in cmdline and pid_alive(pid):
            members.append(pid)
    return members


class Service:
    """A locally managed engine. Subclasses set ``name`` and implement the hooks."""

    name: str = "service"
    #: Names of services that must be ready before this one starts.
    depends_on: tuple[str, ...] = ()
    #: Seconds ``up`` waits for readiness.
    start_timeout: float = 180.0
    #: Seconds ``down`` waits after SIGTERM before SIGKILL.
    stop_timeout: float = 30.0
    #: The labels (pid-file stems) of the processes :meth:`start_processes` spawns; empty: one, named ``name``.
    process_labels: tuple[str, ...] = ()

    def __init__(self, cfg: Config, section: ServiceConfig | None = None):
        """``section``: the service's part of the config (default: the config's section named ``name``)."""
        self.cfg = cfg
        self.section = cfg.service(self.name) if section is None else section
        self.state = state_dir(cfg)

    # ----- layout under the state directory -------------------------------------------------
    @property
    def home(self) -> Path:
        """Installed software of this service."""
        return self.state / "dist" / self.name

    @property
    def data_dir(self) -> Path:
        return self.state / "data" / self.name

    @property
    def conf_dir(self) -> Path:
        return self.state / "conf" / self.name

    @property
    def log_file(self) -> Path:
        return self.state / "logs" / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.state / "run" / f"{self.name}.pid"

    @property
    def secrets_dir(self) -> Path:
        return self.state / "secrets"

    @property
    def managed(self) -> bool:
        return self.section.managed

    # ----- hooks ---------------------------------------------------------------------------
    def install(self) -> None:
        """Fetch and lay out the software (idempotent, cached downloads)."""

    def is_installed(self) -> bool:
        return True

    def configure(self) -> None:
        """Write config files into conf_dir, format storage on first use (idempotent)."""

    def start_processes(self) -> None:
        """Spawn the service's process(es) with :meth:`spawn`."""
        raise NotImplementedError

    def ready(self) -> bool:
        """True when the service really answers requests."""
        raise NotImplementedError

    def post_start(self) -> None:
        """After readiness: create topics, roles, directories (idempotent)."""

    def ports(self) -> list[tuple[str, int]]:
        """(host, port) pairs the service listens on; checked for conflicts before start."""
        return []

    def address(self) -> str:
        """What a user connects to (URL or host:port)."""
        return ""

    def log_files(self) -> list[Path]:
        return [self.log_file]

    # ----- process management --------------------------------------------------------------
    def pid_files(self) -> list[Path]:
        return sorted(self.pid_file.parent.glob(f"{self.name}*.pid")) if self.pid_file.parent.exists() else []

    def _recorded_pids(self) -> list[int]:
        """The PIDs in the pid files, alive or not."""
        out = []
        for pf in self.pid_files():
            try:
                out.append(int(pf.read_text().strip()))
            except (OSError, ValueError):
                continue
        return out

    def pids(self) -> dict[str, int]:
        """Live PIDs of this service by pid-file stem."""
        out: dict[str, int] = {}
        for pf in self.pid_files():
            try:
                pid = int(pf.read_text().strip())
            except (OSError, ValueError):
                continue
            if pid_alive(pid):
                out[pf.stem] = pid
        return out

    def running(self) -> bool:
        """True while any process of the service lives."""
        return bool(self.pids())

    def missing_processes(self) -> list[str]:
        """The labels of the service's processes that are not alive (all of them when it is stopped)."""
        alive = self.pids()
        return [label for label in self.process_labels or (self.name,) if label not in alive]

    def spawn(
        self,
        cmd: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        label: str | None = None,
    ) -> int:
        """Start ``cmd`` detached in its own session, output to the log, PID to a pid file."""
        label = label or self.name
        log_path = self.state / "logs" / f"{label}.log"
        pid_path = self.state / "run" / f"{label}.pid"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        pid_path.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **(env or {})}
        with open(log_path, "ab") as out:
            out.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                list(cmd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(cwd) if cwd else None,
                env=full_env,
                start_new_session=True,
            )
        pid_path.write_text(str(proc.pid))
        log.info("%s started (pid %s), log %s", label, proc.pid, log_path)
        return proc.pid

    def check_ports_free(self) -> None:
        for host, port in self.ports():
            if port_open(host, port):
                raise StackError(f"port {port} ({self.name}) is already in use by another process")

    def start(self) -> None:
        """Start what is not running: conflict check, configure, spawn. Does not wait. Of a service of several
        processes of which some died (kill -9 of the DataNode under a live NameNode), only the dead ones are
        started again: :meth:`start_processes` spawns the :meth:`missing_processes`."""
        missing = self.missing_processes()
        if not missing:
            return
        if len(missing) == len(self.process_labels or (self.name,)):
            # A crashed run (kill -9 of the main process) can leave children behind in its process group, and
            # its killed processes linger as zombies until init reaps them: an engine that checks a lock file's
            # PID (PostgreSQL's postmaster.pid) takes a zombie for a live instance and refuses to start.
            crashed = [pid for pid in self._recorded_pids() if Path(f"/proc/{pid}").exists()]
            self.stop()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pending = [pid for pid in crashed if pid_alive(pid) or Path(f"/proc/{pid}").exists()]
                if not pending:
                    break
                time.sleep(0.05)
            self.check_ports_free()
            self.configure()
        self.start_processes()

    def wait_ready(self) -> None:
        def check() -> bool:
            if not self.running():
                raise StackError(f"{self.name} exited during start-up; see {self.log_file}")
            return self.ready()

        deadline = time.monotonic() + self.start_timeout
        while True:
            if check():
                return
            if time.monotonic() >= deadline:
                raise StackError(
                    f"{self.name} did not become ready within {self.start_timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(1.0)

    def stop(self) -> None:
        """Stop every process this service started: each PID file's process and its process group, including
        children that outlived a main process which died (e.g. NiFi's Python workers after a kill -9)."""
        for pf in self.pid_files():
            try:
                pid = int(pf.read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if pid:
                stop_pid(pid, timeout=self.stop_timeout)
                orphans = group_members(pid, str(self.state))
                for orphan in orphans:
                    log.warning("%s: killing leftover pid %s of process group %s", self.name, orphan, pid)
                    try:
                        os.kill(orphan, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                # SIGKILL lands asynchronously: return only once they are gone, so ports and files are free.
                deadline = time.monotonic() + 10
                while any(pid_alive(o) for o in orphans) and time.monotonic() < deadline:
                    time.sleep(0.05)
            pf.unlink(missing_ok=True)
