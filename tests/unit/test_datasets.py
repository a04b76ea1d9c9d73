"""The dataset definition (schemas/datasets.json) and its users: both readers agree, the Hive and staging column
lists are rendered from it, and what the producer and the pairer write follows it (checked at import)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iptv import datasets, lake_state
from iptv.config import Config
from iptv.hive_tables import HIVE_DIR, HiveTables
from iptv.sql import Ident, render, split_statements
from iptv.warehouse.schema import Warehouse
from iptv.warehouse.staging import CATALOG_STAGING, PROGRAMME_FIELDS, SESSION_FIELDS
from iptv_ingest import hdfs_sections
from iptv_sessions import batch_result, event_contract, flowfile_formats, lake_datasets

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PROCESSORS = REPO / "nifi" / "python-processors"
A = "0123456789abcdef0123456789abcdef"


def test_the_definition_loads_with_one_name_per_dataset():
    assert list(datasets.DATASETS) == [
        "viewing_events",
        "sessions",
        "quarantine",
        "ingest_batches",
        "channels",
        "users",
        "programmes",
    ]
    assert datasets.PARTITIONED == ("viewing_events", "sessions", "quarantine", "ingest_batches", "programmes")
    # by origin: what the ingestion flow lands (its accounting too), and the catalogs (the guide: the dated one)
    assert datasets.INGESTED == ("viewing_events", "sessions", "quarantine", "ingest_batches")
    assert datasets.CATALOGS == ("channels", "users", "programmes")
    assert datasets.DATED_CATALOGS == ("programmes",) and datasets.WHOLE_CATALOGS == ("channels", "users")
    assert set(datasets.PARTITIONED) == set(datasets.INGESTED) | set(datasets.DATED_CATALOGS)
    assert lake_state.KINDS == datasets.PARTITIONED and lake_state.CATALOGS == datasets.WHOLE_CATALOGS
    for ds in datasets.DATASETS.values():
        assert ds.csv.header is False and ds.csv.delimiter == ","
        assert len(set(ds.column_names)) == len(ds.columns)
        if ds.partitioned:
            assert ds.partition_column == "dt" and ds.partition_of in ds.column_names
    assert datasets.dataset("sessions") is datasets.SESSIONS
    with pytest.raises(KeyError, match="known: viewing_events"):
        datasets.dataset("raw")


@pytest.mark.parametrize("config", ["local.yaml", "cluster.example.yaml"])
def test_every_lake_directory_is_configured(config):
    paths = yaml.safe_load((REPO / "config" / config).read_text(encoding="utf-8"))["hdfs"]["paths"]
    assert datasets.VIEWING_EVENTS.directory(paths) == "/data/iptv/raw/viewing_events"
    assert datasets.CHANNELS.directory(paths) == "/data/iptv/catalogs/channels"
    assert datasets.PROGRAMMES.directory(paths) == "/data/iptv/catalogs/epg"
    assert all(ds.config_key in paths for ds in datasets.DATASETS.values())
    assert "raw_events" not in paths


def test_bad_definitions_are_refused(tmp_path):
    raw = json.loads(datasets.DEFINITION_PATH.read_text(encoding="utf-8"))
    bad = json.loads(json.dumps(raw))
    bad["datasets"][1]["partition"]["date_of"] = "nope"
    (tmp_path / "a.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="not one of its columns"):
        datasets.load(tmp_path / "a.json")
    bad = json.loads(json.dumps(raw))
    bad["datasets"][0]["columns"][0]["type"] = "varchar"
    (tmp_path / "b.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown column type"):
        datasets.load(tmp_path / "b.json")
    bad = json.loads(json.dumps(raw))
    bad["datasets"].append(raw["datasets"][0])
    (tmp_path / "c.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="defined twice"):
        datasets.load(tmp_path / "c.json")


HIVE_COLUMNS = {
    "viewing_events": "session_id STRING, user_id BIGINT, channel_id BIGINT, timer STRING, status STRING",
    "sessions": "session_id STRING, user_id BIGINT, channel_id BIGINT, time_start TIMESTAMP, time_end TIMESTAMP, "
    "duration_s BIGINT",
    "quarantine": "reason STRING, session_id STRING, arrival_ts STRING, detail STRING, raw STRING",
    "channels": "channel_id STRING, channel_name STRING, watch_share_pct STRING, viewer_share_pct STRING",
    "users": "user_id STRING, user_name STRING, gender STRING, birth_date STRING, city STRING, signup_date STRING",
    "programmes": "programme_id STRING, channel_id STRING, title STRING, genre STRING, series_id STRING, "
    "episode STRING, time_start STRING, time_end STRING",
}


@pytest.mark.parametrize("name", list(HIVE_COLUMNS))
def test_hive_column_lists(name):
    """Typed for delimited files; all STRING (OpenCSVSerde) for quoted ones, under the warehouse's names."""
    assert " ".join(datasets.DATASETS[name].hive_columns().split()) == HIVE_COLUMNS[name]


