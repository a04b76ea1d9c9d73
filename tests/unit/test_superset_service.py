"""The local Superset service: its generated secrets, its config file and the pins it installs from."""

from __future__ import annotations

import ast
import stat

import pytest

from iptv.config import REPO_ROOT, Config, with_overrides
from local_stack import service, with_dependencies
from local_stack.superset import SECRET_KEYS, Superset, ensure_credentials

pytestmark = pytest.mark.unit

DEFAULT_SECRET = "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"


@pytest.fixture
def tmp_cfg(tmp_path):
    return with_overrides(
        Config(),
        {"stack.state_dir": str(tmp_path / "state"), "superset.credentials_file": str(tmp_path / "s" / "ss.json")},
    )


def test_secrets_are_generated_once_mode_600_and_never_the_default(tmp_cfg, tmp_path):
    first = ensure_credentials(tmp_cfg)
    path = tmp_path / "s" / "ss.json"
    assert set(first) == set(SECRET_KEYS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first["secret_key"] != DEFAULT_SECRET and len(first["secret_key"]) >= 48
    assert len({first[k] for k in SECRET_KEYS}) == 3
    assert ensure_credentials(tmp_cfg) == first  # a second start keeps them


def test_config_file_reads_the_key_from_the_secrets_and_keeps_metadata_in_the_state_dir(tmp_cfg, tmp_path):
    svc = Superset(tmp_cfg)
    text = svc.superset_config()
    ast.parse(text)
    assert 'SECRET_KEY = _creds["secret_key"]' in text and DEFAULT_SECRET not in text
    assert f"sqlite:///{tmp_path / 'state' / 'data' / 'superset' / 'superset.db'}" in text
    assert "CELERY_CONFIG" not in text and "RESULTS_BACKEND" not in text and "redis" not in text.lower()
    assert svc.ports() == [("127.0.0.1", 8088)] and svc.address() == "http://127.0.0.1:8088"


def test_superset_is_a_stack_service_after_the_warehouse(tmp_cfg):
    assert isinstance(service("superset", tmp_cfg), Superset)
    assert with_dependencies(["superset"]) == ["postgres", "superset"]


def test_constraints_pin_the_configured_superset_and_its_clashing_dependencies():
    pins = {}
    for line in (REPO_ROOT / "superset" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    assert pins["apache-superset"] == Config().superset.version
    assert pins["pandas"] < "2.2" and pins["sqlalchemy"].startswith("1.4") and "gunicorn" in pins
