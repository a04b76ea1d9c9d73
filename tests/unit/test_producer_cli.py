"""The CLI without services: usage errors, help, catalogs to a local directory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iptv.config import REPO_ROOT
from producer.catalogs import read_csv
from producer.cli import build_parser, main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["live", "--speed", "0"],
        ["live", "--speed", "fast"],
        ["live", "--speed", "max", "--from-now"],
        ["live", "--start", "25:00"],
        ["live", "--start", "evening"],
        ["live", "--start", "20:00", "--from-now"],
        ["live", "--faults", "1.5"],
        ["backfill", "--days", "0"],
        ["backfill", "--to", "s3"],
        ["live", "--date", "2025-13-01"],
        ["epg", "--days", "0"],
        ["epg", "--to", "hdfs", "--out", "guide"],
        ["epg", "--to", "kafka"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_start_is_a_time_of_day_in_seconds():
    assert build_parser().parse_args(["live", "--start", "19:30"]).start == 19 * 3600 + 30 * 60
    assert build_parser().parse_args(["live", "--start", "00:00:05"]).start == 5
    assert build_parser().parse_args(["live"]).start is None


def test_help_lists_the_commands():
    res = subprocess.run([sys.executable, "-m", "producer", "--help"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0
    for cmd in ("live", "backfill", "catalogs", "epg", "calibrate"):
        assert cmd in res.stdout


def test_catalogs_to_a_local_directory(tmp_path, capsys):
    assert main(["catalogs", "--users", "40", "--seed", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    assert len(read_csv(tmp_path / "channels.csv")) == 148
    users = read_csv(tmp_path / "users.csv")
    assert [int(r[0]) for r in users] == list(range(1, 41))
    assert "40 users" in capsys.readouterr().out
