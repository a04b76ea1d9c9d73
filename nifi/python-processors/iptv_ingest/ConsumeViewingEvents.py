"""NiFi 2 Python processor: consume the viewing-events topic into batch FlowFiles, committing Kafka offsets only
after NiFi has durably taken the batch.

FlowFileSource with confluent-kafka (``enable.auto.commit=false``). Each trigger first commits the offsets of the
batches emitted by earlier triggers (their NiFi session was committed when the earlier ``create()`` returned),
then polls until ``Max Batch Count`` / ``Max Batch Size`` / ``Max Batch Wait`` and emits one FlowFile whose lines
are ``<partition>\\t<offset>@<timestamp_ms>\\t<key>\\t<message>`` (key and message escaped, see
kafka_batches.py). When nothing arrived for ``Tick Interval`` it emits an empty FlowFile with ``iptv.tick=true``
so that downstream expiry runs on an idle stream. A crash between NiFi's commit and the Kafka commit makes Kafka
redeliver: PairViewingEvents skips those offsets. See docs/ingestion.md.
"""

from __future__ import annotations

import time

from nifiapi.flowfilesource import FlowFileSource, FlowFileSourceResult
from nifiapi.properties import PropertyDescriptor, StandardValidators, TimeUnit
from nifiapi.relationship import Relationship

try:
    from iptv_ingest.kafka_batches import Batch, PendingCommits, security_settings
except ImportError:  # NiFi loads sibling modules as top-level modules
    from kafka_batches import Batch, PendingCommits, security_settings

REL_SUCCESS = "success"


