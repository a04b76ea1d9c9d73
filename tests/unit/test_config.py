"""iptv.config: the typed sections, file loading, IPTV_CONFIG, IPTV__ overrides and their coercion, unknown keys,
with_overrides, paths and errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from iptv.config import (
    DEFAULT_CONFIG,
    REPO_ROOT,
    Config,
    ConfigError,
    HdfsConfig,
    KafkaConfig,
    NifiConfig,
    TopicConfig,
    load_config,
    read_credentials,
    resolve_path,
    state_dir,
    with_overrides,
)

pytestmark = pytest.mark.unit

CLUSTER_EXAMPLE = REPO_ROOT / "config" / "cluster.example.yaml"


@pytest.fixture()
def cfg_file(tmp_path: Path) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "stack:\n  state_dir: .stack\n"
        "kafka:\n  bootstrap_servers: 127.0.0.1:9092\n  heap: 512m\n"
        "nifi:\n  managed: true\n",
        encoding="utf-8",
    )
    return path


def _keys(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in data.items():
        name = f"{prefix}{key}"
        out.add(name)
        if isinstance(value, dict):
            out |= _keys(value, name + ".")
    return out


# ------------------------------------------------------------------------------------------ the files


def test_default_file_is_the_repo_config():
    cfg = load_config(environ={})
    assert isinstance(cfg, Config) and cfg.source == DEFAULT_CONFIG
    assert cfg.kafka.topics["viewing_events"] == TopicConfig("iptv.viewing-events", 3, 1, 604800000, 4194304)
    assert cfg.hdfs.paths.sessions == "/data/iptv/sessions" and cfg.postgres.port == 5433
    assert cfg.nifi.verify_tls is True and cfg.kafka.controller_port == 9093


@pytest.mark.parametrize("path", [DEFAULT_CONFIG, CLUSTER_EXAMPLE], ids=["local", "cluster.example"])
def test_every_key_of_the_shipped_files_is_read(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg = load_config(path, environ={})
    assert _keys(data) <= _keys(cfg.as_dict())
    for section, values in data.items():
        for key, value in values.items():
            if not isinstance(value, dict):
                assert getattr(getattr(cfg, section), key) == value, f"{section}.{key}"


def test_local_yaml_matches_the_defaults():
    """The field defaults are the local stack's values: a config without a file is config/local.yaml."""
    cfg = load_config(environ={})
    for key in ("ca_file", "client_cert_file", "client_key_file", "client_p12_file", "credentials_file"):
        cfg = with_overrides(cfg, {f"nifi.{key}": None})  # None: the stack's file under <state_dir>/secrets
    assert cfg == Config()


def test_cluster_example_loads():
    cfg = load_config(CLUSTER_EXAMPLE, environ={})
    assert not any(cfg.service(n).managed for n in ("kafka", "hdfs", "hive", "nifi", "postgres", "superset"))
    assert cfg.kafka.topics["viewing_events"].partitions == 12 and cfg.kafka.topics["viewing_events"].retention_ms
    assert cfg.postgres.dialect == "greenplum" and cfg.hdfs.default_fs == "hdfs://nameservice1"
    assert cfg.nifi.ingestion == NifiConfig().ingestion


def test_yaml_round_trip(tmp_path):
    for source in (DEFAULT_CONFIG, CLUSTER_EXAMPLE):
        cfg = load_config(source, environ={})
        copy = tmp_path / "copy.yaml"
        copy.write_text(yaml.safe_dump(cfg.as_dict()), encoding="utf-8")
        again = load_config(copy, environ={})
        assert again == cfg and again.source == copy


def test_sections_are_frozen():
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.kafka.heap = "1g"  # type: ignore[misc]
    assert isinstance(cfg.service("kafka"), KafkaConfig) and isinstance(cfg.service("hdfs"), HdfsConfig)
    with pytest.raises(ConfigError, match="no service section 'stack'"):
        cfg.service("stack")


def test_explicit_path(cfg_file):
    cfg = load_config(cfg_file, environ={})
    assert cfg.kafka.heap == "512m" and cfg.source == cfg_file
    assert cfg.hdfs == HdfsConfig()  # a section the file leaves out: its defaults


