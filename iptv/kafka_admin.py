"""Kafka administration against the configured cluster (``kafka.bootstrap_servers``): an AdminClient and the
creation of the project topics of ``kafka.topics`` (the local stack calls :func:`ensure_topics` after Kafka
starts; the same call works on a real cluster)."""

from __future__ import annotations

import logging
from typing import Any

from iptv.config import Config

log = logging.getLogger(__name__)

__all__ = ["KafkaAdminError", "admin_client", "ensure_topics"]


class KafkaAdminError(RuntimeError):
    """A topic could not be created or altered (one line saying which and why)."""


def admin_client(cfg: Config, **extra: Any) -> Any:
    """A confluent_kafka AdminClient for the configured cluster (librdkafka's own logging silenced)."""
    from confluent_kafka.admin import AdminClient

    conf = {"bootstrap.servers": cfg.kafka.bootstrap_servers, "log_level": 0, **extra}
    return AdminClient(conf)


def ensure_topics(cfg: Config, timeout: float = 30.0) -> list[str]:
    """Create the topics of ``kafka.topics`` that are missing; raise partitions and align retention.ms and
    max.message.bytes of existing ones with the config. Idempotent. Returns the names it created."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic

    topics = list(cfg.kafka.topics.values())
    if not topics:
        return []
    admin = admin_client(cfg)
    existing = admin.list_topics(timeout=timeout).topics
    created: list[str] = []
    new = [
        NewTopic(
            t.name,
            num_partitions=t.partitions,
            replication_factor=t.replication_factor,
            config=t.broker_configs(),
        )
        for t in topics
        if t.name not in existing
    ]
    if new:
        for name, fut in admin.create_topics(new, request_timeout=timeout).items():
            try:
                fut.result()
                created.append(name)
                log.info("created topic %s", name)
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # created concurrently: fine
                    raise KafkaAdminError(f"cannot create topic {name}: {exc.args[0].str()}") from None
    for t in topics:
        name = t.name
        if name not in existing:
            continue
        want = t.partitions
        have = len(existing[name].partitions)
        if have < want:
            admin.create_partitions([NewPartitions(name, want)], request_timeout=timeout)[name].result()
            log.info("topic %s: partitions %s -> %s", name, have, want)
        wanted = t.broker_configs()
        if wanted:
            res = ConfigResource(ConfigResource.Type.TOPIC, name)
            current = admin.describe_configs([res], request_timeout=timeout)[res].result()
            changes = [
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                for key, value in wanted.items()
                if current.get(key) is None or str(current[key].value) != value
            ]
            if changes:
                change = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=changes)
                admin.incremental_alter_configs([change])[change].result()
                log.info("topic %s: %s set", name, ", ".join(f"{c.name}={c.value}" for c in changes))
    return created
