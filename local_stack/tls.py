"""The local stack's TLS material, made with the openssl CLI: a local CA and server keystores it signs (NiFi's
HTTPS, Kafka's SASL_SSL listener). Passwords reach openssl through the environment, never the command line."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from local_stack.base import StackError


def run_tool(cmd: list[str], what: str, password: str | None = None) -> None:
    """Run a key tool; ``password`` reaches it as the environment variable IPTV_PASS (``env:IPTV_PASS`` for
    openssl, ``-storepass:env IPTV_PASS`` for keytool)."""
    env = {**os.environ, "IPTV_PASS": password} if password else None
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise StackError(f"{what} failed: {(res.stderr or res.stdout).strip()[-300:]}")


def subject_alt_names(host: str) -> str:
    """localhost, 127.0.0.1 and ``host`` (an IP or a DNS name) as an openssl subjectAltName value."""
    own = f"IP:{host}" if host[0].isdigit() else f"DNS:{host}"
    return ",".join(dict.fromkeys(["DNS:localhost", "IP:127.0.0.1", own]))


def make_ca(ca_file: Path, ca_key: Path, common_name: str) -> None:
    """A self-signed CA (10 years): certificate ``ca_file`` (PEM) and its unencrypted key ``ca_key``."""
    run_tool(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
         "-subj", f"/CN={common_name}", "-keyout", str(ca_key), "-out", str(ca_file),
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        "openssl (CA)",
    )  # fmt: skip


def make_server_keystore(ca_file: Path, ca_key: Path, keystore: Path, password: str, host: str, alias: str) -> None:
    """A PKCS12 ``keystore`` (password ``password``) holding a server certificate for localhost/127.0.0.1/``host``
    signed by the CA, its key (under ``alias``) and the CA certificate. The loose key and certificate only live in
    a temporary directory beside the keystore."""
    with tempfile.TemporaryDirectory(dir=keystore.parent) as tmp:
        srv_key, srv_crt = Path(tmp) / "server.key", Path(tmp) / "server.pem"
        run_tool(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "825",
             "-subj", "/CN=localhost", "-CA", str(ca_file), "-CAkey", str(ca_key),
             "-keyout", str(srv_key), "-out", str(srv_crt),
             "-addext", f"subjectAltName={subject_alt_names(host)}", "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
             "-addext", "extendedKeyUsage=serverAuth,clientAuth"],
            "openssl (server certificate)",
        )  # fmt: skip
        run_tool(
            ["openssl", "pkcs12", "-export", "-name", alias, "-in", str(srv_crt), "-inkey", str(srv_key),
             "-certfile", str(ca_file), "-out", str(keystore), "-passout", "env:IPTV_PASS"],
            "openssl (server keystore)", password,
        )  # fmt: skip
