"""Apache Superset (the dashboards) from PyPI, in a virtualenv of its own under the state directory.

Superset pins pandas < 2.2, numpy < 2.3 and SQLAlchemy < 2, which clash with the pipeline's pyspark/pandas, so
it never shares the project's virtualenv: on first use ``python3 -m venv <superset.venv>`` and
``pip install -c superset/constraints.txt apache-superset[postgres]==<version> gunicorn rich cachetools``
(6.1.0's CLI imports rich, and its PostgreSQL engine spec cachetools, without requiring them). It runs as one
gunicorn worker (threads) on ``host:port`` with its metadata in SQLite under ``data/superset``; caches are
Superset's default NullCache, no Celery or Redis. ``SECRET_KEY`` and the admin's and viewer's passwords are
generated once into ``superset.credentials_file`` (mode 600); Superset's default key is never used.
The dashboards are deployed by ``scripts/deploy_dashboards.py`` (iptv.superset), not here.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import requests

from iptv.config import Config, SupersetConfig, resolve_path
from local_stack.base import Service, StackError, ensure_generated_secrets

log = logging.getLogger(__name__)

#: Keys of the generated credentials file.
SECRET_KEYS = ("secret_key", "admin_password", "viewer_password")

CONFIG_TEMPLATE = """\
# Written by local_stack/superset.py from config/local.yaml; edits are overwritten on every start.
import json

_creds = json.load(open({credentials!r}, encoding="utf-8"))
SECRET_KEY = _creds["secret_key"]
SQLALCHEMY_DATABASE_URI = {metadata_uri!r}
DATA_DIR = {data_dir!r}
# No task queue or cache server: no async queries, thumbnails or alerts.
FEATURE_FLAGS = {{"DASHBOARD_NATIVE_FILTERS": True, "ALERT_REPORTS": False, "THUMBNAILS": False}}
WTF_CSRF_ENABLED = True
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 50000
# Who may do what is decided by roles (the deploy sets up the viewer); the public role sees nothing.
PUBLIC_ROLE_LIKE = None
"""


def credentials_path(cfg: Config) -> Path:
    return resolve_path(cfg.superset.credentials_file)


def ensure_credentials(cfg: Config) -> dict[str, str]:
    """The Superset secrets, generating the missing ones into the credentials file (mode 600)."""
    path = credentials_path(cfg)
    sizes = {key: 48 if key == "secret_key" else 18 for key in SECRET_KEYS}
    creds, generated = ensure_generated_secrets(path, sizes)
    if generated:
        log.info("generated %s into %s", ", ".join(generated), path)
    return creds


class Superset(Service):
    section: SupersetConfig
    name = "superset"
    # The dashboards read the warehouse; Superset itself starts without it.
    depends_on = ("postgres",)
    start_timeout = 180.0

    # ----- layout --------------------------------------------------------------------------
    @property
    def venv(self) -> Path:
        return resolve_path(self.section.venv)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def config_file(self) -> Path:
        return self.conf_dir / "superset_config.py"

    @property
    def metadata_db(self) -> Path:
        return self.data_dir / "superset.db"

    @property
    def initialized_marker(self) -> Path:
        return self.data_dir / f".initialized-{self.section.version}"

    def env(self) -> dict[str, str]:
        return {
            "SUPERSET_CONFIG_PATH": str(self.config_file),
            "SUPERSET_HOME": str(self.data_dir),
            "FLASK_APP": "superset.app:create_app()",
            "PYTHONPATH": "",
        }

    # ----- install -------------------------------------------------------------------------
    def is_installed(self) -> bool:
        if not (self.bin / "superset").exists() or not (self.bin / "gunicorn").exists():
            return False
        res = subprocess.run(
            [str(self.bin / "python"), "-c", "import importlib.metadata as m; print(m.version('apache-superset'))"],
            capture_output=True,
            text=True,
        )
        return res.returncode == 0 and res.stdout.strip() == self.section.version

    def install(self) -> None:
        constraints = resolve_path(self.section.constraints_file)
        if not constraints.exists():
            raise StackError(f"constraints file {constraints} not found")
        if not (self.bin / "python").exists():
            log.info("creating Superset's virtualenv %s", self.venv)
            self._run([sys.executable, "-m", "venv", str(self.venv)])
        pip = [str(self.bin / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        log.info("installing apache-superset %s into %s (a few minutes) ...", self.section.version, self.venv)
        wanted = [f"apache-superset[postgres]=={self.section.version}", "gunicorn", "rich", "cachetools"]
        self._run([*pip, "-c", str(constraints), *wanted])
        if not self.is_installed():
            raise StackError(f"apache-superset {self.section.version} did not install into {self.venv}")

    def _run(self, cmd: list[str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)  # its working directory; install runs before configure
        res = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **self.env()}, cwd=self.data_dir
        )
        if res.returncode != 0:
            tail = " | ".join((res.stdout + res.stderr).strip().splitlines()[-4:])
            raise StackError(f"{' '.join(cmd[:3])} ... failed: {tail}")
        return res

    # ----- configure -----------------------------------------------------------------------
    def superset_config(self) -> str:
        return CONFIG_TEMPLATE.format(
            credentials=str(credentials_path(self.cfg)),
            metadata_uri=f"sqlite:///{self.metadata_db}",
            data_dir=str(self.data_dir),
        )

    def configure(self) -> None:
        creds = ensure_credentials(self.cfg)
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.superset_config(), encoding="utf-8")
        if self.initialized_marker.exists():
            return
        superset = str(self.bin / "superset")
        log.info("initialising Superset's metadata database %s", self.metadata_db)
        self._run([superset, "db", "upgrade"])
        s = self.section
        # Leaves an existing admin as it is (the password through an argument: a local, root-only machine).
        self._run(
            [superset, "fab", "create-admin", "--username", s.admin_user, "--firstname", "IPTV",
             "--lastname", "Admin", "--email", f"{s.admin_user}@localhost", "--password", creds["admin_password"]]
        )  # fmt: skip
        self._run([superset, "init"])
        self.initialized_marker.write_text("ok\n", encoding="utf-8")

    # ----- run -----------------------------------------------------------------------------
    def start_processes(self) -> None:
        s = self.section
        cmd = [
            str(self.bin / "gunicorn"),
            "--workers", str(s.workers), "--worker-class", "gthread", "--threads", str(s.threads),
            "--timeout", "120", "--bind", f"{s.host}:{s.port}", "--limit-request-line", "0",
            "--limit-request-field_size", "0", "--access-logfile", "-",
            "superset.app:create_app()",
        ]  # fmt: skip
        self.spawn(cmd, cwd=self.data_dir, env=self.env())

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.section.url.rstrip('/')}/health", timeout=3).text.strip() == "OK"
        except requests.RequestException:
            return False

    def ports(self) -> list[tuple[str, int]]:
        return [(self.section.host, self.section.port)]

    def address(self) -> str:
        return self.section.url
