"""Kafka -> HDFS -> Hive with the platform self-check, on the real services."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iptv.config import REPO_ROOT
from iptv.platform_check import expected_channel_sum, run_check

pytestmark = pytest.mark.integration


def test_events_make_it_through_kafka_hdfs_and_hive(kafka, hdfs, hive):
    res = run_check(kafka, sessions=7)
    assert (res.sent, res.consumed, res.hive_count) == (14, 14, 14)
    assert res.hive_channel_sum == expected_channel_sum(7) == 2 * sum(range(1, 8))


def test_cli_reports_success_in_one_line(kafka, hdfs, hive):
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "platform_check.py"), "--sessions", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("platform check OK: 4 events sent to Kafka, 4 consumed")
