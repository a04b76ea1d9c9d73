"""`python -m producer backfill --to hdfs`, `catalogs --to hdfs` and `epg --to hdfs` against the real HDFS
(test-only paths)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections import Counter

import pytest
from oracle import producer_stream

from iptv.config import REPO_ROOT
from producer import faults, guide
from producer.catalogs import from_csv

pytestmark = pytest.mark.integration

DAY = dt.date(2025, 3, 5)


@pytest.fixture()
def hdfs_root(hdfs):
    from iptv import hdfs_client

    root = f"/tmp/iptv-test-producer-{uuid.uuid4().hex[:8]}"
    yield root
    hdfs_client.delete(hdfs, root, recursive=True)


def run_cli(root: str, *args: str):
    env = {
        **os.environ,
        "IPTV__HDFS__PATHS__VIEWING_EVENTS": f"{root}/raw/viewing_events",
        "IPTV__HDFS__PATHS__CATALOGS": f"{root}/catalogs",
    }
    return subprocess.run([sys.executable, "-m", "producer", *args, "--no-progress"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_backfill_writes_headerless_csv_partitioned_by_date(hdfs, hdfs_root, tmp_path):
    from iptv import hdfs_client

    users, seed, days = 150, 4, 2
    first = DAY - dt.timedelta(days=days)
    truth = tmp_path / "truth.csv"
    res = run_cli(hdfs_root, "backfill", "--to", "hdfs", "--users", str(users), "--seed", str(seed),
                  "--days", str(days), "--date", DAY.isoformat(), "--truth", str(truth))  # fmt: skip
    assert res.returncode == 0, res.stderr
    raw = f"{hdfs_root}/raw/viewing_events"
    parts = sorted(hdfs_client.list_dir(hdfs, raw))
    assert parts[:2] == [f"dt={first}", f"dt={first + dt.timedelta(days=1)}"]
    lines = []
    for part in parts:
        day = part.removeprefix("dt=")
        for name in hdfs_client.list_dir(hdfs, f"{raw}/{part}"):
            rows = from_csv(hdfs_client.read_text(hdfs, f"{raw}/{part}/{name}"))
            assert all(r[3].startswith(day) for r in rows)  # a line lies in the partition of its time
            lines += rows
    assert lines[0][4] in ("enabled", "disabled") and not lines[0][0].startswith("session")  # headerless
    # two lines per session of the truth file, in the CSV wire format
    assert Counter(",".join(r) for r in lines) == producer_stream.stream(truth, fmt="csv")
    assert producer_stream.truth_sessions(truth) > 0
    # a rerun overwrites the same files (idempotent)
    assert run_cli(hdfs_root, "backfill", "--to", "hdfs", "--users", str(users), "--seed", str(seed),
                   "--days", str(days), "--date", DAY.isoformat()).returncode == 0  # fmt: skip
    assert all(len(hdfs_client.list_dir(hdfs, f"{raw}/{p}")) == 1 for p in parts)
    # ... and the programme guide of its days
    epg = f"{hdfs_root}/catalogs/epg"
    assert sorted(hdfs_client.list_dir(hdfs, epg)) == [f"dt={first}", f"dt={first + dt.timedelta(days=1)}"]


def test_backfill_with_faults_writes_what_the_manifest_says(hdfs, hdfs_root, tmp_path):
    """--faults on HDFS: the CSV kinds (no invalid_json: a CSV line has no JSON to break), every line of the
    partitions is a truth event or a manifest message."""
    from iptv import hdfs_client

    users, seed, days, rate = 150, 5, 2, 0.1
    manifest, truth = tmp_path / "faults.jsonl", tmp_path / "truth.csv"
    res = run_cli(hdfs_root, "backfill", "--to", "hdfs", "--users", str(users), "--seed", str(seed), "--days",
                  str(days), "--date", DAY.isoformat(), "--faults", str(rate), "--manifest", str(manifest),
                  "--truth", str(truth))  # fmt: skip
    assert res.returncode == 0, res.stderr
    entries = faults.read_manifest(manifest)
    assert {e["kind"] for e in entries} == set(producer_stream.ADDS) - {"invalid_json"}
    raw = f"{hdfs_root}/raw/viewing_events"
    lines: Counter = Counter()
    for part in hdfs_client.list_dir(hdfs, raw):
        for name in hdfs_client.list_dir(hdfs, f"{raw}/{part}"):
            lines.update(hdfs_client.read_text(hdfs, f"{raw}/{part}/{name}").splitlines())
    expected = producer_stream.stream(truth, entries, fmt="csv")
    missing, extra = list((expected - lines).items())[:3], list((lines - expected).items())[:3]
    assert lines == expected, f"missing {missing}, extra {extra}"


def test_epg_to_hdfs_one_headerless_file_per_day(hdfs, hdfs_root):
    from iptv import hdfs_client

    res = run_cli(hdfs_root, "epg", "--to", "hdfs", "--date", DAY.isoformat(), "--days", "2", "--seed", "3")
    assert res.returncode == 0, res.stderr
    assert "programmes of 148 channels" in res.stdout
    epg = f"{hdfs_root}/catalogs/epg"
    for day in (DAY, DAY + dt.timedelta(days=1)):
        assert hdfs_client.list_dir(hdfs, f"{epg}/dt={day}") == [f"epg-{day}.csv"]
        rows = from_csv(hdfs_client.read_text(hdfs, f"{epg}/dt={day}/epg-{day}.csv"))
        assert rows == [[str(v) for v in r] for r in guide.day_guide(3, day).rows()]
        assert all(r[6].startswith(day.isoformat()) for r in rows)


def test_catalogs_to_hdfs(hdfs, hdfs_root, tmp_path):
    from iptv import hdfs_client

    res = run_cli(hdfs_root, "catalogs", "--to", "hdfs", "--users", "50", "--seed", "1", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    channels = hdfs_client.read_text(hdfs, f"{hdfs_root}/catalogs/channels/channels.csv")
    users = hdfs_client.read_text(hdfs, f"{hdfs_root}/catalogs/users/users.csv")
    assert channels == (tmp_path / "channels.csv").read_text(encoding="utf-8")
    assert users == (tmp_path / "users.csv").read_text(encoding="utf-8")
    assert len(from_csv(channels)) == 148 and len(from_csv(users)) == 50