def _tables(sql: str) -> dict[str, str]:
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r"CREATE EXTERNAL TABLE IF NOT EXISTS `db1`\.(\w+) \((.*?)\n\)(.*?)LOCATION", sql, re.S)
    }


def test_create_tables_renders_the_definition():
    tables = HiveTables("db1", {t: f"hdfs://nn/lake/{t}" for t in datasets.DATASETS})
    sql = render((HIVE_DIR / "create_tables.sql").read_text(encoding="utf-8"), "hive", tables.values())
    created = _tables(sql)
    assert set(created) == set(datasets.DATASETS)
    for name, ds in datasets.DATASETS.items():
        text = " ".join(created[name].split())
        assert f"( {' '.join(ds.hive_columns().split())} )" in text
        # the row format is the one the CSV format needs
        if ds.csv.quoting == "none":
            assert "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','" in text
        else:
            assert "OpenCSVSerde" in text and "'quoteChar' = '\"'" in text
        assert ("PARTITIONED BY (dt STRING)" in text) == ds.partitioned
    assert "session_id" not in (HIVE_DIR / "create_tables.sql").read_text(encoding="utf-8")


def test_platform_check_table_has_the_events_columns():
    from iptv.hive_tables import column_values

    values = {**column_values(), "database": Ident("db"), "table": Ident("t"), "location": "hdfs://nn/x"}
    stmts = split_statements(
        render((HIVE_DIR / "platform_check.sql").read_text(encoding="utf-8"), "hive", values), "hive"
    )
    create = next(s for s in stmts if s.startswith("CREATE EXTERNAL TABLE"))
    assert " ".join(datasets.VIEWING_EVENTS.hive_columns().split()) in " ".join(create.split())


def test_staging_tables_have_the_file_columns():
    wh = Warehouse(Config())
    stage = " ".join(wh.sql("load/stage_sessions.sql").split())
    assert "raw_line TEXT, " + ", ".join(f"{c} TEXT" for c in datasets.SESSIONS.column_names) + " )" in stage
    typed = (
        "session_id TEXT, user_id BIGINT, channel_id BIGINT, time_start TIMESTAMP, time_end TIMESTAMP, "
        "duration_s BIGINT"
    )
    assert f"stg_session_typed ( source_file TEXT, line_no BIGINT, {typed} )" in stage
    dims = " ".join(wh.sql("load/dims.sql").split())
    for ds, table in ((datasets.CHANNELS, "stg_channel"), (datasets.USERS, "stg_user")):
        assert f"{table} ( " + ", ".join(f"{c} TEXT" for c in ds.column_names) + " )" in dims
    assert SESSION_FIELDS == datasets.SESSIONS.column_names
    stage = " ".join(wh.sql("load/stage_programmes.sql").split())
    assert "raw_line TEXT, " + ", ".join(f"{c} TEXT" for c in datasets.PROGRAMMES.column_names) + " )" in stage
    assert PROGRAMME_FIELDS == datasets.PROGRAMMES.column_names
    assert CATALOG_STAGING == {"channels": ("stg_channel", 4), "users": ("stg_user", 6)}


def test_the_processors_reader_agrees_with_iptv_datasets():
    assert lake_datasets.definition_path() == str(datasets.DEFINITION_PATH)
    assert list(lake_datasets.DATASETS) == list(datasets.DATASETS)
    for name, ds in datasets.DATASETS.items():
        assert lake_datasets.column_names(name) == ds.column_names
    with pytest.raises(KeyError, match="known: viewing_events"):
        lake_datasets.column_names("raw")


def test_the_pairer_writes_the_definitions_columns():
    """The pairer's section kinds are the ingested datasets: the guide is a catalog, never a section."""
    assert flowfile_formats.KINDS == datasets.INGESTED
    assert flowfile_formats.COLUMNS == {name: datasets.DATASETS[name].column_names for name in datasets.INGESTED}
    assert event_contract.EVENT_FIELDS == datasets.VIEWING_EVENTS.column_names
    s = batch_result.Session(A, 7, 120, "2025-03-05 10:00:00", "2025-03-05 10:05:00", 300)
    q = {"reason": "invalid_json", "session_id": None, "raw": 'x,"y"', "detail": "d", "arrival_ts": "2025-03-05T11:00Z"}
    content, counts = flowfile_formats.render_output([(A, 7, 120, "2025-03-05 10:00:00", "enabled")], [s], [q])
    assert counts == {"viewing_events": 1, "sessions": 1, "quarantine": 1, "ingest_batches": 0}
    rows = {
        sec.kind: next(csv.reader(io.StringIO(sec.data.decode())))
        for sec in hdfs_sections.parse_sections(content, datasets.INGESTED)
    }
    assert dict(zip(datasets.VIEWING_EVENTS.column_names, rows["viewing_events"], strict=True))["timer"] == s.time_start
    assert dict(zip(datasets.SESSIONS.column_names, rows["sessions"], strict=True)) == {
        k: str(v) for k, v in s.as_dict().items()
    }
    got_q = dict(zip(datasets.QUARANTINE.column_names, rows["quarantine"], strict=True))
    assert got_q == {
        "reason": "invalid_json",
        "session_id": "",
        "arrival_ts": "2025-03-05T11:00Z",
        "detail": "d",
        "raw": 'x,"y"',
    }


