"""Apache NiFi 2.3.0 with Python processors, HTTPS on loopback and mutual-TLS access.

Install: the parts listed in platform/nifi/pom.xml (paths here are under local_stack/) come from the Maven
repository (the binary zip is not published there; only some 2.x NARs are, see docs/nifi.md); the Python
framework/API jars are unpacked into python/; optionally a "standard" NAR is zipped from the served
nifi-standard-processors jar and its dependencies (platform/nifi/standard-nar/pom.xml). conf/ is written from
platform/nifi/conf/*.template into the stack's conf dir, so neither nifi-resources nor nifi-bootstrap is needed:
the NiFi JVM (org.apache.nifi.NiFi) runs directly under spawn(), its PID is the one recorded, and stopping its
process group also ends the Python workers NiFi forks. (Over 400 lines: the install, the TLS material and the
start of one engine belong to its one Service class, as for the other services.)

Access: no login provider (the single-user one is not served). The stack generates a local CA, the server
keystore/truststore and an admin client certificate (PEM + PKCS12) into the secrets dir; the managed authorizer
(file providers from nifi-framework-nar) makes the admin certificate's DN the Initial Admin.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import requests

from iptv.config import REPO_ROOT, NifiConfig, resolve_path
from local_stack.base import ALWAYS_PRE_TOUCH, Service, StackError, ensure_generated_secrets
from local_stack.tls import make_ca, make_server_keystore, run_tool
from local_stack.tools import PLATFORM_DIR, java_bin, java_home, maven_copy_dependencies, mvn

log = logging.getLogger(__name__)

NIFI_PLATFORM_DIR = PLATFORM_DIR / "nifi"
CONF_TEMPLATES = (
    "nifi.properties",
    "logback.xml",
    "state-management.xml",
    "authorizers.xml",
)
#: Root process group policies the admin gets (Initial Admin only covers the root group when a flow
#: already exists at first start, which it never does here).
ROOT_PG_POLICIES = (
    ("read", "/process-groups/{id}"),
    ("write", "/process-groups/{id}"),
    ("read", "/data/process-groups/{id}"),
    ("write", "/data/process-groups/{id}"),
    ("read", "/operation/process-groups/{id}"),
    ("write", "/operation/process-groups/{id}"),
    ("read", "/provenance-data/process-groups/{id}"),
    ("read", "/policies/process-groups/{id}"),
    ("write", "/policies/process-groups/{id}"),
)
#: Parent NAR of the locally assembled standard NAR (as for the real nifi-standard-nar in 2.x).
STANDARD_NAR_PARENT = "nifi-standard-shared-nar"


def _python_command() -> str:
    """An interpreter (3.10-3.12) with working venv+pip for NiFi's per-processor environments."""
    for cand in (REPO_ROOT / ".venv" / "bin" / "python3.11", Path(sys.executable), Path("/usr/bin/python3")):
        if not cand.exists():
            continue
        probe = "import sys, venv, ensurepip; assert (3, 10) <= sys.version_info[:2] <= (3, 12)"
        if subprocess.run([str(cand), "-c", probe], capture_output=True).returncode == 0:
            return str(cand)
    raise StackError("no Python 3.10-3.12 with venv and ensurepip for NiFi's Python processors")


class _TlsSession(requests.Session):
    """A session that always uses our CA file and client certificate. (Session.verify alone is overridden by
    $REQUESTS_CA_BUNDLE, which is set on these machines, so verify goes with every request.)"""

    def __init__(self, cert: tuple[str, str], verify: str | bool):
        super().__init__()
        self.cert = cert
        self._verify = verify

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("verify", self._verify)
        return super().request(method, url, **kwargs)


def _jar_base(name: str) -> str:
    """Artifact name of a jar file name without its version: jackson-core-2.18.2.jar -> jackson-core."""
    return re.sub(r"-\d[^-]*(-[A-Za-z0-9.]+)?\.jar$", "", name)


