"""scripts/flow_status.py on a real unhealthy flow: a warehouse-sync instance deployed (scripts/deploy_flows.py's
deploy) with a configuration file that does not exist, so NiFi cannot schedule SyncWarehouse and posts ERROR
bulletins: flow_status exits 1 and names the processor. (A stopped processor is in test_ingestion.py's
test_operator_commands_on_a_running_flow.)"""

from __future__ import annotations

import time
import uuid

import pytest

from iptv.nifi import deploy
from iptv.nifi import status as flow_status

pytestmark = pytest.mark.integration

#: Seconds to wait for SyncWarehouse's first failed start (NiFi may first build the processor's virtualenv).
BULLETIN_TIMEOUT = 900


def test_flow_status_exits_1_naming_a_processor_with_error_bulletins(nifi, tmp_path, capsys):
    from iptv.nifi.client import login

    instance = f"status-{uuid.uuid4().hex[:6]}"
    missing = tmp_path / "no-such-config.yaml"
    try:
        report = deploy.deploy(nifi, instance, {"iptv.config.file": str(missing)}, flow="warehouse-sync")
        assert not report["problems"], report["problems"]
        login(nifi)
        deadline = time.monotonic() + BULLETIN_TIMEOUT
        errors: list[str] = []
        while not errors and time.monotonic() < deadline:
            time.sleep(3)
            sync = [p for g in flow_status.groups(instance) for p in flow_status.collect(g)["processors"]]
            errors = [b["message"] for p in sync for b in p["bulletins"] if b["level"] == "ERROR"]
        assert errors, "SyncWarehouse posted no ERROR bulletin with a missing configuration file"
        assert any("Failed to properly initialize Processor" in e for e in errors), errors
        capsys.readouterr()
        assert flow_status.main(["--instance", instance]) == 1
        out = capsys.readouterr().out
        assert "PROBLEM: SyncWarehouse has ERROR bulletins" in out, out
        assert "[ERROR]" in out and "Failed to properly initialize Processor" in out, out
    finally:
        deploy.remove(nifi, instance, "warehouse-sync")
