"""Apache NiFi 2.x with Python processors, HTTPS on loopback and a generated single user.

Install: the parts listed in platform/nifi/pom.xml come from Maven Central (the binary zip is not published
there); the Python framework/API jars are unpacked into python/. conf/ is written from platform/nifi/conf/*.template
into the stack's conf dir, so neither nifi-resources nor nifi-bootstrap is needed: the NiFi JVM
(org.apache.nifi.NiFi) runs directly under spawn(), its PID is the one recorded, and stopping its process
group also ends the Python workers NiFi forks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import requests
import urllib3

from iptv.config import REPO_ROOT, resolve_path
from iptv.stack.base import Service, StackError, pid_alive, stop_pid
from iptv.stack.tools import java_bin, java_home, mvn

log = logging.getLogger(__name__)

PLATFORM_DIR = REPO_ROOT / "platform" / "nifi"
CONF_TEMPLATES = (
    "nifi.properties",
    "logback.xml",
    "state-management.xml",
    "login-identity-providers.xml",
    "authorizers.xml",
)


def _python_command() -> str:
    """An interpreter (3.10-3.12) with working venv+pip for NiFi's per-processor environments."""
    for cand in (REPO_ROOT / ".venv" / "bin" / "python3.11", Path(sys.executable), Path("/usr/bin/python3")):
        if not cand.exists():
            continue
        probe = "import sys, venv, ensurepip; assert (3, 10) <= sys.version_info[:2] <= (3, 12)"
        if subprocess.run([str(cand), "-c", probe], capture_output=True).returncode == 0:
            return str(cand)
    raise StackError("no Python 3.10-3.12 with venv and ensurepip for NiFi's Python processors")


