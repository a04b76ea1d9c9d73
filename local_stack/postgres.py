"""PostgreSQL 15 (Debian's binaries) as the local Greenplum stand-in.

The cluster lives in ``data/postgres`` under the state directory, owned by a non-root OS user (``postgres``,
created if missing) because PostgreSQL refuses to run as root. It listens on 127.0.0.1 at ``postgres.port``
only, with its unix socket in ``run/pgsocket``. TCP logins need a password (SCRAM); the socket admits only
the OS user as the admin role (peer). Role passwords are generated once into ``postgres.credentials_file``
(mode 600); roles and database are created by greenplum/roles.sql on every ``up`` (idempotent).
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from iptv.config import REPO_ROOT, Config, PostgresConfig, resolve_path
from local_stack.base import Service, StackError, ensure_generated_secrets, pid_alive

log = logging.getLogger(__name__)

ROLES_SQL = REPO_ROOT / "greenplum" / "roles.sql"
DEFAULT_BIN = "/usr/lib/postgresql/15/bin"


def credentials_path(cfg: Config) -> Path:
    return resolve_path(cfg.postgres.credentials_file)


def ensure_credentials(cfg: Config, *, generate_admin: bool = True) -> dict[str, str]:
    """The role passwords from the credentials file, generating the missing ones (file mode 600)."""
    pg = cfg.postgres
    path = credentials_path(cfg)
    roles = [pg.loader_user, pg.reader_user]
    if generate_admin:
        roles.append(pg.admin_user)
    creds, generated = ensure_generated_secrets(path, dict.fromkeys(roles, 24))
    if generated:
        log.info("generated passwords for %s into %s", ", ".join(generated), path)
    return creds


class Postgres(Service):
    section: PostgresConfig
    name = "postgres"
    start_timeout = 60.0

    # ----- layout --------------------------------------------------------------------------
    @property
    def bin_dir(self) -> Path:
        return Path(self.section.bin_dir or DEFAULT_BIN)

    @property
    def socket_dir(self) -> Path:
        return self.state / "run" / "pgsocket"

    @property
    def os_user(self) -> str:
        """The OS user that owns and runs the cluster: ``postgres`` when we are root, else ourselves."""
        if os.geteuid() == 0:
            return self.section.os_user or "postgres"
        return pwd.getpwuid(os.geteuid()).pw_name

    @property
    def host(self) -> str:
        return self.section.host

    @property
    def port(self) -> int:
        return self.section.port

    def _as_os_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        user = self.os_user
        return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]

    def _ensure_os_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.os_user)
        except KeyError:
            pass
        log.info("creating OS user %s to run PostgreSQL", self.os_user)
        res = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", self.os_user],
            capture_output=True, text=True,
        )  # fmt: skip
        if res.returncode != 0:
            raise StackError(f"cannot create OS user {self.os_user}: {res.stderr.strip()}")
        return pwd.getpwnam(self.os_user)

    # ----- install -------------------------------------------------------------------------
    def is_installed(self) -> bool:
        return (self.bin_dir / "postgres").exists() and (self.bin_dir / "initdb").exists()

    def install(self) -> None:
        raise StackError(
            f"PostgreSQL 15 not found in {self.bin_dir}: run `make bootstrap` (apt-get install postgresql-15)"
        )

    # ----- configure -----------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _own_dir(self, path: Path, mode: int, pw: pwd.struct_passwd) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, mode)

    def _postgresql_conf(self) -> str:
        c = self.conf_dir
        settings = {
            "data_directory": str(self.data_dir),
            "hba_file": str(c / "pg_hba.conf"),
            "ident_file": str(c / "pg_ident.conf"),
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": "50",
            # Sized for a warehouse load of a day of 1,000,000 subscribers (3 million sessions) on a 24 GB
            # machine: its sorts and hash aggregates fit in memory, its temp tables stay in local buffers, and
            # its WAL does not force a checkpoint every few seconds. JIT compilation of each large statement
            # costs more than it saves on statements that run a few seconds. The shared pool stays small: a
            # load's COPY and large scans go through small ring buffers, not the pool, so a larger one buys the
            # load little, while the first day loaded fills this one, so the server's memory is flat from then
            # on (the soak's goal) instead of creeping up as a 1 GB pool is touched for the first time.
            "shared_buffers": "256MB",
            "work_mem": "128MB",
            "temp_buffers": "256MB",
            "max_wal_size": "4GB",
            "jit": "off",
            "maintenance_work_mem": "256MB",
            "dynamic_shared_memory_type": "posix",
            "password_encryption": "scram-sha-256",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "datestyle": "iso, mdy",
            "lc_messages": "C",
            "lc_monetary": "C",
            "lc_numeric": "C",
            "lc_time": "C",
            "default_text_search_config": "pg_catalog.english",
            "logging_collector": "off",
            "log_destination": "stderr",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            "log_min_duration_statement": "5000",
        }
        lines = ["# Written by local_stack/postgres.py from config/local.yaml; edits are overwritten."]
        lines += [f"{k} = '{v}'" for k, v in settings.items()]
        return "\n".join(lines) + "\n"

    def _pg_hba(self) -> str:
        admin = self.section.admin_user
        return (
            "# Written by local_stack/postgres.py. Socket: only the OS user, as the admin role (peer).\n"
            "# TCP on loopback: any role, with its SCRAM password only (no trust, md5 or plain password).\n"
            "# Anything not matched above is rejected explicitly.\n"
            "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
            f"local   all   {admin}   peer map=stack\n"
            "local   all   all   reject\n"
            "host    all   all   127.0.0.1/32   scram-sha-256\n"
            "host    all   all   ::1/128        scram-sha-256\n"
            "host    all   all   all            reject\n"
        )

    def _pg_ident(self) -> str:
        return f"# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\nstack  {self.os_user}  {self.section.admin_user}\n"

    def configure(self) -> None:
        pw = self._ensure_os_user()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "postgresql.conf").write_text(self._postgresql_conf(), encoding="utf-8")
        (self.conf_dir / "pg_hba.conf").write_text(self._pg_hba(), encoding="utf-8")
        (self.conf_dir / "pg_ident.conf").write_text(self._pg_ident(), encoding="utf-8")
        self._own_dir(self.socket_dir, 0o755, pw)
        if self.is_initialized():
            return
        self._own_dir(self.data_dir, 0o700, pw)
        cmd = self._as_os_user(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.section.admin_user,
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--auth-local",
                "peer",
                "--auth-host",
                "scram-sha-256",
            ]
        )
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=self.data_dir, timeout=300)
        if res.returncode != 0 or not self.is_initialized():
            tail = (res.stdout + res.stderr).strip().splitlines()[-5:]
            raise StackError(f"initdb failed: {' | '.join(tail)}")
        log.info("initialized PostgreSQL cluster in %s", self.data_dir)

    # ----- run -----------------------------------------------------------------------------
    def start_processes(self) -> None:
        cmd = self._as_os_user(
            [str(self.bin_dir / "postgres"), "-c", f"config_file={self.conf_dir / 'postgresql.conf'}"]
        )
        self.spawn(cmd, cwd=self.data_dir, env={"LC_ALL": "C"})

    def ready(self) -> bool:
        isready = self.bin_dir / "pg_isready"
        exe = str(isready) if isready.exists() else (shutil.which("pg_isready") or "pg_isready")
        try:
            res = subprocess.run(
                [exe, "-q", "-h", self.host, "-p", str(self.port), "-t", "2"], capture_output=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return res.returncode == 0

    def post_start(self) -> None:
        """Create/refresh roles and database (greenplum/roles.sql). Locally through the socket as the admin
        role; for an external cluster (managed: false) over TCP with the admin password from the file."""
        s = self.section
        creds = ensure_credentials(self.cfg, generate_admin=self.managed)
        admin = s.admin_user
        if not creds.get(admin):
            raise StackError(f"no password for admin role {admin} in {credentials_path(self.cfg)}")
        names = {
            "database": s.database,
            "loader_user": s.loader_user,
            "reader_user": s.reader_user,
            "admin_user": admin,
        }
        passwords = {
            "loader_password": creds[s.loader_user],
            "reader_password": creds[s.reader_user],
            "admin_password": creds[admin],
        }
        psql = str(self.bin_dir / "psql") if (self.bin_dir / "psql").exists() else "psql"
        args = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", admin, "-d", "postgres", "-p", str(self.port)]
        for k, v in names.items():
            args += ["-v", f"{k}={v}"]
        args += ["-f", "-"]
        env = {**os.environ, "PGAPPNAME": "iptv-stack"}
        if self.managed:
            cmd = self._as_os_user([*args[:1], "-h", str(self.socket_dir), *args[1:]])
        else:
            cmd = [*args[:1], "-h", self.host, *args[1:]]
            env["PGPASSWORD"] = creds[admin]
        # Passwords go through stdin as \set lines, so they never show up in a process listing.
        for v in passwords.values():
            if "'" in v or "\\" in v or "\n" in v:
                raise StackError("a generated password contains a quote or backslash; regenerate the credentials")
        script = "".join(f"\\set {k} '{v}'\n" for k, v in passwords.items()) + ROLES_SQL.read_text(encoding="utf-8")
        res = subprocess.run(cmd, input=script, capture_output=True, text=True, env=env, cwd="/", timeout=120)
        if res.returncode != 0:
            tail = (res.stdout + res.stderr).strip().splitlines()[-5:]
            raise StackError(f"{ROLES_SQL.name} failed: {' | '.join(tail)}")
        log.info("roles %s, %s and database %s are in place", s.loader_user, s.reader_user, s.database)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open sessions, checkpoint, exit); the base stop is the fallback."""
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 60
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            try:  # reap it if this process started it (else it lingers as a zombie)
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        super().stop()

    def ports(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    def address(self) -> str:
        return f"postgresql://{self.host}:{self.port}/{self.section.database}"
