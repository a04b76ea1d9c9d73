"""The pipeline's single configuration: one YAML file plus environment overrides, read into typed sections.

Every endpoint, path and credential location is read from here, so pointing the pipeline at a real cluster means
editing (or swapping, via ``IPTV_CONFIG``) this file, never the code. :func:`load_config` returns a frozen
:class:`Config` of one dataclass per section (``cfg.hdfs.paths.sessions``, ``cfg.kafka.topics["viewing_events"]``);
a key the file leaves out takes the default of its field (the values of config/local.yaml).
One module over 400 lines on purpose: the sections are the schema of one file, and reading them (coercion, unknown
keys, overrides) only makes sense beside them.

Overrides: ``IPTV__SECTION__KEY=value`` (double underscores separate levels), e.g.
``IPTV__KAFKA__BOOTSTRAP_SERVERS=b1:9092`` or ``IPTV__NIFI__MANAGED=false``; the value is read as a YAML scalar
and coerced to the field's type (a string field takes the text as it is).

An unknown key, in the file or in an override, and a value of the wrong type are a one-line :class:`ConfigError`
naming the key and where it came from. Code that needs a variant of a config (tests, the bench) derives one with
:func:`with_overrides`, the same rules as the environment's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "local.yaml"
ENV_PREFIX = "IPTV__"

T = TypeVar("T")


class ConfigError(RuntimeError):
    """The configuration is missing, unreadable, has an unknown key or a value of the wrong type."""


# ------------------------------------------------------------------------------------------------ the sections


@dataclass(frozen=True)
class StackConfig:
    """``stack``: where the local stack keeps installs, data, logs, PIDs and generated credentials."""

    state_dir: str = ".stack"
    java_min_version: int = 21


@dataclass(frozen=True)
class ServiceConfig:
    """What every service section has. ``managed: false``: an external cluster service the stack does not
    install or start (it only checks it answers and creates the project's objects)."""

    managed: bool = True


@dataclass(frozen=True)
class InstalledServiceConfig(ServiceConfig):
    """A service the local stack downloads (``version``) and runs in a JVM of its own (``heap``)."""

    version: str = ""
    heap: str = ""


@dataclass(frozen=True)
class TopicConfig:
    """One project topic (``kafka.topics.<key>``); ``retention_ms`` / ``max_message_bytes`` unset leave the
    broker's default (``max_message_bytes`` is the topic's ``max.message.bytes``, the broker's default about 1 MB)."""

    name: str
    partitions: int = 3
    replication_factor: int = 1
    retention_ms: int | None = None
    max_message_bytes: int | None = None

    def broker_configs(self) -> dict[str, str]:
        """The topic-level broker configs this topic sets."""
        out = {}
        if self.retention_ms is not None:
            out["retention.ms"] = str(self.retention_ms)
        if self.max_message_bytes is not None:
            out["max.message.bytes"] = str(self.max_message_bytes)
        return out


def _default_topics() -> dict[str, TopicConfig]:
    return {"viewing_events": TopicConfig("iptv.viewing-events", 3, 1, 604_800_000, 4_194_304)}


KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "GSSAPI")
#: The principals of the pipeline, by role: ``admin`` manages topics and ACLs (and the local broker's own
#: inter-broker link), ``producer`` only writes the events topic, ``nifi`` only reads it with its consumer group.
KAFKA_ROLES = ("admin", "producer", "nifi")


@dataclass(frozen=True)
class KafkaSecurityConfig:
    """``kafka.security``: how every client authenticates (kafka_security.client_settings builds their settings).

    SCRAM/PLAIN: the username of each role below, its password in ``credentials_file`` (JSON
    ``{"admin": "...", "producer": "...", "nifi": "..."}``). GSSAPI (Kerberos): the username is the principal's
    short name (the one the ACLs name, ``User:<name>``), ``kerberos_principals`` and ``kerberos_keytabs`` give each
    role's full principal and keytab. ``ca_file``: the CA (PEM) that verifies the brokers under SSL/SASL_SSL."""

    protocol: str = "SASL_SSL"
    sasl_mechanism: str = "SCRAM-SHA-512"
    ca_file: str | None = ".stack/secrets/kafka-ca.pem"
    credentials_file: str | None = ".stack/secrets/kafka-credentials.json"
    admin_user: str = "iptv-admin"
    producer_user: str = "iptv-producer"
    nifi_user: str = "iptv-nifi"
    kerberos_service_name: str = "kafka"
    kerberos_principals: dict[str, str] = field(default_factory=dict)
    kerberos_keytabs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.protocol not in KAFKA_PROTOCOLS:
            raise ConfigError(
                f"kafka.security.protocol must be one of {', '.join(KAFKA_PROTOCOLS)}, not {self.protocol!r}"
            )
        if self.sasl_mechanism not in KAFKA_SASL_MECHANISMS:
            raise ConfigError(
                f"kafka.security.sasl_mechanism must be one of {', '.join(KAFKA_SASL_MECHANISMS)}, "
                f"not {self.sasl_mechanism!r}"
            )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def username(self, role: str) -> str:
        """The principal name of a role (``admin``, ``producer``, ``nifi``)."""
        if role not in KAFKA_ROLES:
            raise ConfigError(f"unknown Kafka role {role!r} (known: {', '.join(KAFKA_ROLES)})")
        return getattr(self, f"{role}_user")


