"""Kafka administration against the configured cluster (``kafka.bootstrap_servers``), as the admin principal: an
AdminClient, the creation of the project topics of ``kafka.topics`` and the ACLs of the pipeline's principals
(the local stack calls :func:`ensure_topics` and :func:`ensure_acls` after Kafka starts; the same calls work on a
real cluster)."""

from __future__ import annotations

import logging
from typing import Any

from iptv.config import Config
from iptv.kafka_security import client_settings

log = logging.getLogger(__name__)

__all__ = ["KafkaAdminError", "acl_bindings", "admin_client", "ensure_acls", "ensure_topics"]


class KafkaAdminError(RuntimeError):
    """A topic could not be created or altered (one line saying which and why)."""


def admin_client(cfg: Config, **extra: Any) -> Any:
    """A confluent_kafka AdminClient for the configured cluster as the admin principal (librdkafka's own logging
    silenced)."""
    from confluent_kafka.admin import AdminClient

    conf = {**client_settings(cfg, "admin"), "log_level": 0, **extra}
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


def acl_bindings(cfg: Config, topics: list[str] | None = None) -> list[Any]:
    """The ACLs of least privilege for ``topics`` (default: the events topic, ``kafka.topics.viewing_events``):
    the producer principal may WRITE (and DESCRIBE) them, the nifi principal READ (and DESCRIBE) them and READ
    the consumer groups named ``nifi.ingestion.group_id`` or starting with it (the flow instances' groups).
    Nothing else: other principals, topics, groups and the cluster are the admin's (a super user)."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    sec = cfg.kafka.security
    names = topics if topics is not None else [cfg.kafka.topics["viewing_events"].name]
    producer, nifi = f"User:{sec.username('producer')}", f"User:{sec.username('nifi')}"

    def allow(rtype: Any, name: str, pattern: Any, principal: str, op: Any) -> Any:
        return AclBinding(rtype, name, pattern, principal, "*", op, AclPermissionType.ALLOW)

    out = []
    for name in names:
        for op in (AclOperation.WRITE, AclOperation.DESCRIBE):
            out.append(allow(ResourceType.TOPIC, name, ResourcePatternType.LITERAL, producer, op))
        for op in (AclOperation.READ, AclOperation.DESCRIBE):
            out.append(allow(ResourceType.TOPIC, name, ResourcePatternType.LITERAL, nifi, op))
    group = cfg.nifi.ingestion.group_id
    out.append(allow(ResourceType.GROUP, group, ResourcePatternType.PREFIXED, nifi, AclOperation.READ))
    return out


def _acl_key(b: Any) -> tuple:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type)


def ensure_acls(cfg: Config, topics: list[str] | None = None, timeout: float = 30.0) -> dict[str, int]:
    """Make the ACLs of :func:`acl_bindings` the only ones the producer and nifi principals hold on those topics
    and on the group prefix: create the missing ones (creating an existing ACL is a no-op for Kafka) and delete
    any other of theirs there (say a READ granted by hand). ACLs of other principals and on other resources are
    left alone. Needs an authorizer on the brokers; with a protocol without SASL (no principals) it does
    nothing. Returns {"created": n, "deleted": n}."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AclBindingFilter, AclOperation, AclPermissionType

    if not cfg.kafka.security.sasl:
        log.info("kafka.security.protocol %s: no principals, no ACLs", cfg.kafka.security.protocol)
        return {"created": 0, "deleted": 0}
    bindings = acl_bindings(cfg, topics)
    wanted = {_acl_key(b) for b in bindings}
    admin = admin_client(cfg)
    try:
        for fut in admin.create_acls(bindings, request_timeout=timeout).values():
            fut.result()
        resources = {(b.restype, b.name, b.resource_pattern_type) for b in bindings}
        principals = {b.principal for b in bindings}
        filters = [
            AclBindingFilter(rtype, name, pattern, principal, None, AclOperation.ANY, AclPermissionType.ANY)
            for rtype, name, pattern in sorted(resources, key=str)
            for principal in sorted(principals)
        ]
        stale = [
            acl
            for flt in filters
            for acl in admin.describe_acls(flt, request_timeout=timeout).result()
            if _acl_key(acl) not in wanted
        ]
        if stale:
            exact = [
                AclBindingFilter(a.restype, a.name, a.resource_pattern_type, a.principal, a.host,
                                 a.operation, a.permission_type)
                for a in stale
            ]  # fmt: skip
            for fut in admin.delete_acls(exact, request_timeout=timeout).values():
                fut.result()
            log.warning("Kafka ACLs: deleted %d beyond least privilege: %s", len(stale), "; ".join(map(str, stale)))
    except KafkaException as exc:
        raise KafkaAdminError(f"cannot set the Kafka ACLs: {exc.args[0].str()}") from None
    log.info(
        "Kafka ACLs: %d bindings for %s and group prefix %s",
        len(bindings),
        ", ".join(topics or [cfg.kafka.topics["viewing_events"].name]),
        cfg.nifi.ingestion.group_id,
    )
    return {"created": len(bindings), "deleted": len(stale)}
