"""Apache Kafka 4.x in KRaft mode: one process that is both broker and controller, jars from Maven Central.

Layout under the state directory: ``dist/kafka/libs`` (jars resolved from local_stack/platform/kafka/pom.xml),
``conf/kafka`` (server.properties, log4j2 configs), ``data/kafka`` (the formatted log dir and cluster id),
``logs/kafka.log`` (stdout/stderr) and ``logs/kafka-server.log`` (the broker's own rolling log).

Also :func:`kafka_tool_cmd`, which runs Kafka's own Java tools (ProducerPerformance, ConsumerPerformance, ...) from
the installed jars for the benchmarks. The project topics are created after start by
:func:`iptv.kafka_admin.ensure_topics`, the same call that serves a real cluster.
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

from iptv.config import Config, KafkaConfig, state_dir
from iptv.kafka_admin import KafkaAdminError, admin_client, ensure_topics
from local_stack.base import Service, StackError
from local_stack.tools import PLATFORM_DIR, java_bin, maven_copy_dependencies

log = logging.getLogger(__name__)

POM = PLATFORM_DIR / "kafka" / "pom.xml"
#: Kafka 4.x runs on Java 17 or newer.
JAVA_MIN = 17
NODE_ID = 1


def _first_host_port(bootstrap_servers: str) -> tuple[str, int]:
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"kafka.bootstrap_servers: cannot read host:port from {bootstrap_servers!r}")
    return host.strip("[]"), int(port)


def _heap_opts(heap: str) -> list[str]:
    return [f"-Xmx{heap}", f"-Xms{heap}"]


def kafka_libs(cfg: Config) -> Path:
    """The directory of the installed Kafka jars."""
    return state_dir(cfg) / "dist" / "kafka" / "libs"


def kafka_tool_cmd(cfg: Config, main_class: str, *args: str, heap: str = "256m") -> list[str]:
    """The command line that runs one of Kafka's Java tools from the installed jars, e.g.
    ``kafka_tool_cmd(cfg, "org.apache.kafka.tools.ProducerPerformance", "--topic", "t", ...)``.
    Tool logging goes to stderr at WARN."""
    libs = kafka_libs(cfg)
    if not any(libs.glob("kafka-tools-*.jar")):
        raise StackError(f"Kafka is not installed under {libs}: run `scripts/stack.py install kafka`")
    log4j = state_dir(cfg) / "conf" / "kafka" / "tools-log4j2.properties"
    if not log4j.exists():
        log4j.parent.mkdir(parents=True, exist_ok=True)
        log4j.write_text(TOOLS_LOG4J2, encoding="utf-8")
    return [
        java_bin(JAVA_MIN),
        f"-Xmx{heap}",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]


TOOLS_LOG4J2 = """\
# Kafka command-line tools: warnings and errors to stderr only.
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
"""


def new_cluster_id() -> str:
    """A random id in Kafka's Uuid format (16 random bytes, URL-safe base64 without padding). Like Kafka's own
    Uuid.randomUuid(), never one that starts with "-": kafka-storage's argument parser takes
    ``--cluster-id -7BOO...`` for a missing value and an option (1 id in 64; it failed a CI run)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cid.startswith("-"):
            return cid