@dataclass(frozen=True)
class KafkaConfig(InstalledServiceConfig):
    version: str = "4.1.1"
    heap: str = "512m"
    bootstrap_servers: str = "127.0.0.1:9092"
    controller_port: int = 9093
    topics: dict[str, TopicConfig] = field(default_factory=_default_topics)
    security: KafkaSecurityConfig = field(default_factory=KafkaSecurityConfig)


@dataclass(frozen=True)
class HdfsPaths:
    """``hdfs.paths``: the lake's directories."""

    viewing_events: str = "/data/iptv/raw/viewing_events"
    sessions: str = "/data/iptv/sessions"
    quarantine: str = "/data/iptv/quarantine"
    ingest_batches: str = "/data/iptv/ingest_batches"
    catalogs: str = "/data/iptv/catalogs"
    warehouse: str = "/user/hive/warehouse"

    def as_dict(self) -> dict[str, str]:
        """Every directory by its key (the lake's layout by dataset)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class HdfsConfig(InstalledServiceConfig):
    version: str = "3.4.1"
    heap: str = "384m"
    default_fs: str = "hdfs://127.0.0.1:8020"
    webhdfs_url: str = "http://127.0.0.1:9870"
    user: str = "iptv"
    #: Group of the lake directories and their mode: the pipeline's user writes, its group and others read
    #: (Hive and the warehouse loader read as their own users on a cluster), nobody else writes.
    group: str = "iptv"
    lake_permission: str = "755"
    #: The HDFS superuser of the local stack: its NameNode and DataNode run as this user, who creates the lake
    #: directories and hands them to ``user``; the pipeline itself is an ordinary user. Unused on a cluster.
    superuser: str = "hdfs"
    datanode_port: int = 9866
    datanode_http_port: int = 9864
    datanode_ipc_port: int = 9867
    paths: HdfsPaths = field(default_factory=HdfsPaths)
    #: JDK for the Hadoop processes of the local stack; None: $JAVA_HOME or the newest one found.
    java_home: str | None = None


@dataclass(frozen=True)
class HiveConfig(ServiceConfig):
    host: str = "127.0.0.1"
    port: int = 10000
    username: str = "iptv"
    auth: str = "NONE"
    database: str = "iptv"
    driver_memory: str = "1g"
    password: str | None = None
    kerberos_service_name: str | None = None


@dataclass(frozen=True)
class NifiIngestionConfig:
    """``nifi.ingestion``: the ingestion flow's parameters (docs/ingestion.md). ``state_dir`` None: the pairing
    journal beside NiFi's local state; ``channel_catalog`` None: the ids of data/reference/tv_rating.csv."""

    offset_reset: str = "earliest"
    batch_max_count: int = 50000
    batch_max_size: str = "16 MB"
    batch_max_wait: str = "5 sec"
    tick_interval: str = "30 sec"
    event_timeout: str = "12 hours"
    grace: str = "5 mins"
    retention: str = "24 hours"
    max_entries: int = 1000000
    state_dir: str | None = None
    channel_catalog: str | None = None
    hdfs_timeout: str = "30 sec"
    #: The ingestion's Kafka consumer group (an instance's group adds "-<instance>"); the nifi principal's
    #: ACL covers every group with this prefix.
    group_id: str = "iptv-nifi-ingestion"


@dataclass(frozen=True)
class NifiConfig(InstalledServiceConfig):
    """``nifi``. The TLS files unset (None) are the local stack's, under ``<stack.state_dir>/secrets``."""

    version: str = "2.3.0"
    heap: str = "1536m"
    url: str = "https://127.0.0.1:8443/nifi-api"
    host: str = "127.0.0.1"
    port: int = 8443
    management_port: int = 52020
    verify_tls: bool = True
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_p12_file: str | None = None
    credentials_file: str | None = None
    admin_identity: str = "CN=iptv-admin"
    python_processors_dir: str = "nifi/python-processors"
    standard_nar: bool = True
    ingestion: NifiIngestionConfig = field(default_factory=NifiIngestionConfig)


