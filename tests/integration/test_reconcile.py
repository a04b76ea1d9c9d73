"""The reconciliation (scripts/reconcile.py) on the real engines: the producer's day with faults through Kafka ->
NiFi (a test instance of the ingestion flow, its own topic, group and lake) -> HDFS -> the lake sync (Hive and the
warehouse, a scratch schema). Then:

* reconcile exits 0 and its figures are the producer's: messages sent (the truth file and fault manifest, written
  out by tests/oracle/producer_stream.py), distinct valid events landed, messages rejected (the invalid_json and
  invalid_schema faults' messages), identical duplicates dropped (the exact_duplicate faults), sessions on the lake
  and in fact_session (the truth file's);
* one real gap at a time, each named exactly and nothing else: a batch's viewing_events file dropped from HDFS
  (raw_events_mismatch for that batch), and one session file's rows deleted from fact_session
  (sessions_not_loaded and the marts for that date); exit 1 each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from integration.test_ingestion import (
    Harness,
    create_topic,
    expected_raw,
    manifest_entries,
    produce,
    read_topic,
)
from oracle import producer_stream

from iptv import db, hdfs_client, lake_sync
from iptv import reconcile as rc
from iptv import reconcile_sources as sources
from iptv.config import with_overrides
from iptv.nifi import status as flow_status

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
#: The fault kinds whose messages the flow rejects (no event at all), and the one it drops as a duplicate:
#: producer/faults.py's expected outcomes, written out here.
REJECTED_KINDS = ("invalid_json", "invalid_schema")
DUPLICATE_KIND = "exact_duplicate"


def truth_figures(manifest: Path, truth: Path) -> dict[str, int]:
    faults = manifest_entries(manifest)
    return {
        "sent": sum(producer_stream.stream(truth, faults).values()),
        "landed": sum(expected_raw(manifest, truth).values()),
        "rejected": sum(len(f["messages"]) for f in faults if f["kind"] in REJECTED_KINDS),
        "duplicates": sum(1 for f in faults if f["kind"] == DUPLICATE_KIND),
        "sessions": len(truth.read_text(encoding="utf-8").splitlines()) - 1,
    }


def run_cli(cfg_env: dict[str, str], *args: str) -> tuple[int, dict]:
    res = subprocess.run(
        [sys.executable, "scripts/reconcile.py", "--json", *args],
        cwd=REPO,
        env={**os.environ, **cfg_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode in (0, 1), res.stderr[-2000:]
    return res.returncode, json.loads(res.stdout)


def test_reconcile_clean_then_each_real_gap_named(kafka, hdfs, hive, nifi, postgres, tmp_path):
    h = Harness(nifi, tmp_path, grace="45 sec")
    tag = uuid.uuid4().hex[:8]
    schema = f"iptv_dw_test_rec_{tag}"
    hive_db = f"iptv_test_rec_{tag}"
    paths = {**nifi.hdfs.paths.as_dict(), **h.paths, "catalogs": f"{h.base}/catalogs"}
    cfg = with_overrides(nifi, {"hdfs.paths": paths, "hive.database": hive_db})
    # the same configuration for the command line, as environment overrides
    env = {f"IPTV__HDFS__PATHS__{k.upper()}": v for k, v in paths.items()} | {"IPTV__HIVE__DATABASE": hive_db}
    cli = ("--topic", h.topic, "--group", f"iptv-nifi-ingestion-{h.instance}", "--schema", schema)
    create_topic(nifi, h.topic)
    try:
        h.deploy()
        manifest, truth = produce(nifi, h.topic, tmp_path)
        want = truth_figures(manifest, truth)
        assert len(read_topic(nifi, h.topic)) == want["sent"]  # the oracle describes the topic
        h.wait_drained(
            {
                "viewing_events": want["landed"],
                "sessions": want["sessions"],
                "quarantine": want["rejected"],
                "ingest_batches": 1,
            }
        )
        res, _state = lake_sync.sync(cfg, {}, schema=schema)
        assert not res.errors, res.errors

        code, out = run_cli(env, *cli)
        assert code == 0 and out["ok"], out["gaps"]
        tot = out["totals"]
        got = {k: int(tot[k]) for k in ("sent", "accounted", "landed", "rejected", "duplicates")}
        assert got == {
            "sent": want["sent"],
            "accounted": want["sent"],
            "landed": want["landed"],
            "rejected": want["rejected"],
            "duplicates": want["duplicates"],
        }
        assert int(tot["lake_sessions"]) == int(tot["fact_session"]) == want["sessions"]
        assert int(tot["lake_events"]) == want["landed"] and int(tot["lake_rejected"]) == want["rejected"]
        print(f"clean: {out['summary']}")
        # Hive reads the accounting too (its table over ingest_batches, partitions registered by the sync)
        from iptv.hive_client import connect as hive_connect

        hc = hive_connect(cfg, database=hive_db)
        hcur = hc.cursor()
        hcur.execute("SELECT SUM(messages), SUM(landed), SUM(rejected), SUM(duplicates) FROM ingest_batches")
        hive_sums = [int(v) for v in hcur.fetchone()]
        hc.close()
        assert hive_sums == [want["sent"], want["landed"], want["rejected"], want["duplicates"]]

        # gap 1: one batch's viewing_events file is lost on HDFS
        lake = sources.Lake(cfg, paths)
        day = lake.dates(sources.VIEWING_EVENTS)[0]
        victim = lake.files(sources.VIEWING_EVENTS, day)[0]
        lost = sources.count_lines(lake.read(victim))
        batch = sources.batch_of(victim)
        hdfs_client.delete(cfg, victim)
        code, out = run_cli(env, *cli, "--no-warehouse")
        assert code == 1
        assert [(g["kind"], g["subject"]) for g in out["gaps"]] == [(rc.EVENTS_MISSING, f"batch {batch}")]
        gap = out["gaps"][0]
        assert gap["expected"] - gap["found"] == lost

        # gap 2: the rows of one session file are deleted from fact_session (its date's marts now disagree too)
        sdays = lake.dates(sources.SESSIONS)
        sday = max(sdays, key=lambda d: len(lake.files(sources.SESSIONS, d)))
        session_file = lake.files(sources.SESSIONS, sday)[0]
        ids = [line.split(",")[0] for line in lake.read(session_file).decode().splitlines() if line]
        conn = db.connect(cfg, "loader")
        with conn, conn.cursor() as cur:
            cur.execute(f"DELETE FROM {schema}.fact_session WHERE session_id = ANY(%s)", (ids,))
            assert cur.rowcount == len(ids)
        conn.close()
        code, out = run_cli(env, *cli, "--from", sday.isoformat(), "--to", sday.isoformat(), "--store")
        assert code == 1
        d = sday.isoformat()
        gaps = Counter((g["kind"], g["subject"]) for g in out["gaps"])
        assert gaps[(rc.SESSIONS_NOT_LOADED, f"{d} fact_session")] == 1
        assert all(subject.startswith(d) or subject == f"batch {batch}" for _kind, subject in gaps), gaps
        missing = next(g for g in out["gaps"] if g["kind"] == rc.SESSIONS_NOT_LOADED)
        assert missing["expected"] - missing["found"] == len(ids)
        assert {s for k, s in gaps if k == rc.MART_MISMATCH} >= {f"{d} mart_daily"}
        print(f"gaps named: {[g['detail'] for g in out['gaps']]}")
        # stored for the dashboard: exactly the gaps named, read back as the dashboards' read-only role
        conn = db.connect(cfg, "reader")
        with conn, conn.cursor() as cur:
            cur.execute(f"SELECT gap, subject FROM {schema}.reconcile_results WHERE gap IS NOT NULL")
            assert Counter(cur.fetchall()) == gaps
        conn.close()
        line = flow_status.reconcile_line(cfg, schema)
        assert f"{len(out['gaps'])} gap(s): " in line and f"{d} fact_session: " in line, line
    finally:
        h.cleanup()
        try:
            conn = db.connect(cfg, "loader")
            with conn, conn.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.close()
            from iptv.hive_client import connect

            hc = connect(cfg, database="default")
            hc.cursor().execute(f"DROP DATABASE IF EXISTS {hive_db} CASCADE")
            hc.close()
        except Exception as exc:
            print(f"clean-up failed: {exc}")