class Kafka(Service):
    section: KafkaConfig
    name = "kafka"
    start_timeout = 120.0

    # ----- layout --------------------------------------------------------------------------
    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def log_dir(self) -> Path:
        """Kafka's data (its "log.dirs"): partitions and the KRaft metadata log."""
        return self.data_dir / "kraft-logs"

    @property
    def server_properties(self) -> Path:
        return self.conf_dir / "server.properties"

    @property
    def server_log(self) -> Path:
        return self.state / "logs" / "kafka-server.log"

    @property
    def version(self) -> str:
        return self.section.version

    def _broker(self) -> tuple[str, int]:
        return _first_host_port(self.section.bootstrap_servers)

    def _controller_port(self) -> int:
        return self.section.controller_port

    # ----- install -------------------------------------------------------------------------
    def is_installed(self) -> bool:
        return (self.libs / f"kafka_2.13-{self.version}.jar").exists() and any(self.libs.glob("kafka-tools-*.jar"))

    def install(self) -> None:
        staging = self.home / "libs.new"
        shutil.rmtree(staging, ignore_errors=True)
        maven_copy_dependencies(POM, staging, extra=[f"-Dkafka.version={self.version}"])
        if not (staging / f"kafka_2.13-{self.version}.jar").exists():
            raise StackError(f"Kafka {self.version}: kafka_2.13 jar missing after resolving {POM}")
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)
        log.info("Kafka %s: %d jars in %s", self.version, len(list(self.libs.glob("*.jar"))), self.libs)

    # ----- configure -----------------------------------------------------------------------
    def _properties(self) -> str:
        host, port = self._broker()
        cport = self._controller_port()
        props = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@{host}:{cport}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # A 2-core machine: few threads.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.retention.hours": "168",
            "log.retention.check.interval.ms": "300000",
        }
        lines = ["# Written by local_stack/kafka.py from config/local.yaml; edits are overwritten."]
        lines += [f"{k}={v}" for k, v in props.items()]
        return "\n".join(lines) + "\n"

    def _server_log4j2(self) -> str:
        return f"""\
# Kafka broker logging (written by local_stack/kafka.py): everything at INFO into a rolling file,
# warnings also to stdout (which the stack captures in logs/kafka.log).
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {self.server_log}
appender.file.filePattern = {self.server_log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
appender.out.filter.threshold.type = ThresholdFilter
appender.out.filter.threshold.level = WARN
rootLogger.level = INFO
rootLogger.appenderRefs = file, out
rootLogger.appenderRef.file.ref = FILE
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""

    def _java_cmd(self, main_class: str, *args: str, heap: str) -> list[str]:
        return [
            java_bin(JAVA_MIN),
            *_heap_opts(heap),
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.server_log.parent}",
            "-cp",
            f"{self.libs}/*",
            main_class,
            *args,
        ]

    def is_formatted(self) -> bool:
        return (self.log_dir / "meta.properties").exists()

    def cluster_id(self) -> str:
        """The cluster id, generated once and kept in the data directory. A kept id starting with "-" (written
        before new_cluster_id() excluded them) never formatted any storage, so it is replaced."""
        path = self.data_dir / "cluster.id"
        if path.exists():
            cid = path.read_text(encoding="ascii").strip()
            if cid and not cid.startswith("-"):
                return cid
        cid = new_cluster_id()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cid + "\n", encoding="ascii")
        return cid

    def configure(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.server_log.parent.mkdir(parents=True, exist_ok=True)
        self.server_properties.write_text(self._properties(), encoding="utf-8")
        (self.conf_dir / "log4j2.properties").write_text(self._server_log4j2(), encoding="utf-8")
        (self.conf_dir / "tools-log4j2.properties").write_text(TOOLS_LOG4J2, encoding="utf-8")
        if self.is_formatted():
            return
        cid = self.cluster_id()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._java_cmd(
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cid,
            "--config",
            str(self.server_properties),
            "--ignore-formatted",
            heap="256m",
        )
        # The tool logs only warnings (to stderr); its own report goes to stdout.
        cmd[cmd.index(f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}")] = (
            f"-Dlog4j2.configurationFile={self.conf_dir / 'tools-log4j2.properties'}"
        )
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0 or not self.is_formatted():
            tail = (res.stdout + res.stderr).strip().splitlines()[-5:]
            raise StackError(f"formatting Kafka storage failed: {' | '.join(tail)}")
        log.info("formatted Kafka storage %s (cluster id %s)", self.log_dir, cid)

    # ----- run -----------------------------------------------------------------------------
    def start_processes(self) -> None:
        cmd = self._java_cmd("kafka.Kafka", str(self.server_properties), heap=self.section.heap)
        # Class-data sharing archive, written at the first clean exit and reused (JDK 19+): faster warm starts.
        cds = [f"-XX:SharedArchiveFile={self.home / 'kafka-server.jsa'}", "-XX:+AutoCreateSharedArchive"]
        self.spawn([cmd[0], *cds, *cmd[1:]], cwd=self.data_dir)

    def ready(self) -> bool:
        from confluent_kafka import KafkaException

        try:
            md = admin_client(self.cfg).list_topics(timeout=3)
        except KafkaException as exc:  # not listening yet, or no metadata yet
            log.debug("kafka not ready: %s", exc)
            return False
        return bool(md.brokers)

    def post_start(self) -> None:
        try:
            ensure_topics(self.cfg)
        except KafkaAdminError as exc:
            raise StackError(str(exc)) from None

    def ports(self) -> list[tuple[str, int]]:
        host, port = self._broker()
        return [(host, port), (host, self._controller_port())]

    def address(self) -> str:
        return self.section.bootstrap_servers

    def log_files(self) -> list[Path]:
        return [self.log_file, self.server_log]
