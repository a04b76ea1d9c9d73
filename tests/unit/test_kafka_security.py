"""iptv.kafka_security: the one translation of kafka.security into client settings (librdkafka, kafka-python,
Java tool properties); the ACLs of iptv.kafka_admin.acl_bindings; the NiFi consumer's own security settings."""

from __future__ import annotations

import json
import stat

import pytest

from iptv.config import ConfigError, load_config, with_overrides
from iptv.kafka_admin import acl_bindings
from iptv.kafka_security import (
    client_settings,
    java_client_properties,
    kafka_python_settings,
    write_java_client_properties,
)
from iptv.nifi import flows
from iptv_ingest.kafka_batches import security_settings

pytestmark = pytest.mark.unit

#: Sample passwords, made at run time (the scan of tests/unit/test_no_secrets_in_git.py reads literals).
PASSWORDS = {role: "pw-" + role for role in ("admin", "producer", "nifi")}


@pytest.fixture()
def cfg(tmp_path):
    creds = tmp_path / "kafka-credentials.json"
    creds.write_text(json.dumps(PASSWORDS))
    return with_overrides(
        load_config(environ={}),
        {
            "kafka.bootstrap_servers": "b1:9093,b2:9093",
            "kafka.security.credentials_file": str(creds),
            "kafka.security.ca_file": "/etc/kafka/ca.pem",
        },
    )


def test_local_default_is_sasl_ssl_scram():
    sec = load_config(environ={}).kafka.security
    assert (sec.protocol, sec.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")


def test_scram_settings_per_role(cfg):
    assert client_settings(cfg, "producer") == {
        "bootstrap.servers": "b1:9093,b2:9093",
        "security.protocol": "sasl_ssl",
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "iptv-producer",
        "sasl.password": PASSWORDS["producer"],
    }
    assert client_settings(cfg, "nifi")["sasl.username"] == "iptv-nifi"
    assert client_settings(cfg, "admin")["sasl.password"] == PASSWORDS["admin"]
    with pytest.raises(ConfigError, match="unknown Kafka role"):
        client_settings(cfg, "consumer")


def test_plaintext_and_ssl_need_no_credentials(cfg):
    plain = with_overrides(cfg, {"kafka.security.protocol": "PLAINTEXT", "kafka.security.credentials_file": None})
    assert client_settings(plain, "producer") == {
        "bootstrap.servers": "b1:9093,b2:9093",
        "security.protocol": "plaintext",
    }
    ssl = with_overrides(plain, {"kafka.security.protocol": "SSL"})
    assert client_settings(ssl, "nifi")["ssl.ca.location"] == "/etc/kafka/ca.pem"
    assert "sasl.username" not in client_settings(ssl, "nifi")


def test_missing_password_is_a_config_error(cfg, tmp_path):
    (tmp_path / "kafka-credentials.json").write_text(json.dumps({"admin": "x"}))
    with pytest.raises(ConfigError, match="no password for the Kafka role 'producer'"):
        client_settings(cfg, "producer")


def test_unknown_protocol_or_mechanism_is_a_config_error(cfg):
    with pytest.raises(ConfigError, match="protocol must be one of"):
        with_overrides(cfg, {"kafka.security.protocol": "TLS"})
    with pytest.raises(ConfigError, match="sasl_mechanism must be one of"):
        with_overrides(cfg, {"kafka.security.sasl_mechanism": "OAUTHBEARER"})


def test_gssapi_uses_principal_and_keytab_of_the_role(cfg):
    krb = with_overrides(
        cfg,
        {
            "kafka.security.sasl_mechanism": "GSSAPI",
            "kafka.security.kerberos_principals": {"producer": "iptv-producer@DC1.EXAMPLE"},
            "kafka.security.kerberos_keytabs": {"producer": "/etc/security/keytabs/iptv-producer.keytab"},
        },
    )
    conf = client_settings(krb, "producer")
    assert conf["sasl.mechanism"] == "GSSAPI" and "sasl.password" not in conf
    assert conf["sasl.kerberos.service.name"] == "kafka"
    assert conf["sasl.kerberos.principal"] == "iptv-producer@DC1.EXAMPLE"
    assert conf["sasl.kerberos.keytab"] == "/etc/security/keytabs/iptv-producer.keytab"
    props = java_client_properties(krb, "producer")
    assert "sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true" in props
    with pytest.raises(ConfigError, match="not GSSAPI"):
        flows.ingestion_parameters(krb, None)


def test_kafka_python_keywords(cfg):
    assert kafka_python_settings(cfg, "producer") == {
        "bootstrap_servers": ["b1:9093", "b2:9093"],
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/etc/kafka/ca.pem",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "iptv-producer",
        "sasl_plain_password": PASSWORDS["producer"],
    }


def test_java_properties_file_is_private(cfg, tmp_path):
    path = write_java_client_properties(cfg, "producer", tmp_path / "conf" / "client.properties")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    props = dict(line.split("=", 1) for line in path.read_text().splitlines())
    assert props["security.protocol"] == "SASL_SSL" and props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert props["ssl.truststore.type"] == "PEM" and props["ssl.truststore.location"] == "/etc/kafka/ca.pem"
    assert props["sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="iptv-producer" '
        f'password="{PASSWORDS["producer"]}";'
    )


def test_acls_are_least_privilege(cfg):
    got = {
        (b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.operation.name) for b in acl_bindings(cfg)
    }
    topic = cfg.kafka.topics["viewing_events"].name
    assert got == {
        ("TOPIC", topic, "LITERAL", "User:iptv-producer", "WRITE"),
        ("TOPIC", topic, "LITERAL", "User:iptv-producer", "DESCRIBE"),
        ("TOPIC", topic, "LITERAL", "User:iptv-nifi", "READ"),
        ("TOPIC", topic, "LITERAL", "User:iptv-nifi", "DESCRIBE"),
        ("GROUP", "iptv-nifi-ingestion", "PREFIXED", "User:iptv-nifi", "READ"),
    }
    assert all(b.permission_type.name == "ALLOW" and b.host == "*" for b in acl_bindings(cfg))


def test_flow_parameters_carry_the_nifi_principal(cfg):
    params = flows.ingestion_parameters(cfg, "t1")
    assert params["kafka.security.protocol"] == "SASL_SSL" and params["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert (params["kafka.sasl.username"], params["kafka.sasl.password"]) == ("iptv-nifi", PASSWORDS["nifi"])
    assert params["kafka.ssl.ca.file"] == "/etc/kafka/ca.pem" and params["kafka.group.id"] == "iptv-nifi-ingestion-t1"
    assert flows.sensitive_parameters() == {"kafka.sasl.password"}
    snapshot = flows.prepared_snapshot(params, "t1", "v1")
    values = {p["name"]: p["value"] for ctx in snapshot["parameterContexts"].values() for p in ctx["parameters"]}
    assert values["kafka.sasl.password"] is None and values["kafka.sasl.username"] == "iptv-nifi"


def test_processor_security_settings():
    assert security_settings("PLAINTEXT", "SCRAM-SHA-512", None, None, None) == {"security.protocol": "plaintext"}
    assert security_settings("SASL_SSL", "SCRAM-SHA-256", "u", "p", "/ca.pem") == {
        "security.protocol": "sasl_ssl",
        "ssl.ca.location": "/ca.pem",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "u",
        "sasl.password": "p",
    }
    with pytest.raises(ValueError, match="SASL Username and SASL Password"):
        security_settings("SASL_SSL", "SCRAM-SHA-512", "u", "", None)
