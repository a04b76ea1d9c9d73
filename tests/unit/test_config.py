"""iptv.config: file loading, IPTV_CONFIG, IPTV__ overrides, paths and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iptv.config import (
    DEFAULT_CONFIG,
    REPO_ROOT,
    ConfigError,
    load_config,
    read_credentials,
    resolve_path,
    state_dir,
)

pytestmark = pytest.mark.unit


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


def test_default_file_is_the_repo_config():
    cfg = load_config(environ={})
    assert cfg["_meta"]["path"] == str(DEFAULT_CONFIG)
    assert "kafka" in cfg and "postgres" in cfg


def test_explicit_path(cfg_file):
    cfg = load_config(cfg_file, environ={})
    assert cfg["kafka"]["heap"] == "512m"
    assert cfg["_meta"]["path"] == str(cfg_file)


def test_iptv_config_env_selects_file(cfg_file):
    cfg = load_config(environ={"IPTV_CONFIG": str(cfg_file)})
    assert cfg["_meta"]["path"] == str(cfg_file)
    assert cfg["kafka"]["bootstrap_servers"] == "127.0.0.1:9092"


def test_explicit_path_beats_iptv_config(cfg_file, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("kafka:\n  heap: 1g\n", encoding="utf-8")
    assert load_config(cfg_file, environ={"IPTV_CONFIG": str(other)})["kafka"]["heap"] == "512m"


def test_env_overrides_parse_yaml_scalars(cfg_file):
    env = {
        "IPTV__KAFKA__BOOTSTRAP_SERVERS": "b1:9092,b2:9092",
        "IPTV__NIFI__MANAGED": "false",
        "IPTV__KAFKA__CONTROLLER_PORT": "9999",
        "IPTV__NEW_SECTION__DEEP__KEY": "x",
        "IPTV__KAFKA__HEAP": "",
        "OTHER__KAFKA__HEAP": "ignored",
    }
    cfg = load_config(cfg_file, environ=env)
    assert cfg["kafka"]["bootstrap_servers"] == "b1:9092,b2:9092"
    assert cfg["nifi"]["managed"] is False
    assert cfg["kafka"]["controller_port"] == 9999
    assert cfg["new_section"]["deep"]["key"] == "x"
    assert cfg["kafka"]["heap"] == ""


def test_env_override_through_a_scalar_is_an_error(cfg_file):
    with pytest.raises(ConfigError, match="not a section"):
        load_config(cfg_file, environ={"IPTV__KAFKA__HEAP__SIZE": "1g"})


def test_missing_file_gives_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.yaml", environ={})
    with pytest.raises(ConfigError):
        load_config(environ={"IPTV_CONFIG": str(tmp_path / "also-missing.yaml")})


def test_invalid_yaml_gives_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kafka: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, environ={})


def test_empty_file_is_an_empty_config(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_config(empty, environ={}) == {"_meta": {"path": str(empty)}}


def test_resolve_path(tmp_path):
    assert resolve_path(".stack/x") == REPO_ROOT / ".stack" / "x"
    assert resolve_path(str(tmp_path)) == tmp_path
    assert resolve_path(tmp_path / "a") == tmp_path / "a"
    assert resolve_path("~/f") == Path.home() / "f"


def test_state_dir(cfg_file):
    assert state_dir(load_config(cfg_file, environ={})) == REPO_ROOT / ".stack"


def test_read_credentials(tmp_path):
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"iptv_loader": "s3cret"}), encoding="utf-8")
    assert read_credentials(path) == {"iptv_loader": "s3cret"}
    with pytest.raises(ConfigError, match="not found"):
        read_credentials(tmp_path / "missing.json")