def test_iptv_config_env_selects_file(cfg_file):
    cfg = load_config(environ={"IPTV_CONFIG": str(cfg_file)})
    assert cfg.source == cfg_file
    assert cfg.kafka.bootstrap_servers == "127.0.0.1:9092"


def test_explicit_path_beats_iptv_config(cfg_file, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("kafka:\n  heap: 1g\n", encoding="utf-8")
    assert load_config(cfg_file, environ={"IPTV_CONFIG": str(other)}).kafka.heap == "512m"


def test_empty_file_is_the_default_config(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    cfg = load_config(empty, environ={})
    assert cfg == Config() and cfg.source == empty


def test_missing_file_gives_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError, match="also-missing.yaml"):
        load_config(environ={"IPTV_CONFIG": str(tmp_path / "also-missing.yaml")})


def test_invalid_yaml_gives_a_one_line_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML") as err:
        load_config(bad, environ={})
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------ unknown keys, types


def test_unknown_key_in_the_file_is_a_one_line_error_naming_it_and_the_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("hdfs:\n  pathz: /x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    msg = str(err.value)
    assert msg.startswith(f"{path}: unknown key hdfs.pathz (known: managed, version, heap, default_fs, webhdfs_url,")
    assert "\n" not in msg


def test_unknown_key_in_the_repo_file_is_named_relative_to_the_repo(monkeypatch):
    monkeypatch.setattr(Path, "read_text", lambda self, **kw: "hdfs:\n  paths:\n    sesions: /x\n")
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, environ={})
    assert str(err.value) == (
        "config/local.yaml: unknown key hdfs.paths.sesions "
        "(known: viewing_events, sessions, quarantine, ingest_batches, catalogs, warehouse)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kafkaa:\n  heap: 1g\n", "unknown key kafkaa (known: stack, kafka, hdfs, hive, nifi, postgres, superset,"),
        ("nifi:\n  ingestion:\n    grace2: 1\n", "unknown key nifi.ingestion.grace2 (known: offset_reset,"),
        ("kafka:\n  topics:\n    t:\n      name: x\n      size: 1\n", "unknown key kafka.topics.t.size (known: name,"),
        ("kafka:\n  topics:\n    t:\n      partitions: 1\n", "missing key kafka.topics.t.name"),
        ("kafka:\n  controller_port: many\n", "kafka.controller_port must be an integer, not 'many'"),
        ("nifi:\n  verify_tls: sometimes\n", "nifi.verify_tls must be true or false, not 'sometimes'"),
        ("hdfs:\n  paths: /data\n", "hdfs.paths must be a mapping of keys, not '/data'"),
        ("- a\n- b\n", "the file must be a mapping of keys"),
        ("_meta:\n  path: x\n", "unknown key _meta"),
    ],
)
def test_bad_keys_and_values_in_the_file(tmp_path, text, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_file_values_are_coerced_to_the_field_type(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text('kafka:\n  version: 4.2\n  controller_port: "9999"\nnifi:\n  managed: "no"\n', encoding="utf-8")
    cfg = load_config(path, environ={})
    assert cfg.kafka.version == "4.2" and cfg.kafka.controller_port == 9999 and cfg.nifi.managed is False


# ------------------------------------------------------------------------------------------ environment overrides


def test_env_overrides_are_coerced_to_the_field_type(cfg_file):
    env = {
        "IPTV__KAFKA__BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
        "IPTV__NIFI__MANAGED": "false",
        "IPTV__KAFKA__CONTROLLER_PORT": "9999",
        "IPTV__KAFKA__VERSION": "4.10",  # a string field takes the text as it is (not the float 4.1)
        "IPTV__KAFKA__HEAP": "",
        "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__PARTITIONS": "6",
        "IPTV__NIFI__INGESTION__MAX_ENTRIES": "1000",
        "IPTV__HDFS__PATHS__SESSIONS": "/lake/sessions",
        "OTHER__KAFKA__HEAP": "ignored",
    }
    cfg = load_config(cfg_file, environ=env)
    assert cfg.kafka.bootstrap_servers == "b1:9092,b2:9092"
    assert cfg.nifi.managed is False
    assert cfg.kafka.controller_port == 9999 and cfg.kafka.version == "4.10" and cfg.kafka.heap == ""
    assert cfg.kafka.topics["viewing_events"] == TopicConfig("iptv.viewing-events", 6, 1, 604800000, 4194304)
    assert cfg.nifi.ingestion.max_entries == 1000 and cfg.hdfs.paths.sessions == "/lake/sessions"
    assert cfg.source == cfg_file


def test_env_override_adds_a_topic_or_clears_an_optional_value():
    env = {"IPTV__KAFKA__TOPICS__OTHER__NAME": "t2", "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__RETENTION_MS": ""}
    cfg = load_config(environ=env)
    assert cfg.kafka.topics["other"] == TopicConfig("t2")
    assert cfg.kafka.topics["viewing_events"].retention_ms is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("IPTV__HDFS__PATHZ", "/x", "IPTV__HDFS__PATHZ: unknown key hdfs.pathz (known: managed, version, heap,"),
        ("IPTV__NEW_SECTION__KEY", "x", "IPTV__NEW_SECTION__KEY: unknown key new_section (known: stack, kafka,"),
        ("IPTV__KAFKA__CONTROLLER_PORT", "abc", "kafka.controller_port must be an integer, not 'abc'"),
        ("IPTV__NIFI__MANAGED", "maybe", "IPTV__NIFI__MANAGED: nifi.managed must be true or false, not 'maybe'"),
        ("IPTV__KAFKA__HEAP__SIZE", "1g", "IPTV__KAFKA__HEAP__SIZE: kafka.heap is not a section"),
        ("IPTV__HDFS__PATHS", "/x", "IPTV__HDFS__PATHS: hdfs.paths is a section: set one of its keys"),
        ("IPTV__KAFKA__TOPICS__T2__PARTITIONS", "2", "IPTV__KAFKA__TOPICS__T2__PARTITIONS: missing key kafka.topics"),
    ],
)
def test_bad_env_overrides_are_one_line_errors_naming_the_variable(cfg_file, name, value, message):
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file, environ={name: value})
    assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------ with_overrides


