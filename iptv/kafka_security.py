"""The one translation of ``kafka.security`` into client settings: every Kafka client of the pipeline (admin,
producer, reconciliation, platform check, tests, benchmarks) takes its connection settings from here, for the
principal of its role (``admin``, ``producer``, ``nifi``; see :class:`iptv.config.KafkaSecurityConfig`).

:func:`client_settings` gives librdkafka's (confluent-kafka) keys, :func:`kafka_python_settings` the same in
kafka-python's keyword names, :func:`java_client_properties` a properties file for Kafka's own Java tools. The
NiFi consumer is configured through its flow parameters (iptv/nifi/flows.py), from :func:`client_settings` too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from iptv.config import Config, ConfigError, read_credentials, resolve_path

__all__ = ["client_settings", "java_client_properties", "kafka_python_settings", "write_java_client_properties"]


def _password(cfg: Config, role: str) -> str:
    sec = cfg.kafka.security
    if not sec.credentials_file:
        raise ConfigError(f"kafka.security.credentials_file is needed for {sec.sasl_mechanism}")
    password = read_credentials(sec.credentials_file).get(role)
    if not password:
        raise ConfigError(f"{resolve_path(sec.credentials_file)} has no password for the Kafka role {role!r}")
    return password


def client_settings(cfg: Config, role: str) -> dict[str, str]:
    """librdkafka settings (``bootstrap.servers`` and security) of a client acting as ``role``."""
    sec = cfg.kafka.security
    user = sec.username(role)
    out = {"bootstrap.servers": cfg.kafka.bootstrap_servers, "security.protocol": sec.protocol.lower()}
    if sec.tls and sec.ca_file:
        out["ssl.ca.location"] = str(resolve_path(sec.ca_file))
    if not sec.sasl:
        return out
    out["sasl.mechanism"] = sec.sasl_mechanism
    if sec.sasl_mechanism == "GSSAPI":
        out["sasl.kerberos.service.name"] = sec.kerberos_service_name
        out["sasl.kerberos.principal"] = sec.kerberos_principals.get(role, user)
        if role in sec.kerberos_keytabs:
            out["sasl.kerberos.keytab"] = str(resolve_path(sec.kerberos_keytabs[role]))
        return out
    out["sasl.username"] = user
    out["sasl.password"] = _password(cfg, role)
    return out


def kafka_python_settings(cfg: Config, role: str) -> dict[str, Any]:
    """:func:`client_settings` as kafka-python keyword arguments (``bootstrap_servers`` a list). kafka-python's
    GSSAPI uses the process's Kerberos credentials cache (kinit), not a keytab."""
    conf = client_settings(cfg, role)
    out: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in conf["bootstrap.servers"].split(",")],
        "security_protocol": conf["security.protocol"].upper(),
    }
    names = {
        "ssl.ca.location": "ssl_cafile",
        "sasl.mechanism": "sasl_mechanism",
        "sasl.username": "sasl_plain_username",
        "sasl.password": "sasl_plain_password",
        "sasl.kerberos.service.name": "sasl_kerberos_service_name",
    }
    out.update({names[k]: v for k, v in conf.items() if k in names})
    return out


def _jaas_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def java_client_properties(cfg: Config, role: str) -> str:
    """The client properties of ``role`` for Kafka's Java tools (``--producer.config``, ``--consumer.config``,
    ``--command-config``)."""
    sec = cfg.kafka.security
    conf = client_settings(cfg, role)
    props = {"bootstrap.servers": conf["bootstrap.servers"], "security.protocol": sec.protocol}
    if "ssl.ca.location" in conf:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = conf["ssl.ca.location"]
    if sec.sasl:
        props["sasl.mechanism"] = sec.sasl_mechanism
        if sec.sasl_mechanism == "GSSAPI":
            props["sasl.kerberos.service.name"] = sec.kerberos_service_name
            keytab = conf.get("sasl.kerberos.keytab")
            login = "useKeyTab=true storeKey=true keyTab=" + _jaas_quote(keytab) if keytab else "useTicketCache=true"
            principal = _jaas_quote(conf["sasl.kerberos.principal"])
            props["sasl.jaas.config"] = (
                f"com.sun.security.auth.module.Krb5LoginModule required {login} principal={principal};"
            )
        else:
            module = "plain.PlainLoginModule" if sec.sasl_mechanism == "PLAIN" else "scram.ScramLoginModule"
            props["sasl.jaas.config"] = (
                f"org.apache.kafka.common.security.{module} required "
                f"username={_jaas_quote(conf['sasl.username'])} password={_jaas_quote(conf['sasl.password'])};"
            )
    return "".join(f"{k}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in props.items())


def write_java_client_properties(cfg: Config, role: str, path: Path) -> Path:
    """Write :func:`java_client_properties` to ``path``, mode 600 (it holds the role's password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(java_client_properties(cfg, role))
    os.chmod(path, 0o600)
    return path
