"""Unit tests of the flow definition and of scripts/flows.py's pure parts (no NiFi): every parameter the
flow references exists in its context and is set from the config; processor types, bundle versions and property
names match the Python processors' code; version stamps, instance names and overrides."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from iptv.config import load_config, state_dir
from iptv.nifi import deploy, flows, status

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

PROCESSORS = {
    "ConsumeViewingEvents": REPO / "nifi/python-processors/iptv_ingest/ConsumeViewingEvents.py",
    "PairViewingEvents": REPO / "nifi/python-processors/iptv_sessions/PairViewingEvents.py",
    "PutHdfsPartitioned": REPO / "nifi/python-processors/iptv_ingest/PutHdfsPartitioned.py",
}


def _processor_facts(path: Path) -> tuple[str, set[str]]:
    """(ProcessorDetails.version, property names) read from the source without importing nifiapi."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    version, names = None, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "ProcessorDetails":
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and stmt.targets[0].id == "version":
                    version = stmt.value.value
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PropertyDescriptor":
            for kw in node.keywords:
                if kw.arg == "name":
                    names.add(kw.value.value)
    return version, names


def test_flow_definition_matches_processors_and_parameters():
    snap = flows.load_snapshot()
    fc = snap["flowContents"]
    ctx = snap["parameterContexts"][fc["parameterContextName"]]
    declared = {p["name"] for p in ctx["parameters"]}
    assert declared == set(flows.parameters_from_config(load_config()))
    ids = set()
    for proc in fc["processors"]:
        version, names = _processor_facts(PROCESSORS[proc["type"]])
        assert proc["bundle"] == {"group": "org.apache.nifi", "artifact": "python-extensions", "version": version}
        assert set(proc["properties"]) <= names, proc["type"]
        for value in proc["properties"].values():
            for ref in re.findall(r"#\{([^}]+)\}", value or ""):
                assert ref in declared, ref
        assert proc["concurrentlySchedulableTaskCount"] == (2 if proc["type"] == "PutHdfsPartitioned" else 1)
        ids.add(proc["identifier"])
    ids |= {f["identifier"] for f in fc["funnels"]}
    for conn in fc["connections"]:
        assert conn["source"]["id"] in ids and conn["destination"]["id"] in ids
        assert not conn["prioritizers"]  # the pairer relies on NiFi's default FIFO order
    assert "@FLOW_VERSION@" in fc["comments"]


def test_prepared_snapshot_names_stamp_and_values():
    cfg = load_config()
    params = flows.parameters_from_config(cfg, "t1", {"pairing.grace": "30 sec", "kafka.topic": "x"})
    assert params["kafka.group.id"] == "iptv-nifi-ingestion-t1" and params["kafka.topic"] == "x"
    assert params["hdfs.viewing.events.path"] == cfg.hdfs.paths.viewing_events
    assert params["channel.catalog"] == "1-148"
    # the managed stack keeps the pairing journal beside NiFi's own local state, not in its install directory
    assert params["pairing.state.dir"] == str(state_dir(cfg) / "data" / "nifi" / "state" / "iptv-pairing")
    snap = flows.prepared_snapshot(params, "t1", "abc123 sha:0123456789ab")
    fc = snap["flowContents"]
    assert fc["name"] == "IPTV ingestion [t1]" and fc["parameterContextName"] == "iptv-ingestion-t1"
    assert flows.stamp_of(fc["comments"]) == "abc123 sha:0123456789ab"
    values = {p["name"]: p["value"] for p in snap["parameterContexts"]["iptv-ingestion-t1"]["parameters"]}
    assert values["pairing.grace"] == "30 sec"
    with pytest.raises(SystemExit):
        flows.parameters_from_config(cfg, None, {"no.such": "1"})


