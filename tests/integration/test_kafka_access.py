"""Kafka least privilege on the real broker (kafka.security: SASL_SSL + SCRAM, ACLs of iptv.kafka_admin.ensure_acls):
an unauthenticated or wrongly authenticated client is refused; the producer's principal writes the events topic
but neither reads it nor creates topics; NiFi's reads it with its consumer group only and does not write; the
admin manages topics. Each topic here is a scratch one with the same ACLs as the events topic (ensure_acls)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from iptv.config import Config
from iptv.kafka_admin import acl_bindings, admin_client, ensure_acls
from iptv.kafka_security import client_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(kafka: Config) -> Config:
    if kafka.kafka.security.protocol != "SASL_SSL":
        pytest.skip(f"kafka.security.protocol is {kafka.kafka.security.protocol}, not SASL_SSL")
    return kafka


@pytest.fixture()
def topic(secured: Config) -> Iterator[str]:
    """A scratch topic with the ACLs the events topic has (ensure_acls for it), one message in each partition."""
    admin = admin_client(secured)
    name = f"iptv.test-access-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(timeout=30)
    ensure_acls(secured, topics=[name])
    producer = Producer({**client_settings(secured, "admin"), "log_level": 0})
    for p in range(3):
        producer.produce(name, value=b"seed", partition=p)
    assert producer.flush(30) == 0
    yield name
    admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def _refusal(conf: dict[str, Any]) -> list[KafkaError]:
    """The errors a client with ``conf`` gets asking for metadata (it must get no metadata)."""
    errors: list[KafkaError] = []
    client = AdminClient({**conf, "log_level": 0, "error_cb": errors.append})
    with pytest.raises(KafkaException) as exc:
        client.list_topics(timeout=5)
    client.poll(1)  # serve error_cb
    return [exc.value.args[0], *errors]


def _produce(cfg: Config, role: str, topic: str) -> KafkaError | None:
    """The delivery error of one message produced as ``role`` (None: delivered)."""
    result: list[KafkaError | None] = []
    producer = Producer({**client_settings(cfg, role), "log_level": 0, "message.timeout.ms": 10000})
    producer.produce(topic, value=b"x", on_delivery=lambda err, _msg: result.append(err))
    producer.flush(20)
    assert result, "no delivery report"
    return result[0]


def _consume(cfg: Config, role: str, topic: str, group: str, *, subscribe: bool = True) -> list[str]:
    """What a consumer as ``role`` in ``group`` gets within 20 s: "ok" per message, else the error names."""
    consumer = Consumer(
        {
            **client_settings(cfg, role),
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    got: list[str] = []
    try:
        if subscribe:
            consumer.subscribe([topic])
        else:  # fetch without the group's coordinator: the topic's READ alone decides
            consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            got += [m.error().name() if m.error() else "ok" for m in consumer.consume(10, 1.0)]
    finally:
        consumer.close()
    return got


# ---------------------------------------------------------------------------------------------- authentication
def test_plaintext_client_is_refused(secured):
    errors = _refusal({"bootstrap.servers": secured.kafka.bootstrap_servers})
    assert errors[0].code() == KafkaError._TRANSPORT


def test_sasl_without_tls_is_refused(secured):
    conf = {**client_settings(secured, "admin"), "security.protocol": "sasl_plaintext"}
    conf.pop("ssl.ca.location")
    assert _refusal(conf)[0].code() == KafkaError._TRANSPORT


@pytest.mark.parametrize("wrong", [{"sasl.password": "not-the-password"}, {"sasl.username": "iptv-nobody"}])
def test_wrong_password_or_unknown_user_is_refused(secured, wrong):
    errors = _refusal({**client_settings(secured, "admin"), **wrong})
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, [e.str() for e in errors]
    assert "SASL authentication error" in auth[0].str() and "invalid credentials" in auth[0].str()


def test_each_role_authenticates(secured):
    for role in ("admin", "producer", "nifi"):
        client = AdminClient({**client_settings(secured, role), "log_level": 0})
        assert client.list_topics(timeout=10).brokers, role


# ---------------------------------------------------------------------------------------------- authorization
def test_producer_writes_but_neither_reads_nor_creates(secured, topic):
    assert _produce(secured, "producer", topic) is None
    assert "TOPIC_AUTHORIZATION_FAILED" in _consume(secured, "producer", topic, "iptv-test-p", subscribe=False)
    group = secured.nifi.ingestion.group_id + "-test"
    assert _consume(secured, "producer", topic, group) == ["GROUP_AUTHORIZATION_FAILED"]
    name = f"iptv.test-access-denied-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({**client_settings(secured, "producer"), "log_level": 0})
    with pytest.raises(KafkaException) as exc:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_producer_writes_no_other_topic(secured, topic):
    other = admin_client(secured)
    name = f"iptv.test-access-other-{uuid.uuid4().hex[:8]}"
    other.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    try:
        err = _produce(secured, "producer", name)
        assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        other.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def test_nifi_reads_with_its_group_only_and_does_not_write(secured, topic):
    group = secured.nifi.ingestion.group_id
    assert _consume(secured, "nifi", topic, f"{group}-test-{uuid.uuid4().hex[:6]}")[0] == "ok"
    assert _consume(secured, "nifi", topic, f"intruder-{uuid.uuid4().hex[:6]}") == ["GROUP_AUTHORIZATION_FAILED"]
    err = _produce(secured, "nifi", topic)
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_admin_creates_and_deletes_topics(secured):
    admin = admin_client(secured)
    name = f"iptv.test-access-admin-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def test_events_topic_and_groups_have_exactly_the_least_privilege_acls(secured):
    """The stack applied ensure_acls for the events topic: its ACLs, and all ACLs on groups, are those and no
    more (no wildcard topic or group, nothing for another principal)."""
    admin = admin_client(secured)
    events = secured.kafka.topics["viewing_events"].name

    def described(rtype: ResourceType, name: str | None) -> set[tuple]:
        flt = AclBindingFilter(
            rtype, name, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
        )
        acls = admin.describe_acls(flt, request_timeout=30).result()
        return {(a.restype, a.name, a.resource_pattern_type, a.principal, a.operation, a.permission_type) for a in acls}

    want = {
        (b.restype, b.name, b.resource_pattern_type, b.principal, b.operation, b.permission_type)
        for b in acl_bindings(secured)
    }
    assert described(ResourceType.TOPIC, events) == {w for w in want if w[0] == ResourceType.TOPIC}
    assert described(ResourceType.TOPIC, "*") == set()
    assert described(ResourceType.GROUP, None) == {w for w in want if w[0] == ResourceType.GROUP}


def test_ensure_acls_removes_a_grant_beyond_least_privilege(secured, topic):
    """A READ granted to the producer by hand on its topic works until ensure_acls runs again, which deletes it."""
    from confluent_kafka.admin import AclBinding

    grant = AclBinding(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, f"User:{secured.kafka.security.producer_user}",
        "*", AclOperation.READ, AclPermissionType.ALLOW,
    )  # fmt: skip
    admin = admin_client(secured)  # kept until the future resolves
    admin.create_acls([grant])[grant].result(timeout=30)
    assert "ok" in _consume(secured, "producer", topic, "iptv-test-p", subscribe=False)
    assert ensure_acls(secured, topics=[topic])["deleted"] == 1
    assert "TOPIC_AUTHORIZATION_FAILED" in _consume(secured, "producer", topic, "iptv-test-p", subscribe=False)