class ConsumeViewingEvents(FlowFileSource):
    class Java:
        implements = ["org.apache.nifi.python.processor.FlowFileSource"]

    class ProcessorDetails:
        version = "0.5.0"
        description = (
            "Consumes a Kafka topic with confluent-kafka into batch FlowFiles (one line per message: partition, "
            "offset, timestamp, key, message), committing offsets only after NiFi has committed the batch. Emits an "
            "empty tick FlowFile (iptv.tick=true) when the topic is idle. Run with one concurrent task."
        )
        tags = ["iptv", "kafka", "consume", "exactly-once", "batch"]
        dependencies = ["confluent-kafka>=2.3"]

    BOOTSTRAP = PropertyDescriptor(
        name="Kafka Bootstrap Servers",
        description="host:port list of the Kafka brokers.",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    TOPIC = PropertyDescriptor(
        name="Topic",
        description="Topic to consume.",
        required=True,
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    GROUP_ID = PropertyDescriptor(
        name="Group ID",
        description="Kafka consumer group (committed offsets live there).",
        required=True,
        default_value="iptv-nifi-ingestion",
        validators=[StandardValidators.NON_EMPTY_VALIDATOR],
    )
    OFFSET_RESET = PropertyDescriptor(
        name="Offset Reset",
        description="Where a group without committed offsets starts.",
        required=True,
        default_value="earliest",
        allowable_values=["earliest", "latest"],
    )
    MAX_COUNT = PropertyDescriptor(
        name="Max Batch Count",
        description="Messages per batch FlowFile at most.",
        required=True,
        default_value="20000",
        validators=[StandardValidators.POSITIVE_INTEGER_VALIDATOR],
    )
    MAX_BYTES = PropertyDescriptor(
        name="Max Batch Size",
        description="Content bytes per batch FlowFile at most (e.g. '4 MB').",
        required=True,
        default_value="4 MB",
        validators=[StandardValidators.DATA_SIZE_VALIDATOR],
    )
    MAX_WAIT = PropertyDescriptor(
        name="Max Batch Wait",
        description="Longest time one trigger polls before emitting what it has (bounds the latency of a quiet "
        "stream).",
        required=True,
        default_value="5 sec",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    TICK = PropertyDescriptor(
        name="Tick Interval",
        description="Emit an empty tick FlowFile (iptv.tick=true) after this long without a batch.",
        required=True,
        default_value="30 sec",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )
    SESSION_TIMEOUT = PropertyDescriptor(
        name="Session Timeout",
        description="Kafka consumer session timeout (how soon a crashed consumer's partitions are reassigned).",
        required=True,
        default_value="10 sec",
        validators=[StandardValidators.TIME_PERIOD_VALIDATOR],
    )

    SECURITY_PROTOCOL = PropertyDescriptor(
        name="Security Protocol",
        description="How to reach the brokers: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
        required=True,
        default_value="PLAINTEXT",
        allowable_values=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
    )
    SASL_MECHANISM = PropertyDescriptor(
        name="SASL Mechanism",
        description="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL).",
        required=True,
        default_value="SCRAM-SHA-512",
        allowable_values=["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"],
    )
    SASL_USERNAME = PropertyDescriptor(
        name="SASL Username",
        description="The consumer's principal (with SASL_PLAINTEXT or SASL_SSL).",
        required=False,
    )
    SASL_PASSWORD = PropertyDescriptor(
        name="SASL Password",
        description="Its password (with SASL_PLAINTEXT or SASL_SSL).",
        required=False,
        sensitive=True,
    )
    SSL_CA_FILE = PropertyDescriptor(
        name="SSL CA File",
        description="PEM file of the CA that verifies the brokers (with SSL or SASL_SSL; empty: the system's CAs).",
        required=False,
    )

    PROPERTIES = [
        BOOTSTRAP,
        TOPIC,
        GROUP_ID,
        OFFSET_RESET,
        MAX_COUNT,
        MAX_BYTES,
        MAX_WAIT,
        TICK,
        SESSION_TIMEOUT,
        SECURITY_PROTOCOL,
        SASL_MECHANISM,
        SASL_USERNAME,
        SASL_PASSWORD,
        SSL_CA_FILE,
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.consumer = None
        self.topic = None
        self.pending = PendingCommits()
        self.last_emit = time.monotonic()
        self.left = time.monotonic()  # when create() last returned a batch
        self.settings: dict = {}

    def getPropertyDescriptors(self):
        return self.PROPERTIES

    def getRelationships(self):
        return [Relationship(REL_SUCCESS, "Batches of Kafka messages, and empty tick FlowFiles.")]

    # ------------------------------------------------------------------ lifecycle
    def onScheduled(self, context) -> None:
        from confluent_kafka import Consumer  # only inside the venv NiFi builds

        self.topic = context.getProperty(self.TOPIC).getValue()
        self.settings = {
            "max_count": int(context.getProperty(self.MAX_COUNT).asInteger()),
            "max_bytes": int(context.getProperty(self.MAX_BYTES).asDataSize(_bytes_unit())),
            "max_wait": float(context.getProperty(self.MAX_WAIT).asTimePeriod(TimeUnit.MILLISECONDS)) / 1000.0,
            "tick": float(context.getProperty(self.TICK).asTimePeriod(TimeUnit.MILLISECONDS)) / 1000.0,
        }
        conf = {
            "bootstrap.servers": context.getProperty(self.BOOTSTRAP).getValue(),
            **security_settings(
                context.getProperty(self.SECURITY_PROTOCOL).getValue(),
                context.getProperty(self.SASL_MECHANISM).getValue(),
                context.getProperty(self.SASL_USERNAME).getValue(),
                context.getProperty(self.SASL_PASSWORD).getValue(),
                context.getProperty(self.SSL_CA_FILE).getValue(),
            ),
            "group.id": context.getProperty(self.GROUP_ID).getValue(),
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": context.getProperty(self.OFFSET_RESET).getValue(),
            "session.timeout.ms": int(context.getProperty(self.SESSION_TIMEOUT).asTimePeriod(TimeUnit.MILLISECONDS)),
            "heartbeat.interval.ms": 1000,
            "fetch.max.bytes": 16 * 1024 * 1024,
            "max.partition.fetch.bytes": 4 * 1024 * 1024,
            "queued.max.messages.kbytes": 65536,
            # librdkafka pauses a partition's fetching this long once its local queue is full (default 1 s): with
            # batches drained in a fraction of that, the default idles the consumer for most of every second.
            "fetch.queue.backoff.ms": 20,
            "client.id": f"nifi-{self.identifier or 'consume-viewing-events'}",
        }
        self.consumer = Consumer(conf, logger=None)
        self.consumer.subscribe([self.topic])
        self.pending = PendingCommits()
        self.last_emit = time.monotonic()

    def onStopped(self, context) -> None:
        # Every batch emitted so far belongs to a committed NiFi session: commit its offsets, then leave.
        try:
            self._commit_pending()
        finally:
            if self.consumer is not None:
                self.consumer.close()
                self.consumer = None

    # ------------------------------------------------------------------ work
    def _commit_pending(self) -> None:
        if self.consumer is None or not self.pending:
            return
        from confluent_kafka import KafkaException, TopicPartition

        offsets = self.pending.take()
        try:
            self.consumer.commit(
                offsets=[TopicPartition(self.topic, p, o) for p, o in sorted(offsets.items())], asynchronous=False
            )
        except KafkaException as exc:  # broker away: keep them, commit later (a redelivery is skipped downstream)
            self.pending.restore(offsets)
            if self.logger is not None:
                self.logger.warn(f"offset commit failed, will retry: {exc}")

    def create(self, context):
        if self.consumer is None:
            self.onScheduled(context)
        entered = time.monotonic()
        self._commit_pending()
        committed = time.monotonic()
        s = self.settings
        batch = Batch()
        deadline = time.monotonic() + s["max_wait"]
        while not batch.full(s["max_count"], s["max_bytes"]):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            msgs = self.consumer.consume(num_messages=min(5000, s["max_count"] - len(batch)), timeout=remaining)
            for m in msgs:
                if m.error():
                    if self.logger is not None:
                        self.logger.debug(f"consumer: {m.error()}")
                    continue
                batch.add(m.partition(), m.offset(), m.value(), m.key(), m.timestamp()[1])
        now = time.monotonic()
        if len(batch):
            started = deadline - s["max_wait"]
            self.pending.add_batch(batch)
            self.last_emit = now
            attributes = {
                "mime.type": "application/gzip",  # gzip of text lines (kafka_batches.Batch.content)
                "kafka.topic": self.topic,
                "iptv.kafka.offsets": batch.describe(),
                "iptv.batch.count": str(len(batch)),
                # timing (ms): Kafka commit of earlier batches, polling, and the gap since the previous create()
                "iptv.batch.timing": f"commit={(committed - entered) * 1000:.0f} poll={(now - started) * 1000:.0f} "
                f"gap={(entered - self.left) * 1000:.0f}",
            }
            self.left = time.monotonic()
            return FlowFileSourceResult(relationship=REL_SUCCESS, attributes=attributes, contents=batch.content())
        if now - self.last_emit >= s["tick"]:
            self.last_emit = now
            return FlowFileSourceResult(
                relationship=REL_SUCCESS, attributes={"iptv.tick": "true", "kafka.topic": self.topic}, contents=b""
            )
        return None


def _bytes_unit():
    from nifiapi.properties import DataUnit

    return DataUnit.B