def test_the_event_schema_has_the_events_columns():
    schema = json.loads((REPO / "schemas" / "viewing_event.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["properties"]) == datasets.VIEWING_EVENTS.column_names
    assert set(schema["required"]) == set(datasets.VIEWING_EVENTS.column_names)


def test_a_changed_definition_fails_the_pairer_at_import():
    """batch_result checks at import that its fixed f-strings write the definition's columns in order."""
    code = (
        "from iptv_sessions import lake_datasets\n"
        "cols = lake_datasets.DATASETS['sessions']['columns']\n"
        "cols[3], cols[4] = cols[4], cols[3]\n"
        "try:\n"
        "    from iptv_sessions import batch_result\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
        "else:\n"
        "    print('imported')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROCESSORS, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.startswith("refused: batch_result.Session writes sessions as session_id,user_id,channel_id,time_start")


def test_require_columns_names_both_orders():
    assert (
        lake_datasets.require_columns("sessions", datasets.SESSIONS.column_names, "here")
        == datasets.SESSIONS.column_names
    )
    with pytest.raises(ImportError, match="here writes sessions as session_id but .* says session_id,user_id"):
        lake_datasets.require_columns("sessions", ("session_id",), "here")


def test_put_hdfs_writes_any_configured_kind_and_reads_the_old_raw_kind():
    plain = b"#@ raw dt=2025-03-05 n=1\nx\n#@ sessions dt=2025-03-05 n=1\ny\n"
    assert [s.kind for s in hdfs_sections.parse_sections(plain, datasets.INGESTED)] == ["viewing_events", "sessions"]
    with pytest.raises(ValueError, match="bad section marker"):
        hdfs_sections.parse_sections(b"#@ other dt=2025-03-05 n=1\nx\n", datasets.INGESTED)
    sec = hdfs_sections.unreadable_section(b"garbage", "ValueError: no marker", 1741172400.0)
    row = dict(zip(datasets.QUARANTINE.column_names, next(csv.reader(io.StringIO(sec.data.decode()))), strict=True))
    assert sec.kind == "quarantine" and row["reason"] == hdfs_sections.UNREADABLE_OUTPUT and row["raw"] == "garbage"
    assert row["arrival_ts"].startswith(sec.dt)


def test_the_producer_writes_the_definitions_columns(tmp_path):
    from producer import catalogs
    from producer.events import TRUTH_HEADER, render, write_truth
    from producer.model import Simulator

    assert tuple(TRUTH_HEADER) == datasets.SESSIONS.column_names
    line = render("csv", A, 1, 2, "2025-03-05 10:00:00", "enabled")
    assert dict(zip(datasets.VIEWING_EVENTS.column_names, line.split(","), strict=True))["status"] == "enabled"
    assert json.loads(render("json", A, 1, 2, "2025-03-05 10:00:00", "enabled"))["channel_id"] == 2
    sessions = Simulator(20, 1).day(dt.date(2025, 3, 5))
    write_truth(sessions, tmp_path / "truth.csv")
    rows = list(csv.DictReader((tmp_path / "truth.csv").open(encoding="utf-8")))
    assert rows and all(int(r["duration_s"]) >= 0 and r["time_start"] <= r["time_end"] for r in rows)
    users = catalogs.user_rows(3, seed=1)
    assert all(len(u) == len(datasets.USERS.columns) for u in users)
    assert dict(zip(datasets.USERS.column_names, users[0], strict=True))["gender"] in ("M", "F")


def test_stale_state_keys_are_dropped_not_synced():
    """A sync state key of no dataset (e.g. raw_events/dt=..., the kind's former name) is dropped."""
    state = {"raw_events/dt=2026-03-04": "c", "sessions/dt=2026-03-04": "s"}
    ch = lake_state.detect_changes({"sessions/dt=2026-03-04": "s", "viewing_events/dt=2026-03-04": "v"}, state)
    assert ch.stale == ["raw_events/dt=2026-03-04"]
    assert ch.keys == {"viewing_events/dt=2026-03-04": "v"} and ch.dates == [dt.date(2026, 3, 4)]
    assert not lake_state.detect_changes({}, {"raw_events/dt=2026-03-04": "c"})