class Nifi(Service):
    name = "nifi"
    start_timeout = 360.0

    # ----- layout ---------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return str(self.section.get("version", "2.8.0"))

    @property
    def marker(self) -> Path:
        return self.home / ".installed"

    @property
    def credentials_file(self) -> Path:
        return resolve_path(self.section.get("credentials_file", self.secrets_dir / "nifi-credentials.json"))

    @property
    def app_log(self) -> Path:
        return self.state / "logs" / "nifi-app.log"

    def log_files(self) -> list[Path]:
        return [self.log_file, self.app_log]

    def ports(self) -> list[tuple[str, int]]:
        return [(self.section.get("host", "127.0.0.1"), int(self.section.get("port", 8443)))]

    def address(self) -> str:
        return self.section.get("url", f"https://127.0.0.1:{self.section.get('port', 8443)}/nifi-api")

    # ----- install --------------------------------------------------------------------------
    def is_installed(self) -> bool:
        return self.marker.exists() and self.marker.read_text().strip() == self.version

    def install(self) -> None:
        staging = self.home.with_name(self.name + ".part")
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn(),
            "-B",
            "-f",
            str(PLATFORM_DIR / "pom.xml"),
            "dependency:copy@assemble",
            f"-Dnifi.home={staging}",
            f"-Dnifi.version={self.version}",
        ]
        log.info("assembling NiFi %s from Maven Central", self.version)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            found = re.findall(
                r"(?:Could not find artifact|Failure to find) (\S+)|(\S+) was not found in", res.stdout + res.stderr
            )
            missing = sorted({a or b for a, b in found})
            detail = f"missing {', '.join(missing)}" if missing else (res.stdout + res.stderr)[-600:]
            raise StackError(f"cannot assemble NiFi {self.version} from the Maven repository: {detail}")
        parts = staging / "parts"
        for jar, target in (("nifi-python-framework", "framework"), ("nifi-python-extension-api", "api")):
            dest = staging / "python" / target
            with zipfile.ZipFile(parts / f"{jar}-{self.version}.jar") as zf:
                for member in zf.namelist():
                    if member.startswith("META-INF/") or member.endswith("/"):
                        continue
                    # The framework jar nests its files under framework/; python/framework holds them flat.
                    rel = (
                        member[len("framework/") :]
                        if target == "framework" and member.startswith("framework/")
                        else member
                    )
                    out = dest / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(zf.read(member))
        shutil.rmtree(parts)
        (staging / "extensions").mkdir(exist_ok=True)
        (staging / ".installed").write_text(self.version)
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(self.home)

    # ----- secrets --------------------------------------------------------------------------
    def _secret(self, name: str, nbytes: int = 24) -> str:
        path = self.secrets_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(nbytes))
            path.chmod(0o600)
        return path.read_text().strip()

    def credentials(self) -> dict[str, str]:
        path = self.credentials_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            creds = {"username": f"iptv-{secrets.token_hex(4)}", "password": secrets.token_urlsafe(18)}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(creds, fh)
        path.chmod(0o600)
        return json.loads(path.read_text())

    def _password_hash(self, password: str) -> str:
        """bcrypt hash (cached beside the credentials; regenerated when the password changes)."""
        cache = self.secrets_dir / "nifi-password.bcrypt"
        digest_file = self.secrets_dir / "nifi-password.sha"
        import hashlib

        digest = hashlib.sha256(password.encode()).hexdigest()
        if cache.exists() and digest_file.exists() and digest_file.read_text() == digest:
            return cache.read_text().strip()
        res = subprocess.run(
            [java_bin(21), "-cp", str(self.home / "tools" / "*"), str(PLATFORM_DIR / "HashPassword.java")],
            input=password + "\n",
            capture_output=True,
            text=True,
        )
        if res.returncode != 0 or not res.stdout.startswith("$2"):
            raise StackError(f"could not hash the NiFi password: {res.stderr.strip()[-300:]}")
        cache.write_text(res.stdout.strip())
        digest_file.write_text(digest)
        for p in (cache, digest_file):
            p.chmod(0o600)
        return res.stdout.strip()

    def _keystore(self, password: str) -> None:
        """Self-signed PKCS12 keystore for 127.0.0.1/localhost and a truststore holding its certificate."""
        ks = self.secrets_dir / "nifi-keystore.p12"
        ts = self.secrets_dir / "nifi-truststore.p12"
        if ks.exists() and ts.exists():
            return
        keytool = str(java_home(21) / "bin" / "keytool")
        cert = self.secrets_dir / "nifi-cert.pem"
        for p in (ks, ts, cert):
            p.unlink(missing_ok=True)
        host = self.section.get("host", "127.0.0.1")
        steps = [
            [
                keytool,
                "-genkeypair",
                "-alias",
                "nifi-key",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-validity",
                "3650",
                "-dname",
                "CN=localhost, OU=iptv-local",
                "-ext",
                f"SAN=dns:localhost,ip:{host},ip:127.0.0.1",
                "-storetype",
                "PKCS12",
                "-keystore",
                str(ks),
                "-storepass",
                password,
                "-keypass",
                password,
            ],
            [
                keytool,
                "-exportcert",
                "-rfc",
                "-alias",
                "nifi-key",
                "-keystore",
                str(ks),
                "-storepass",
                password,
                "-file",
                str(cert),
            ],
            [
                keytool,
                "-importcert",
                "-noprompt",
                "-alias",
                "nifi-cert",
                "-file",
                str(cert),
                "-storetype",
                "PKCS12",
                "-keystore",
                str(ts),
                "-storepass",
                password,
            ],
        ]
        for cmd in steps:
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise StackError(f"keytool failed: {res.stderr.strip()[-300:]}")
        for p in (ks, ts):
            p.chmod(0o600)

    # ----- configure / start ------------------------------------------------------------------
    def configure(self) -> None:
        creds = self.credentials()
        store_password = self._secret("nifi-store-password")
        self._keystore(store_password)
        values = {
            "HOME": str(self.home),
            "CONF_DIR": str(self.conf_dir),
            "DATA_DIR": str(self.data_dir),
            "LOG_DIR": str(self.app_log.parent),
            "SECRETS_DIR": str(self.secrets_dir),
            "PYTHON_COMMAND": _python_command(),
            "PYTHON_PROCESSORS_DIR": str(
                resolve_path(self.section.get("python_processors_dir", "nifi/python-processors"))
            ),
            "SENSITIVE_PROPS_KEY": self._secret("nifi-sensitive-props.key"),
            "HOST": str(self.section.get("host", "127.0.0.1")),
            "PORT": str(self.section.get("port", 8443)),
            "STORE_PASSWORD": store_password,
            "USERNAME": creds["username"],
            "PASSWORD_HASH": self._password_hash(creds["password"]),
        }
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in CONF_TEMPLATES:
            text = (PLATFORM_DIR / "conf" / f"{name}.template").read_text()
            text = re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], text)
            out = self.conf_dir / name
            out.write_text(text)
            out.chmod(0o600)

    def jvm_command(self) -> list[str]:
        heap = str(self.section.get("heap", "1536m"))
        return [
            java_bin(21),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Djava.net.preferIPv4Stack=true",
            "-Djava.awt.headless=true",
            "-Dsun.net.http.allowRestrictedHeaders=true",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            f"-Dnifi.properties.file.path={self.conf_dir / 'nifi.properties'}",
            f"-Dlogback.configurationFile={self.conf_dir / 'logback.xml'}",
            "-Dapp=NiFi",
            f"-Dorg.apache.nifi.bootstrap.config.log.dir={self.app_log.parent}",
            "-cp",
            f"{self.conf_dir}:{self.home / 'lib'}/*",
            "org.apache.nifi.NiFi",
        ]

    def start_processes(self) -> None:
        env = {"JAVA_HOME": str(java_home(21)), "NIFI_HOME": str(self.home)}
        self.spawn(self.jvm_command(), env=env, cwd=self.home)

    def stop(self) -> None:
        # Also ends Python workers left in the group if the JVM itself had already died.
        for pf in self.pid_files():
            try:
                pid = int(pf.read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if pid:
                stop_pid(pid, timeout=60.0)
                if not pid_alive(pid):
                    try:
                        os.killpg(pid, 9)
                    except (ProcessLookupError, PermissionError):
                        pass
            pf.unlink(missing_ok=True)

    # ----- readiness ------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        s = requests.Session()
        s.verify = bool(self.section.get("verify_tls", False))
        if not s.verify:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return s

    def ready(self) -> bool:
        creds = json.loads(self.credentials_file.read_text())
        s = self._session()
        base = self.address().rstrip("/")
        r = s.post(f"{base}/access/token", data=creds, timeout=10)
        if r.status_code != 201:
            return False
        r = s.get(f"{base}/flow/about", headers={"Authorization": f"Bearer {r.text}"}, timeout=10)
        return r.status_code == 200
