"""Where messages go: Kafka (confluent-kafka or kafka-python, idempotent, acks=all) or HDFS files.

Both Kafka sinks check the connection and the topic up front, so an unreachable broker is a one-line
:class:`SinkError` within seconds instead of a hang. HDFS access goes through a two-method interface
(:class:`HdfsWriter`) backed by :mod:`iptv.hdfs_client`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from iptv.config import Config

log = logging.getLogger(__name__)

CLIENTS = ("confluent", "kafka-python")
#: The producer library ``live``/``backfill`` use unless --client says otherwise (chosen by bench/bench_producer.py).
DEFAULT_CLIENT = "confluent"
CONNECT_TIMEOUT_S = 5.0


class SinkError(RuntimeError):
    """A one-line, user-facing delivery failure (broker unreachable, topic missing, delivery failed)."""


class KafkaSink(Protocol):
    delivered: int
    failed: int
    first_error: str | None

    def send(self, key: bytes, value: bytes) -> None: ...
    def poll(self, timeout: float) -> None: ...
    def flush(self, timeout: float) -> int: ...
    def close(self) -> None: ...


class ConfluentSink:
    """confluent-kafka (librdkafka): idempotent, acks=all, small linger for batching."""

    def __init__(self, settings: dict[str, Any], topic: str, extra: dict[str, Any] | None = None):
        """``settings``: librdkafka connection and security settings (iptv.kafka_security.client_settings)."""
        from confluent_kafka import KafkaException, Producer

        bootstrap = settings["bootstrap.servers"]
        self.topic = topic
        self.delivered = 0
        self.failed = 0
        self.first_error: str | None = None
        conf = {
            **settings,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 200_000,
            "client.id": "iptv-producer",
            "log_level": 0,  # librdkafka would print connection errors to stderr; we report them ourselves
            "error_cb": self._on_error,
            **(extra or {}),
        }
        self._p = Producer(conf)
        try:
            md = self._p.list_topics(timeout=CONNECT_TIMEOUT_S)
        except KafkaException as exc:
            raise SinkError(f"Kafka at {bootstrap} is unreachable ({exc.args[0].str()})") from None
        if topic not in md.topics:
            raise SinkError(f"Kafka topic {topic!r} does not exist on {bootstrap} (create it first)")
        self._produce = self._p.produce
        self._since_poll = 0

    def _on_error(self, err: Any) -> None:
        log.debug("librdkafka: %s", err)

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1
            if self.first_error is None:
                self.first_error = err.str()

    def send(self, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._produce(self.topic, value, key, on_delivery=self._on_delivery)
                break
            except BufferError:
                self._p.poll(0.05)
        self._since_poll += 1
        if self._since_poll >= 1000:
            self._p.poll(0)
            self._since_poll = 0

    def poll(self, timeout: float) -> None:
        self._p.poll(timeout)

    def flush(self, timeout: float = 60.0) -> int:
        return self._p.flush(timeout)

    def close(self) -> None:
        self.flush(10.0)


class KafkaPythonSink:
    """kafka-python: the pure-Python alternative (idempotent, acks=all)."""

    def __init__(self, settings: dict[str, Any], topic: str, extra: dict[str, Any] | None = None):
        """``settings``: kafka-python connection and security keywords (iptv.kafka_security.kafka_python_settings)."""
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        bootstrap = ",".join(settings["bootstrap_servers"])
        self.topic = topic
        self.delivered = 0
        self.failed = 0
        self.first_error: str | None = None
        try:
            self._p = KafkaProducer(
                **settings,
                acks="all",
                enable_idempotence=True,
                linger_ms=20,
                batch_size=1_000_000,
                max_block_ms=int(CONNECT_TIMEOUT_S * 1000),
                bootstrap_timeout_ms=int(CONNECT_TIMEOUT_S * 1000),
                allow_auto_create_topics=False,
                client_id="iptv-producer",
                **(extra or {}),
            )
        except KafkaError as exc:  # kafka-python 3: KafkaTimeoutError "Unable to bootstrap from [...]"
            raise SinkError(f"Kafka at {bootstrap} is unreachable ({exc})") from None
        try:
            parts = self._p.partitions_for(topic)
        except KafkaError as exc:
            self._p.close(timeout=1)
            raise SinkError(f"Kafka topic {topic!r} is not available on {bootstrap} ({type(exc).__name__})") from None
        if not parts:
            self._p.close(timeout=1)
            raise SinkError(f"Kafka topic {topic!r} does not exist on {bootstrap} (create it first)")
        self._ok = self._count_ok
        self._err = self._count_err

    def _count_ok(self, _md: Any) -> None:
        self.delivered += 1

    def _count_err(self, exc: BaseException) -> None:
        self.failed += 1
        if self.first_error is None:
            self.first_error = str(exc) or type(exc).__name__

    def send(self, key: bytes, value: bytes) -> None:
        fut = self._p.send(self.topic, value=value, key=key)
        fut.add_callback(self._ok)
        fut.add_errback(self._err)

    def poll(self, timeout: float) -> None:
        import time

        time.sleep(timeout)  # kafka-python delivers from its own I/O thread

    def flush(self, timeout: float = 60.0) -> int:
        from kafka.errors import KafkaTimeoutError

        try:
            self._p.flush(timeout=timeout)
        except KafkaTimeoutError:
            pass
        return 0

    def close(self) -> None:
        self._p.close(timeout=10)


def kafka_sink(client: str, cfg: Config, topic: str, extra: dict[str, Any] | None = None) -> KafkaSink:
    """A sink of ``client`` to ``topic`` of the configured cluster, as the producer principal."""
    from iptv.kafka_security import client_settings, kafka_python_settings

    if client == "confluent":
        return ConfluentSink(client_settings(cfg, "producer"), topic, extra)
    if client == "kafka-python":
        return KafkaPythonSink(kafka_python_settings(cfg, "producer"), topic, extra)
    raise ValueError(f"unknown Kafka client {client!r}; one of {CLIENTS}")


class HdfsWriter(Protocol):
    """What the producer needs from HDFS."""

    def mkdirs(self, path: str) -> None: ...
    def write(self, path: str, data: bytes) -> None: ...


class ProjectHdfs:
    """:class:`HdfsWriter` over :mod:`iptv.hdfs_client` (WebHDFS), files overwritten (idempotent reruns)."""

    def __init__(self, cfg: Config):
        try:
            from iptv import hdfs_client
        except ImportError as exc:
            raise SinkError(f"HDFS output needs iptv.hdfs_client ({exc})") from None
        self.cfg = cfg
        self._h = hdfs_client
        try:
            self._h.exists(cfg, "/")
        except Exception as exc:  # noqa: BLE001 - connection errors come in many types (requests, HdfsError)
            raise SinkError(f"HDFS at {cfg.hdfs.webhdfs_url} is unreachable ({type(exc).__name__})") from None

    def mkdirs(self, path: str) -> None:
        self._h.mkdirs(self.cfg, path)

    def write(self, path: str, data: bytes) -> None:
        self._h.write_bytes(self.cfg, path, data, overwrite=True)