def test_version_stamp_and_names():
    stamp = flows.version_stamp()
    assert re.fullmatch(r"\S+ sha:[0-9a-f]{12}", stamp)
    assert flows.stamp_of("IPTV warehouse sync flow, version 665360b+modified sha:26311422c722 (x)") == (
        "665360b+modified sha:26311422c722"
    )
    assert flows.stamp_of("hand-made group") is None
    assert flows.names(None) == ("IPTV ingestion", "iptv-ingestion")
    spec = flows.FLOWS["warehouse-sync"]
    assert flows.names("b", spec) == ("IPTV warehouse sync [b]", "iptv-warehouse-sync-b")


def test_orphaned_journals_spares_live_locked_and_foreign_directories(tmp_path):
    from iptv_sessions.state_store import JournalStore

    live, orphan, running = (
        "0a1b2c3d-0000-1000-8000-00000000000a",
        "0a1b2c3d-0000-1000-8000-00000000000b",
        "0a1b2c3d-0000-1000-8000-00000000000c",
    )
    for pid in (live, orphan):
        with JournalStore(tmp_path / pid) as store:  # a real journal, closed again (lock released)
            store.load()
    (tmp_path / "notes").mkdir()  # not named like a processor id: not a journal
    (tmp_path / "0a1b2c3d-0000-1000-8000-00000000000d.txt").write_text("a file, not a directory")
    held = JournalStore(tmp_path / running)  # a pairer still running with this journal (holds its lock)
    try:
        orphans, in_use = deploy.orphaned_journals(tmp_path, {live})
        assert orphans == [tmp_path / orphan]
        assert in_use == [tmp_path / running]
    finally:
        held.close()
    orphans, in_use = deploy.orphaned_journals(tmp_path, {live})
    assert orphans == [tmp_path / orphan, tmp_path / running] and in_use == []
    assert deploy.orphaned_journals(tmp_path / "missing", set()) == ([], [])


def _proc(name: str, state: str = "Running", valid: str = "VALID", bulletins: tuple = ()) -> dict:
    pid = f"0a1b2c3d-0000-1000-8000-{name.encode().hex():0>12}"
    msgs = [{"level": lvl, "time": "20:37:31 UTC", "message": msg.format(id=pid)} for lvl, msg in bulletins]
    return {"name": name, "id": pid, "state": state, "valid": valid, "validation_errors": [], "bulletins": msgs}


def test_flow_status_problems_ignore_start_up_ghost_bulletins_of_healthy_processors():
    ghost = ("ERROR", "GhostProcessor[id={id}] Encountering difficulty starting. (Validation State is INVALID)")
    failed = {"destination_type": status.FAILURE_SINK, "queued": 2, "source": "PairViewingEvents", "name": "x"}
    assert status.find_problems([_proc("A", bulletins=(ghost,))], []) == []  # NiFi start-up noise
    assert status.find_problems([_proc("A", bulletins=(ghost, ("WARNING", "slow")))], []) == []
    assert status.find_problems([_proc("B", bulletins=(("ERROR", "PairViewingEvents[id={id}] failed"),))], []) == [
        "B has ERROR bulletins"
    ]
    # a ghost's bulletin still counts while the processor is not valid and running
    assert status.find_problems([_proc("C", state="Stopped", bulletins=(ghost,))], []) == [
        "C is Stopped",
        "C has ERROR bulletins",
    ]
    assert status.find_problems([_proc("D", valid="INVALID", bulletins=(ghost,))], []) == [
        "D is invalid: INVALID",
        "D has ERROR bulletins",
    ]
    # another processor's ghost message is not this one's start-up noise
    other = ("ERROR", "GhostProcessor[id=ffffffff-0000-1000-8000-000000000000] Encountering difficulty starting.")
    assert status.find_problems([_proc("E", bulletins=(other,))], [failed]) == [
        "E has ERROR bulletins",
        "2 FlowFile(s) failed in PairViewingEvents (queue 'x'; to replay them see README, 'Failed batches')",
    ]