class Nifi(Service):
    section: NifiConfig
    name = "nifi"
    start_timeout = 360.0
    stop_timeout = 60.0

    # ----- layout ---------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.section.version

    @property
    def marker(self) -> Path:
        return self.home / ".installed"

    def _path(self, value: str | None, default: str) -> Path:
        """A TLS or credentials file of the config, or the stack's own under the secrets directory."""
        return resolve_path(value or self.secrets_dir / default)

    @property
    def credentials_file(self) -> Path:
        return self._path(self.section.credentials_file, "nifi-credentials.json")

    @property
    def ca_file(self) -> Path:
        return self._path(self.section.ca_file, "nifi-ca.pem")

    @property
    def client_cert_file(self) -> Path:
        return self._path(self.section.client_cert_file, "nifi-admin.pem")

    @property
    def client_key_file(self) -> Path:
        return self._path(self.section.client_key_file, "nifi-admin.key")

    @property
    def client_p12_file(self) -> Path:
        return self._path(self.section.client_p12_file, "nifi-admin.p12")

    @property
    def admin_identity(self) -> str:
        return self.section.admin_identity

    @property
    def app_log(self) -> Path:
        return self.state / "logs" / "nifi-app.log"

    def log_files(self) -> list[Path]:
        return [self.log_file, self.app_log]

    @property
    def management_port(self) -> int:
        return self.section.management_port

    def ports(self) -> list[tuple[str, int]]:
        host = self.section.host
        return [(host, self.section.port), (host, self.management_port)]

    def address(self) -> str:
        return self.section.url

    # ----- install --------------------------------------------------------------------------
    def is_installed(self) -> bool:
        return self.marker.exists() and self.marker.read_text().strip() == self._install_tag()

    def _install_tag(self) -> str:
        return f"{self.version}{'+standard' if self.section.standard_nar else ''}"

    def install(self) -> None:
        staging = self.home.with_name(self.name + ".part")
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn(),
            "-B",
            "-f",
            str(NIFI_PLATFORM_DIR / "pom.xml"),
            "dependency:copy@assemble",
            f"-Dnifi.home={staging}",
            f"-Dnifi.version={self.version}",
        ]
        log.info("assembling NiFi %s from the Maven repository", self.version)
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
        if self.section.standard_nar:
            self._build_standard_nar(staging / "lib")
        (staging / "extensions").mkdir(exist_ok=True)
        (staging / ".installed").write_text(self._install_tag())
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(self.home)

    def _build_standard_nar(self, lib: Path) -> None:
        """Zip nifi-standard-processors + nifi-update-attribute-processor and their runtime dependencies as a NAR
        whose parent is nifi-standard-shared-nar; jars the parents or lib/ already hold are left out."""
        provided: set[str] = {_jar_base(p.name) for p in lib.glob("*.jar")}
        for nar in (STANDARD_NAR_PARENT, "nifi-standard-services-api-nar"):
            with zipfile.ZipFile(lib / f"{nar}-{self.version}.nar") as zf:
                provided |= {_jar_base(Path(n).name) for n in zf.namelist() if n.endswith(".jar")}
        provided |= {"nifi-api", "nifi-framework-api"}
        scratch = self.state / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nifi-std-", dir=scratch) as tmp:
            deps = Path(tmp) / "deps"
            maven_copy_dependencies(
                NIFI_PLATFORM_DIR / "standard-nar" / "pom.xml",
                deps,
                extra=[f"-Dnifi.version={self.version}", "-DincludeScope=runtime"],
            )
            jars = sorted(p for p in deps.glob("*.jar") if _jar_base(p.name) not in provided)
            manifest = (
                "Manifest-Version: 1.0\n"
                "Created-By: local_stack/nifi.py (local assembly of served nifi-standard-processors)\n"
                "Nar-Group: iptv.local\n"
                "Nar-Id: nifi-standard-nar-local\n"
                f"Nar-Version: {self.version}\n"
                "Nar-Dependency-Group: org.apache.nifi\n"
                f"Nar-Dependency-Id: {STANDARD_NAR_PARENT}\n"
                f"Nar-Dependency-Version: {self.version}\n"
                "Clone-During-Instance-Class-Loading: false\n"
            )
            out = lib / f"nifi-standard-nar-local-{self.version}.nar"
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
                # Directory entries first: NiFi's NarUnpacker creates directories only from them.
                for d in ("META-INF/", "META-INF/bundled-dependencies/"):
                    zf.writestr(d, "")
                zf.writestr("META-INF/MANIFEST.MF", manifest)
                for jar in jars:
                    zf.write(jar, f"META-INF/bundled-dependencies/{jar.name}")
        log.info("built %s (%d bundled jars)", out.name, len(jars))

    # ----- secrets --------------------------------------------------------------------------
    def _secret(self, name: str, nbytes: int = 24) -> str:
        path = self.secrets_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(nbytes))
        return path.read_text().strip()

    def credentials(self) -> dict[str, str]:
        """{"p12_password": ...} of the admin PKCS12 (generated once)."""
        creds, _ = ensure_generated_secrets(self.credentials_file, {"p12_password": 18})
        return creds

    def _tls(self, store_password: str) -> None:
        """Local CA, server keystore/truststore (PKCS12) and the admin client certificate (PEM + PKCS12).

        Generated once with the openssl CLI and the JDK's keytool; kept across down/up and reinstall."""
        sd = self.secrets_dir
        ks, ts = sd / "nifi-keystore.p12", sd / "nifi-truststore.p12"
        ca_key = sd / "nifi-ca.key"
        outputs = (self.ca_file, ca_key, ks, ts, self.client_cert_file, self.client_key_file, self.client_p12_file)
        if all(p.exists() for p in outputs):
            return
        sd.mkdir(parents=True, exist_ok=True)
        sd.chmod(0o700)
        for p in outputs:
            p.unlink(missing_ok=True)
        log.info("generating the NiFi CA, server keystore and admin client certificate in %s", sd)
        make_ca(self.ca_file, ca_key, "iptv-local-nifi-ca")
        make_server_keystore(self.ca_file, ca_key, ks, store_password, self.section.host, "nifi-key")
        run_tool(
            [str(java_home(21) / "bin" / "keytool"), "-importcert", "-noprompt", "-alias", "iptv-local-nifi-ca",
             "-file", str(self.ca_file), "-storetype", "PKCS12", "-keystore", str(ts), "-storepass:env", "IPTV_PASS"],
            "keytool (truststore)", store_password,
        )  # fmt: skip
        subj = "/" + "/".join(reversed([part.strip() for part in self.admin_identity.split(",")]))
        run_tool(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "825",
             "-subj", subj, "-CA", str(self.ca_file), "-CAkey", str(ca_key),
             "-keyout", str(self.client_key_file), "-out", str(self.client_cert_file),
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment", "-addext", "extendedKeyUsage=clientAuth"],
            "openssl (admin client certificate)",
        )  # fmt: skip
        run_tool(
            ["openssl", "pkcs12", "-export", "-name", "iptv-nifi-admin", "-in", str(self.client_cert_file),
             "-inkey", str(self.client_key_file), "-certfile", str(self.ca_file), "-out", str(self.client_p12_file),
             "-passout", "env:IPTV_PASS"],
            "openssl (admin PKCS12)", self.credentials()["p12_password"],
        )  # fmt: skip
        for p in outputs:
            p.chmod(0o600)

    # ----- configure / start ------------------------------------------------------------------
    def configure(self) -> None:
        self.credentials()
        store_password = self._secret("nifi-store-password")
        self._tls(store_password)
        values = {
            "HOME": str(self.home),
            "CONF_DIR": str(self.conf_dir),
            "DATA_DIR": str(self.data_dir),
            "LOG_DIR": str(self.app_log.parent),
            "SECRETS_DIR": str(self.secrets_dir),
            "PYTHON_COMMAND": _python_command(),
            "PYTHON_PROCESSORS_DIR": str(resolve_path(self.section.python_processors_dir)),
            "SENSITIVE_PROPS_KEY": self._secret("nifi-sensitive-props.key"),
            "HOST": self.section.host,
            "PORT": str(self.section.port),
            "STORE_PASSWORD": store_password,
            "ADMIN_IDENTITY": self.admin_identity,
        }
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for name in CONF_TEMPLATES:
            text = (NIFI_PLATFORM_DIR / "conf" / f"{name}.template").read_text()
            text = re.sub(r"@([A-Z_]+)@", lambda m: values.get(m.group(1), m.group(0)), text)
            out = self.conf_dir / name
            out.write_text(text)
            out.chmod(0o600)

    def jvm_command(self) -> list[str]:
        heap = self.section.heap
        return [
            java_bin(21),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            ALWAYS_PRE_TOUCH,
            "-Djava.net.preferIPv4Stack=true",
            "-Djava.awt.headless=true",
            "-Dsun.net.http.allowRestrictedHeaders=true",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--enable-native-access=ALL-UNNAMED",
            f"-Dnifi.properties.file.path={self.conf_dir / 'nifi.properties'}",
            # NiFi's management (health) server; its default port would clash between two stacks on one machine.
            f"-Dorg.apache.nifi.management.server.address={self.ports()[1][0]}:{self.management_port}",
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

    # ----- REST with the admin client certificate ----------------------------------------------
    def _session(self) -> requests.Session:
        return _TlsSession(
            (str(self.client_cert_file), str(self.client_key_file)),
            str(self.ca_file) if self.section.verify_tls else False,
        )

    def ready(self) -> bool:
        try:
            r = self._session().get(f"{self.address().rstrip('/')}/flow/current-user", timeout=10)
        except requests.RequestException as exc:
            log.debug("nifi not answering yet: %s", exc)
            return False
        return r.status_code == 200 and r.json().get("identity") == self.admin_identity

    def post_start(self) -> None:
        """Give the admin the root process group's policies (component, data, operation, provenance, policies)."""
        if not self.managed:
            return
        s = self._session()
        base = self.address().rstrip("/")
        root_id = s.get(f"{base}/flow/process-groups/root", timeout=30).json()["processGroupFlow"]["id"]
        users = s.get(f"{base}/tenants/users", timeout=30).json()["users"]
        admin = next((u for u in users if u["component"]["identity"] == self.admin_identity), None)
        if admin is None:
            raise StackError(f"NiFi user {self.admin_identity} missing; delete {self.data_dir}/users.xml to reseed")
        for action, pattern in ROOT_PG_POLICIES:
            resource = pattern.format(id=root_id)
            r = s.get(f"{base}/policies/{action}{resource}", timeout=30)
            policy = r.json() if r.status_code == 200 else None
            if policy and policy["component"]["resource"] == resource:
                if any(u["id"] == admin["id"] for u in policy["component"].get("users", [])):
                    continue
                policy["component"]["users"] = [*policy["component"]["users"], {"id": admin["id"]}]
                r = s.put(
                    f"{base}/policies/{policy['id']}",
                    json={"revision": policy["revision"], "component": policy["component"]},
                    timeout=30,
                )
            else:
                body = {
                    "revision": {"version": 0},
                    "component": {"action": action, "resource": resource, "users": [{"id": admin["id"]}]},
                }
                r = s.post(f"{base}/policies", json=body, timeout=30)
            if r.status_code not in (200, 201):
                raise StackError(f"could not grant {action} {resource} to {self.admin_identity}: {r.text[:200]}")
            log.info("granted %s %s to %s", action, resource, self.admin_identity)
