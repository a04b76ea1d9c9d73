"""Apache Kafka 4.x in KRaft mode: one process that is both broker and controller, jars from Maven Central.

Layout under the state directory: ``dist/kafka/libs`` (jars resolved from local_stack/platform/kafka/pom.xml),
``conf/kafka`` (server.properties, log4j2 configs), ``data/kafka`` (the formatted log dir and cluster id),
``logs/kafka.log`` (stdout/stderr) and ``logs/kafka-server.log`` (the broker's own rolling log).

Also :func:`kafka_tool_cmd`, which runs Kafka's own Java tools (ProducerPerformance, ConsumerPerformance, ...) from
the installed jars for the benchmarks, and :func:`client_config_file`, their client properties. The project topics
and the ACLs are created after start by :func:`iptv.kafka_admin.ensure_topics` and
:func:`iptv.kafka_admin.ensure_acls`, the same calls that serve a real cluster.

Security (``kafka.security.protocol: SASL_SSL``, the default): the client listener on ``kafka.bootstrap_servers``
takes SASL_SSL only, SCRAM-SHA-512 (or -256) users ``admin``, ``producer`` and ``nifi`` whose passwords are
generated into ``kafka.security.credentials_file``; TLS by a local CA (``kafka-ca.pem``, the clients' ``ca_file``)
and a broker keystore in the secrets dir. The broker's own link to itself (inter-broker) is that listener too, as
the admin user. The KRaft controller listener (``controller_port``, loopback) is SASL_PLAINTEXT with PLAIN and a
generated password only the broker knows: SCRAM credentials live in the metadata the controller serves, so they
cannot authenticate the controller quorum itself. The StandardAuthorizer denies what no ACL allows; the admin and
the broker's controller principal are super users. SCRAM users are written into the metadata when the storage is
formatted (kafka-storage ``--add-scram``); storage formatted with other credentials (or none, before security) is
reformatted, which empties the local topics (logged as a warning). ``protocol: PLAINTEXT`` runs the broker as
before: no authentication, no authorizer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from iptv.config import KAFKA_ROLES, Config, KafkaConfig, resolve_path, state_dir
from iptv.kafka_admin import KafkaAdminError, admin_client, ensure_acls, ensure_topics
from iptv.kafka_security import write_java_client_properties
from local_stack.base import ALWAYS_PRE_TOUCH, Service, StackError, ensure_generated_secrets
from local_stack.tls import make_ca, make_server_keystore
from local_stack.tools import PLATFORM_DIR, java_bin, maven_copy_dependencies

log = logging.getLogger(__name__)

POM = PLATFORM_DIR / "kafka" / "pom.xml"
#: Kafka 4.x runs on Java 17 or newer.
JAVA_MIN = 17
NODE_ID = 1
#: The principal of the KRaft controller listener (PLAIN, known only to the broker's own configuration).
CONTROLLER_USER = "kafka-controller"
LOCAL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


def _first_host_port(bootstrap_servers: str) -> tuple[str, int]:
    first = bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"kafka.bootstrap_servers: cannot read host:port from {bootstrap_servers!r}")
    return host.strip("[]"), int(port)


def _heap_opts(heap: str) -> list[str]:
    return [f"-Xmx{heap}", f"-Xms{heap}", ALWAYS_PRE_TOUCH]


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


def client_config_file(cfg: Config, role: str) -> Path:
    """A properties file with the client settings of ``role`` for Kafka's Java tools (``--producer.config``,
    ``--consumer.config``), rewritten from the config at each call, mode 600 in the stack's conf dir."""
    return write_java_client_properties(cfg, role, state_dir(cfg) / "conf" / "kafka" / f"client-{role}.properties")


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

    # ----- security -----------------------------------------------------------------------
    @property
    def secured(self) -> bool:
        """SASL_SSL with SCRAM on the client listener (else the plaintext broker without authorizer)."""
        sec = self.section.security
        if sec.protocol == "PLAINTEXT":
            return False
        if sec.protocol != "SASL_SSL" or sec.sasl_mechanism not in LOCAL_MECHANISMS:
            raise StackError(
                f"the local Kafka runs PLAINTEXT or SASL_SSL with {' or '.join(LOCAL_MECHANISMS)}, "
                f"not {sec.protocol} {sec.sasl_mechanism}"
            )
        if not sec.ca_file or not sec.credentials_file:
            raise StackError("the local Kafka needs kafka.security.ca_file and credentials_file (its own files)")
        return True

    @property
    def ca_file(self) -> Path:
        return resolve_path(self.section.security.ca_file or self.secrets_dir / "kafka-ca.pem")

    @property
    def keystore(self) -> Path:
        return self.secrets_dir / "kafka-keystore.p12"

    def credentials(self) -> dict[str, str]:
        """The password of each role (``kafka.security.credentials_file``), generated once."""
        path = resolve_path(self.section.security.credentials_file or self.secrets_dir / "kafka-credentials.json")
        creds, _ = ensure_generated_secrets(path, dict.fromkeys(KAFKA_ROLES, 24))
        return creds

    def broker_secrets(self) -> dict[str, str]:
        """The broker's own: its keystore password and the controller listener's password."""
        creds, _ = ensure_generated_secrets(self.secrets_dir / "kafka-broker.json", {"keystore": 18, "controller": 24})
        return creds

    def _tls(self) -> None:
        """The local Kafka CA and the broker keystore, generated once (kept across down/up)."""
        ca_key = self.secrets_dir / "kafka-ca.key"
        outputs = (self.ca_file, ca_key, self.keystore)
        if all(p.exists() for p in outputs):
            return
        self.secrets_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.chmod(0o700)
        for p in outputs:
            p.unlink(missing_ok=True)
        log.info("generating the Kafka CA and broker keystore in %s", self.secrets_dir)
        make_ca(self.ca_file, ca_key, "iptv-local-kafka-ca")
        host, _ = self._broker()
        make_server_keystore(self.ca_file, ca_key, self.keystore, self.broker_secrets()["keystore"], host, "kafka")
        for p in outputs:
            p.chmod(0o600)

    def _scram_users(self) -> dict[str, str]:
        """SCRAM username -> password of the three roles."""
        sec, creds = self.section.security, self.credentials()
        return {sec.username(role): creds[role] for role in KAFKA_ROLES}

    def _scram_fingerprint(self) -> str:
        """What the storage's SCRAM credentials were formatted from (a hash, not the passwords)."""
        text = json.dumps([self.section.security.sasl_mechanism, sorted(self._scram_users().items())])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def _scram_marker(self) -> Path:
        return self.data_dir / "scram-users.sha256"

    def _security_properties(self, host: str, port: int, cport: int) -> dict[str, str]:
        sec = self.section.security
        mech = sec.sasl_mechanism
        admin = sec.username("admin")
        admin_password = self.credentials()["admin"]
        ctl_password = self.broker_secrets()["controller"]
        return {
            "listeners": f"SASL_SSL://{host}:{port},CONTROLLER://{host}:{cport}",
            "advertised.listeners": f"SASL_SSL://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": mech,
            "sasl.mechanism.inter.broker.protocol": mech,
            f"listener.name.sasl_ssl.{mech.lower()}.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{admin}" password="{admin_password}";'
            ),
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="{CONTROLLER_USER}" password="{ctl_password}" user_{CONTROLLER_USER}="{ctl_password}";'
            ),
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.keystore),
            "ssl.keystore.password": self.broker_secrets()["keystore"],
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{admin};User:{CONTROLLER_USER}",
            "allow.everyone.if.no.acl.found": "false",
        }

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
        }
        if self.secured:
            props.update(self._security_properties(host, port, cport))
        props.update(
            {
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
        )
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
        if self.secured:
            self._tls()
        # server.properties holds the broker's passwords.
        fd = os.open(self.server_properties, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self._properties())
        self.server_properties.chmod(0o600)
        (self.conf_dir / "log4j2.properties").write_text(self._server_log4j2(), encoding="utf-8")
        (self.conf_dir / "tools-log4j2.properties").write_text(TOOLS_LOG4J2, encoding="utf-8")
        fingerprint = self._scram_fingerprint() if self.secured else None
        if self.is_formatted():
            have = self._scram_marker.read_text().strip() if self._scram_marker.exists() else None
            if fingerprint is None or have == fingerprint:
                return
            log.warning(
                "Kafka storage %s was formatted %s: reformatting it with the SCRAM users "
                "(the local topics and their messages are deleted)",
                self.log_dir,
                "without SCRAM users" if have is None else "with other SCRAM credentials",
            )
            shutil.rmtree(self.log_dir)
        self._scram_marker.unlink(missing_ok=True)
        cid = self.cluster_id()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        scram = []
        if fingerprint is not None:
            mech = self.section.security.sasl_mechanism
            for name, password in self._scram_users().items():
                scram += ["--add-scram", f"{mech}=[name={name},password={password}]"]
        cmd = self._java_cmd(
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cid,
            "--config",
            str(self.server_properties),
            "--ignore-formatted",
            *scram,
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
        if fingerprint is not None:
            self._scram_marker.write_text(fingerprint + "\n", encoding="ascii")
        log.info("formatted Kafka storage %s (cluster id %s%s)", self.log_dir, cid, ", SCRAM users" if scram else "")

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
            ensure_acls(self.cfg)
        except KafkaAdminError as exc:
            raise StackError(str(exc)) from None

    def ports(self) -> list[tuple[str, int]]:
        host, port = self._broker()
        return [(host, port), (host, self._controller_port())]

    def address(self) -> str:
        return self.section.bootstrap_servers

    def log_files(self) -> list[Path]:
        return [self.log_file, self.server_log]