@dataclass(frozen=True)
class PostgresConfig(ServiceConfig):
    """``postgres``: the warehouse database (Greenplum on a cluster). ``bin_dir``/``os_user`` None: the local
    stack's defaults (Debian's PostgreSQL 15; the ``postgres`` OS user when run as root)."""

    dialect: str = "postgres"
    host: str = "127.0.0.1"
    port: int = 5433
    database: str = "iptv"
    admin_user: str = "postgres"
    loader_user: str = "iptv_loader"
    reader_user: str = "iptv_reader"
    credentials_file: str = ".stack/secrets/postgres-credentials.json"
    schema: str = "iptv_dw"
    #: Seconds a lake sync waits for another sync of the same schema to finish (greenplum/sync_lock.sql) before it
    #: gives up with an error (its dates are retried by the next run).
    sync_lock_timeout_s: int = 600
    bin_dir: str | None = None
    os_user: str | None = None


@dataclass(frozen=True)
class SupersetConfig(ServiceConfig):
    """``superset``: the dashboards' Superset. Managed: Superset ``version`` from PyPI in its own virtualenv under
    the state directory (``venv``, its pins in ``constraints_file``), gunicorn on ``host:port``, metadata in
    SQLite. ``managed: false``: an existing Superset at ``url``; ``credentials_file`` then holds its
    ``admin_password`` (and ``viewer_password`` for the viewer login the deploy creates). The local stack
    generates that file (mode 600) with ``secret_key``, ``admin_password`` and ``viewer_password``."""

    version: str = "6.1.0"
    host: str = "127.0.0.1"
    port: int = 8088
    url: str = "http://127.0.0.1:8088"
    credentials_file: str = ".stack/secrets/superset-credentials.json"
    admin_user: str = "admin"
    viewer_user: str = "viewer"
    #: The Superset role (besides Gamma) that may read the warehouse's datasets.
    viewer_role: str = "IPTV Viewer"
    #: The warehouse connection's name in Superset (also its file name in the tree).
    database_name: str = "IPTV warehouse"
    venv: str = ".stack/superset-venv"
    constraints_file: str = "superset/constraints.txt"
    workers: int = 1
    threads: int = 8


@dataclass(frozen=True)
class MartsConfig:
    """``marts``: parameters of the mart definitions, the same for Hive, Greenplum and the test oracle.
    ``reach_min_seconds``: a viewer of a programme has watched at least this many seconds of it in total (the
    industry's one-minute reach)."""

    reach_min_seconds: int = 60


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``source``: the file it was read from (not a key of the file)."""

    stack: StackConfig = field(default_factory=StackConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    hdfs: HdfsConfig = field(default_factory=HdfsConfig)
    hive: HiveConfig = field(default_factory=HiveConfig)
    nifi: NifiConfig = field(default_factory=NifiConfig)
    postgres: PostgresConfig = field(default_factory=PostgresConfig)
    superset: SupersetConfig = field(default_factory=SupersetConfig)
    marts: MartsConfig = field(default_factory=MartsConfig)
    source: Path | None = field(default=None, compare=False, metadata={"key": False})

    def service(self, name: str) -> ServiceConfig:
        """The section of the stack service ``name`` (kafka, hdfs, hive, nifi, postgres, superset)."""
        section = getattr(self, name, None) if name in _keys(Config) else None
        if not isinstance(section, ServiceConfig):
            raise ConfigError(f"no service section {name!r} in the config")
        return section

    def as_dict(self) -> dict[str, Any]:
        """The keys and values as a YAML file holds them (``yaml.safe_dump`` of it loads back to an equal config)."""
        return {key: dataclasses.asdict(getattr(self, key)) for key in _keys(Config)}


# ------------------------------------------------------------------------------------------------ building


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _keys(cls: type) -> tuple[str, ...]:
    """The YAML keys of a section class, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("key", True))


def _optional(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (args[0] if len(args) == 1 else tp), len(args) < len(typing.get_args(tp))
    return tp, False


def _is_map(tp: Any) -> bool:
    """A ``dict[str, <section>]``: a mapping whose keys the user names (kafka.topics)."""
    return typing.get_origin(tp) is dict


def _is_section(tp: Any) -> bool:
    return dataclasses.is_dataclass(tp) or _is_map(tp)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}
_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _scalar(tp: Any, value: Any, where: str, origin: str) -> Any:
    base, nullable = _optional(tp)
    if value is None and nullable:
        return None
    if base is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if base is int and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str | int) and str(value).strip().lower() in _BOOLS:
            return _BOOLS[str(value).strip().lower()]
    expected = _TYPE_NAMES.get(base, getattr(base, "__name__", str(base)))
    raise ConfigError(f"{origin}: {where} must be {expected}{' or null' if nullable else ''}, not {value!r}")


