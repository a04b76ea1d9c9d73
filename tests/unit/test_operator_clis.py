"""The operator commands' own branches, with the engines replaced (no NiFi, Hive or warehouse is reached):
deploy_flows (usage errors, --dry-run and --remove reaching the right call, exit codes), flow_status (exit 1 naming
the problem, no group, NiFi unreachable) and sync_lake (--reset, a corrupt state file, the saved state, exit
codes). What these calls do on the real engines is tested in tests/integration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iptv import lake_sync, lake_sync_cli
from iptv.nifi import deploy_cli
from iptv.nifi import status as flow_status

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------------------------------------- deploy_flows
class FakeNifi:
    """deploy/remove of iptv.nifi.deploy as deploy_cli calls them: records each call, answers with a report."""

    def __init__(self, problems: dict[str, list[str]] | None = None, fail: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.problems = problems or {}
        self.fail = fail or {}

    def deploy(self, cfg, instance, overrides, **kw) -> dict[str, Any]:
        flow = kw["flow"]
        self.calls.append(("deploy", {"instance": instance, "overrides": overrides, **kw}))
        if flow in self.fail:
            raise RuntimeError(self.fail[flow])
        actions = [] if kw["dry_run"] else [f"create process group of {flow}"]
        return {"name": f"IPTV {flow}", "stamp": "s1", "actions": actions, "problems": self.problems.get(flow, [])}

    def remove(self, cfg, instance, flow) -> list[str]:
        self.calls.append(("remove", {"instance": instance, "flow": flow}))
        return [f"deleted {flow} of {instance}"]


@pytest.fixture
def nifi(monkeypatch) -> FakeNifi:
    fake = FakeNifi()
    monkeypatch.setattr(deploy_cli, "deploy", fake.deploy)
    monkeypatch.setattr(deploy_cli, "remove", fake.remove)
    return fake


def test_deploy_param_without_a_value_is_a_usage_error(nifi, capsys):
    with pytest.raises(SystemExit) as exc:
        deploy_cli.main(["--param", "kafka.topic"])
    assert exc.value.code == 2
    assert "--param expects NAME=VALUE, got 'kafka.topic'" in capsys.readouterr().err
    assert nifi.calls == []


def test_deploy_unknown_param_is_a_usage_error_listing_the_known_ones(nifi, capsys):
    with pytest.raises(SystemExit) as exc:
        deploy_cli.main(["--flow", "ingestion", "--param", "kafka.topik=t1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) kafka.topik (known: " in err and "kafka.topic" in err
    assert nifi.calls == []


def test_deploy_dry_run_only_plans(nifi, capsys):
    assert deploy_cli.main(["--flow", "ingestion", "--dry-run", "--param", "kafka.topic=t1"]) == 0
    [(call, kw)] = nifi.calls
    assert call == "deploy" and kw["dry_run"] is True and kw["overrides"] == {"kafka.topic": "t1"}
    assert capsys.readouterr().out.splitlines()[1:] == ["  plan: nothing to change"]


def test_deploy_passes_each_flow_only_its_own_params(nifi, capsys):
    assert deploy_cli.main(["--param", "kafka.topic=t1", "--instance", "x"]) == 0
    by_flow = {kw["flow"]: kw for _call, kw in nifi.calls}
    assert set(by_flow) == {"ingestion", "warehouse-sync"}
    assert by_flow["ingestion"]["overrides"] == {"kafka.topic": "t1"}
    assert by_flow["warehouse-sync"]["overrides"] == {}
    assert all(kw["instance"] == "x" and kw["start"] is True for kw in by_flow.values())
    out = capsys.readouterr().out
    assert (
        "  done: create process group of ingestion" in out and "  done: create process group of warehouse-sync" in out
    )


def test_deploy_remove_removes_and_deploys_nothing(nifi, capsys):
    assert deploy_cli.main(["--remove", "--instance", "x", "--flow", "ingestion"]) == 0
    assert nifi.calls == [("remove", {"instance": "x", "flow": "ingestion"})]
    assert capsys.readouterr().out == "deleted ingestion of x\n"


def test_deploy_invalid_component_exits_1_and_names_it(monkeypatch, capsys):
    fake = FakeNifi(problems={"ingestion": ["PairViewingEvents is invalid: State Directory is required"]})
    monkeypatch.setattr(deploy_cli, "deploy", fake.deploy)
    assert deploy_cli.main(["--flow", "ingestion"]) == 1
    assert "  INVALID: PairViewingEvents is invalid: State Directory is required" in capsys.readouterr().err


def test_deploy_error_in_one_flow_exits_1_and_still_deploys_the_other(monkeypatch, capsys):
    fake = FakeNifi(fail={"ingestion": "NiFi at https://127.0.0.1:1/nifi-api is unreachable"})
    monkeypatch.setattr(deploy_cli, "deploy", fake.deploy)
    assert deploy_cli.main([]) == 1
    assert [kw["flow"] for _c, kw in fake.calls] == ["ingestion", "warehouse-sync"]
    captured = capsys.readouterr()
    assert captured.err == "error: ingestion: NiFi at https://127.0.0.1:1/nifi-api is unreachable\n"
    assert "IPTV warehouse-sync at version s1" in captured.out


def test_deploy_bad_config_file_exits_1(nifi, tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert deploy_cli.main(["--config", str(missing)]) == 1
    assert capsys.readouterr().err.startswith("error: ") and nifi.calls == []


# ---------------------------------------------------------------------------------------------- flow_status
def _report(problems: list[str]) -> dict[str, Any]:
    proc = {
        "name": "PutHdfsPartitioned",
        "id": "p1",
        "state": "Stopped" if problems else "Running",
        "in": 0,
        "out": 0,
        "out_bytes": 0,
        "queued": 0,
        "queued_bytes": 0,
        "back_pressure": False,
        "tasks": 0,
        "bulletins": [],
    }
    return {
        "group": "IPTV ingestion",
        "comments": "s1",
        "queued": 0,
        "queued_bytes": 0,
        "processors": [proc],
        "connections": [],
        "problems": problems,
    }


#: flow_status' last line: the stored reconciliation (read from the warehouse; its own test is integration).
RECONCILE_LINE = "reconcile (last run 2026-03-02 10:00:00 UTC): ok"


def test_flow_status_exits_1_and_names_the_problem(monkeypatch, capsys):
    monkeypatch.setattr(flow_status, "snapshot", lambda cfg, instance: [_report(["PutHdfsPartitioned is Stopped"])])
    monkeypatch.setattr(flow_status, "reconcile_line", lambda cfg, schema: RECONCILE_LINE)
    assert flow_status.main([]) == 1
    out = capsys.readouterr().out
    assert "  PROBLEM: PutHdfsPartitioned is Stopped" in out and "  OK" not in out


def test_flow_status_healthy_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(flow_status, "snapshot", lambda cfg, instance: [_report([])])
    schemas = []
    monkeypatch.setattr(flow_status, "reconcile_line", lambda cfg, schema: schemas.append(schema) or RECONCILE_LINE)
    assert flow_status.main([]) == 0
    assert capsys.readouterr().out.rstrip().endswith("  OK\n" + RECONCILE_LINE) and schemas == ["iptv_dw"]
    assert flow_status.main(["--no-reconcile"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("  OK") and schemas == ["iptv_dw"]


def test_flow_status_json_carries_the_problems(monkeypatch, capsys):
    monkeypatch.setattr(flow_status, "snapshot", lambda cfg, instance: [_report(["X has ERROR bulletins"])])
    assert flow_status.main(["--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["problems"] == ["X has ERROR bulletins"]


def test_flow_status_without_a_group_exits_1(monkeypatch, capsys):
    monkeypatch.setattr(flow_status, "snapshot", lambda cfg, instance: [])
    assert flow_status.main(["--instance", "gone"]) == 1
    assert "no 'IPTV ...' process group on this NiFi" in capsys.readouterr().out


def test_flow_status_unreachable_nifi_is_a_one_line_error(monkeypatch, capsys):
    def unreachable(cfg, instance):
        raise ConnectionError("NiFi at https://127.0.0.1:1/nifi-api refused the connection")

    monkeypatch.setattr(flow_status, "snapshot", unreachable)
    assert flow_status.main([]) == 1
    assert capsys.readouterr().err == "error: NiFi at https://127.0.0.1:1/nifi-api refused the connection\n"


# ---------------------------------------------------------------------------------------------- sync_lake
class FakeSync:
    """lake_sync.sync: records the state it was given, answers with ``result`` and the state plus one date."""

    def __init__(self, result: lake_sync.SyncResult | None = None) -> None:
        self.given: list[dict[str, str]] = []
        self.result = result or lake_sync.SyncResult(dates=["2026-03-02"], rows_read=3, rows_loaded=3)

    def __call__(self, cfg, state, *, schema, progress=None, cache=None, targets=None):
        self.given.append(dict(state))
        return self.result, {**state, "sessions/dt=2026-03-02": "new"}


@pytest.fixture
def sync(monkeypatch) -> FakeSync:
    fake = FakeSync()
    monkeypatch.setattr(lake_sync, "sync", fake)
    return fake


def _state(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_sync_lake_passes_the_saved_state_and_saves_the_new_one(sync, tmp_path, capsys):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"sessions/dt=2026-03-01": "old"}), encoding="utf-8")
    assert lake_sync_cli.main(["--state", str(path), "--no-progress"]) == 0
    assert sync.given == [{"sessions/dt=2026-03-01": "old"}]
    assert _state(path) == {"sessions/dt=2026-03-01": "old", "sessions/dt=2026-03-02": "new"}
    assert capsys.readouterr().out.startswith("sync: dates=1 (2026-03-02)")


def test_sync_lake_reset_forgets_the_state(sync, tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"sessions/dt=2026-03-01": "old"}), encoding="utf-8")
    assert lake_sync_cli.main(["--state", str(path), "--reset", "--no-progress"]) == 0
    assert sync.given == [{}]
    assert _state(path) == {"sessions/dt=2026-03-02": "new"}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{oops", "Expecting property name"),  # not JSON (a write cut short)
        ('["sessions/dt=2026-03-01"]', "is not a sync state (a JSON object of strings): remove it or use --reset"),
        ('{"sessions/dt=2026-03-01": 5}', "is not a sync state"),
    ],
)
def test_sync_lake_corrupt_state_exits_3_and_syncs_nothing(sync, tmp_path, capsys, text, says):
    path = tmp_path / "state.json"
    path.write_text(text, encoding="utf-8")
    assert lake_sync_cli.main(["--state", str(path), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and len(err.splitlines()) == 1
    assert sync.given == [] and path.read_text(encoding="utf-8") == text  # left for the operator to look at


def test_sync_lake_reset_recovers_from_a_corrupt_state(sync, tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{oops", encoding="utf-8")
    assert lake_sync_cli.main(["--state", str(path), "--reset", "--no-progress"]) == 0
    assert sync.given == [{}]
    assert _state(path) == {"sessions/dt=2026-03-02": "new"}


@pytest.mark.parametrize(
    ("error", "code"),
    [("load dt=2026-03-02: warehouse unreachable", 1), ("list HDFS /data/iptv/sessions: connection refused", 3)],
)
def test_sync_lake_failed_sync_exit_codes(monkeypatch, tmp_path, capsys, error, code):
    fake = FakeSync(lake_sync.SyncResult(errors=[error]))
    monkeypatch.setattr(lake_sync, "sync", fake)
    path = tmp_path / "state.json"
    assert lake_sync_cli.main(["--state", str(path), "--no-progress"]) == code
    assert f"  error: {error}" in capsys.readouterr().err


def test_sync_lake_json_summary(sync, tmp_path, capsys):
    assert lake_sync_cli.main(["--state", str(tmp_path / "s.json"), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["dates"] == ["2026-03-02"] and body["rows_loaded"] == 3 and body["errors"] == []
