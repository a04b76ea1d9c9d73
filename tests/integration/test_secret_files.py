"""Generated secrets stay private: everything under the state directory's ``secrets`` is mode 600 in mode-700
directories, and a generated configuration file that carries one of those secrets (NiFi's nifi.properties
holds its keystore password) is mode 600 too. The stack generates them at first start; the PostgreSQL
service is the cheapest one that does, so it is what this test brings up."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from iptv.config import resolve_path

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _secret_values(secrets_dir: Path) -> set[str]:
    """The secret strings of the JSON and one-line text secrets (keys and certificates are whole files)."""
    values: set[str] = set()
    for path in secrets_dir.rglob("*"):
        if not path.is_file() or path.suffix in (".pem", ".key", ".p12", ".jks", ".crt"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        found = data.values() if isinstance(data, dict) else [data]
        values |= {v for v in found if isinstance(v, str) and len(v) >= 12}
    return values


def test_generated_secrets_are_private(postgres):
    state = resolve_path(postgres.stack.state_dir)
    secrets_dir = state / "secrets"
    pg_credentials = resolve_path(postgres.postgres.credentials_file)
    assert pg_credentials.parent == secrets_dir and pg_credentials.is_file()

    dirs = [secrets_dir, *(p for p in secrets_dir.rglob("*") if p.is_dir())]
    files = [p for p in secrets_dir.rglob("*") if p.is_file()]
    assert pg_credentials in files
    assert {str(d): oct(_mode(d)) for d in dirs if _mode(d) != 0o700} == {}
    assert {str(f): oct(_mode(f)) for f in files if _mode(f) != 0o600} == {}

    values = _secret_values(secrets_dir)
    assert len(values) >= 3  # the PostgreSQL roles' passwords at least
    leaked = {}
    conf_root = state / "conf"
    for path in conf_root.rglob("*") if conf_root.is_dir() else []:
        if path.is_file() and path.stat().st_size < 1_000_000 and _mode(path) & 0o077:
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(v in text for v in values):
                leaked[str(path)] = oct(_mode(path))
    assert leaked == {}, "generated configuration holding a secret is readable by others"


def test_kafka_secrets_are_private(kafka):
    """Kafka's generated files: the roles' passwords, the broker's own secrets, the CA key and the keystore, the
    broker's server.properties (SCRAM and keystore passwords) and a Java tool's client properties, all mode 600."""
    from local_stack.kafka import client_config_file

    sec = kafka.kafka.security
    if not sec.sasl:
        pytest.skip(f"kafka.security.protocol is {sec.protocol}: no Kafka secrets")
    state = resolve_path(kafka.stack.state_dir)
    credentials = resolve_path(sec.credentials_file)
    assert set(json.loads(credentials.read_text(encoding="utf-8"))) >= {"admin", "producer", "nifi"}
    files = [
        credentials,
        state / "secrets" / "kafka-broker.json",
        state / "secrets" / "kafka-ca.key",
        state / "secrets" / "kafka-keystore.p12",
        resolve_path(sec.ca_file),
        state / "conf" / "kafka" / "server.properties",
        client_config_file(kafka, "producer"),
    ]
    assert {str(f): oct(_mode(f)) for f in files if _mode(f) != 0o600} == {}
    assert _mode(credentials.parent) == 0o700
    props = files[-1].read_text(encoding="utf-8")
    assert json.loads(credentials.read_text(encoding="utf-8"))["producer"] in props
