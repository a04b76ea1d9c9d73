"""Kafka on the real broker: a keyed JSON round trip with acks=all, and the project topic as configured."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import ConfigResource, NewTopic

from iptv.config import with_overrides
from iptv.kafka_admin import admin_client
from iptv.kafka_security import client_settings

pytestmark = pytest.mark.integration

N_MESSAGES = 1000


@pytest.fixture()
def test_topic(kafka):
    admin = admin_client(kafka)
    name = f"iptv.test-roundtrip-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(timeout=30)
    yield name
    admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def _wait_for_topic(admin, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        md = admin.list_topics(topic=name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and t.partitions and all(p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} has no leaders after {timeout} s")


def test_keyed_json_roundtrip(kafka, test_topic):
    conf = client_settings(kafka, "admin")
    _wait_for_topic(admin_client(kafka), test_topic)
    sent = {
        f"subscriber-{i:04d}": {"subscriber_id": i, "channel": f"ch-{i % 17}", "seconds": i * 3, "note": "é✓"}
        for i in range(N_MESSAGES)
    }
    errors: list[str] = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))

    producer = Producer({**conf, "acks": "all", "enable.idempotence": True, "log_level": 0})
    for key, value in sent.items():
        producer.produce(test_topic, key=key.encode(), value=json.dumps(value).encode(), on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0, "messages still undelivered after 30 s"
    assert errors == []

    consumer = Consumer(
        {
            **conf,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    received: dict[str, dict] = {}
    duplicates = 0
    try:
        consumer.subscribe([test_topic])
        deadline = time.monotonic() + 60
        while len(received) < N_MESSAGES and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            key = msg.key().decode()
            duplicates += key in received
            received[key] = json.loads(msg.value())
        # Nothing beyond the 1,000 messages arrives.
        extra = consumer.poll(2.0)
    finally:
        consumer.close()
    assert duplicates == 0
    assert extra is None or extra.error() is not None
    assert len(received) == N_MESSAGES
    assert received == sent


def test_project_topic_as_configured(kafka):
    admin = admin_client(kafka)
    for spec in kafka.kafka.topics.values():
        md = admin.list_topics(timeout=10)
        assert spec.name in md.topics, f"topic {spec.name} missing"
        topic = md.topics[spec.name]
        assert len(topic.partitions) >= max(3, spec.partitions)
        res = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
        configs = admin.describe_configs([res])[res].result(timeout=10)
        assert int(configs["retention.ms"].value) == spec.retention_ms


def test_auto_create_is_off(kafka):
    """Producing to an unknown topic must not create it (auto.create.topics.enable=false)."""
    name = f"iptv.test-nonexistent-{uuid.uuid4().hex[:8]}"
    producer = Producer({**client_settings(kafka, "admin"), "log_level": 0, "message.timeout.ms": 3000})
    producer.produce(name, value=b"x")
    producer.flush(10)
    assert name not in admin_client(kafka).list_topics(timeout=10).topics


def _scratch_kafka(cfg, tmp_path):
    """The installed Kafka, with data and config in a scratch directory."""
    from local_stack.kafka import Kafka

    class ScratchKafka(Kafka):
        data_dir = property(lambda self: tmp_path / "data")
        conf_dir = property(lambda self: tmp_path / "conf")
        server_log = property(lambda self: tmp_path / "logs" / "kafka-server.log")

    return ScratchKafka(cfg)


def test_storage_formats_after_a_cluster_id_that_looks_like_an_option(kafka, tmp_path):
    """kafka-storage took a kept cluster id starting with "-" for an option (a CI run failed so): the stack now
    replaces such an id and formats the storage with the real tool."""
    broker = _scratch_kafka(kafka, tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cluster.id").write_text("-7BOOF7HS8S93Qe_urqAbg\n", encoding="ascii")
    broker.configure()
    meta = dict(
        line.split("=", 1) for line in (broker.log_dir / "meta.properties").read_text().splitlines() if "=" in line
    )
    cid = (tmp_path / "data" / "cluster.id").read_text(encoding="ascii").strip()
    assert meta["cluster.id"] == cid and len(cid) == 22 and not cid.startswith("-")


def test_storage_formatted_without_scram_users_is_reformatted_with_them(kafka, tmp_path):
    """A state dir whose broker was formatted before SASL (no SCRAM users, so no client could log in) is
    reformatted with them at the next configure; one formatted with them is left alone."""
    if not kafka.kafka.security.sasl:
        pytest.skip("kafka.security.protocol without SASL")
    plain = _scratch_kafka(with_overrides(kafka, {"kafka.security.protocol": "PLAINTEXT"}), tmp_path)
    plain.configure()
    assert plain.is_formatted() and not (tmp_path / "data" / "scram-users.sha256").exists()
    (plain.log_dir / "old-topic-0").mkdir()
    secured = _scratch_kafka(kafka, tmp_path)
    secured.configure()
    assert secured.is_formatted() and (tmp_path / "data" / "scram-users.sha256").exists()
    assert not (secured.log_dir / "old-topic-0").exists()
    (secured.log_dir / "kept-0").mkdir()
    secured.configure()
    assert (secured.log_dir / "kept-0").exists()