def test_with_overrides_derives_a_config_and_leaves_the_original():
    cfg = load_config(environ={})
    paths = {k: "/tmp/x" + v for k, v in cfg.hdfs.paths.as_dict().items()}
    other = with_overrides(cfg, {"hdfs.paths": paths, "hive.database": "scratch", "postgres.port": "5434"})
    assert other.hdfs.paths.sessions == "/tmp/x/data/iptv/sessions" and other.hdfs.paths.warehouse.startswith("/tmp/x")
    assert other.hive.database == "scratch" and other.postgres.port == 5434
    assert other.source == cfg.source and other.kafka == cfg.kafka
    assert cfg.hive.database == "iptv" and cfg.hdfs.paths.sessions == "/data/iptv/sessions"
    assert with_overrides(cfg, {"postgres": other.postgres}).postgres == other.postgres
    assert with_overrides(cfg, {}) is cfg


def test_with_overrides_checks_keys_and_types():
    with pytest.raises(ConfigError, match=r"overrides: unknown key hive\.db \(known: managed, host,"):
        with_overrides(Config(), {"hive.db": "x"})
    with pytest.raises(ConfigError, match="postgres.port must be an integer, not 'x'"):
        with_overrides(Config(), {"postgres.port": "x"})


# ------------------------------------------------------------------------------------------ paths, credentials


def test_resolve_path(tmp_path):
    assert resolve_path(".stack/x") == REPO_ROOT / ".stack" / "x"
    assert resolve_path(str(tmp_path)) == tmp_path
    assert resolve_path(tmp_path / "a") == tmp_path / "a"
    assert resolve_path("~/f") == Path.home() / "f"


def test_state_dir(cfg_file):
    assert state_dir(load_config(cfg_file, environ={})) == REPO_ROOT / ".stack"
    assert state_dir(with_overrides(Config(), {"stack.state_dir": "/var/x"})) == Path("/var/x")


def test_read_credentials(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"iptv_loader": "s3cret"}), encoding="utf-8")
    assert read_credentials(path) == {"iptv_loader": "s3cret"}
    with pytest.raises(ConfigError, match="not found"):
        read_credentials(tmp_path / "missing.json")