def _build(cls: type[T], data: Any, where: str, origin: str) -> T:
    """A section of class ``cls`` from its YAML mapping ``data`` (None: all defaults)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: {where or 'the file'} must be a mapping of keys, not {data!r}")
    known = _keys(cls)
    for key in data:
        if key not in known:
            raise ConfigError(f"{origin}: unknown key {_join(where, str(key))} (known: {', '.join(known)})")
    hints = _hints(cls)
    values = {key: _value(hints[key], value, _join(where, key), origin) for key, value in data.items()}
    for f in dataclasses.fields(cls):
        if f.name in known and f.name not in values and f.default is f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{origin}: missing key {_join(where, f.name)}")
    return cls(**values)


def _value(tp: Any, value: Any, where: str, origin: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where, origin)
    if _is_map(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: {where} must be a mapping of keys, not {value!r}")
        item = typing.get_args(tp)[1]
        return {str(k): _value(item, v, _join(where, str(k)), origin) for k, v in value.items()}
    return _scalar(tp, value, where, origin)


def _set(data: dict[str, Any], cls: Any, keys: list[str], value: Any, where: str, origin: str, text: bool) -> None:
    """Set ``keys`` (a path below section ``cls``, held as the dict ``data``) to ``value``, checking each key and
    coercing the value to the field's type; ``text``: the value is the text of an environment variable."""
    key, rest = keys[0], keys[1:]
    here = _join(where, key)
    if _is_map(cls):
        tp = typing.get_args(cls)[1]
    else:
        known = _keys(cls)
        if key not in known:
            raise ConfigError(f"{origin}: unknown key {here} (known: {', '.join(known)})")
        tp = _hints(cls)[key]
    if rest:
        if not _is_section(tp):
            raise ConfigError(f"{origin}: {here} is not a section")
        node = data.get(key)
        if not isinstance(node, dict):
            node = data[key] = {}
        _set(node, tp, rest, value, here, origin, text)
        return
    if _is_section(tp):
        raise ConfigError(f"{origin}: {here} is a section: set one of its keys")
    if text and _optional(tp)[0] is not str:
        try:
            value = yaml.safe_load(value) if value != "" else None
        except yaml.YAMLError:
            pass  # not a YAML scalar: _scalar names the field and the text
    data[key] = _scalar(tp, value, here, origin)


def _flatten(overrides: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        name = _join(prefix, key)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, Mapping):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def _rebuild(cfg: Config, changes: list[tuple[list[str], Any, str]], text: bool) -> Config:
    data = cfg.as_dict()
    for keys, value, origin in changes:
        _set(data, Config, keys, value, "", origin, text)
    origin = changes[-1][2] if len(changes) == 1 else "overrides"
    return dataclasses.replace(_build(Config, data, "", origin), source=cfg.source)


def with_overrides(cfg: Config, overrides: Mapping[str, Any]) -> Config:
    """A copy of ``cfg`` with dotted keys set, e.g. ``{"hdfs.paths.sessions": "/tmp/s", "hive.database": "x"}``
    (a mapping or section value sets each key it holds). Same checks and coercion as the file's."""
    changes = [(name.split("."), value, "overrides") for name, value in _flatten(overrides).items()]
    return _rebuild(cfg, changes, text=False) if changes else cfg


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[list[str], Any, str]]:
    out = []
    for name, raw in sorted(environ.items()):
        if name.startswith(ENV_PREFIX):
            keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__") if k]
            if keys:
                out.append((keys, raw, name))
    return out


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file (``path``, else ``$IPTV_CONFIG``, else config/local.yaml) with the ``IPTV__``
    overrides of ``environ`` (default: the process environment)."""
    environ = dict(os.environ if environ is None else environ)
    cfg_path = Path(path or environ.get("IPTV_CONFIG") or DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {cfg_path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {cfg_path} is not valid YAML: {' '.join(str(exc).split())}") from None
    cfg = dataclasses.replace(_build(Config, data, "", _display(cfg_path)), source=cfg_path)
    changes = _env_overrides(environ)
    return _rebuild(cfg, changes, text=True) if changes else cfg


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process-wide configuration (loaded once)."""
    return load_config()


def resolve_path(value: str | Path) -> Path:
    """A config path: absolute as given, relative ones against the repository root."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def state_dir(cfg: Config | None = None) -> Path:
    """The git-ignored directory holding installs, data, logs, PIDs and generated credentials."""
    return resolve_path((cfg or get_config()).stack.state_dir)


def read_credentials(path_value: str | Path) -> dict[str, str]:
    """Read a JSON credentials file named by the config (generated by the stack, never committed)."""
    path = resolve_path(path_value)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"credentials file {path} not found: run `make up` first") from None
