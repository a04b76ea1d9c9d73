"""`python -m producer` against the real Kafka: what is sent is exactly the events of the run's truth file (and the
messages of its fault manifest), valid and in order; paced runs send each event at its time over the speed;
Ctrl-C flushes; an unreachable broker is a one-line error. The expected messages come from the truth file and the
manifest (tests/oracle/producer_stream.py), not from the producer's own plan."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import NewTopic
from oracle import producer_stream

from iptv.config import REPO_ROOT
from iptv.kafka_admin import admin_client, ensure_acls
from iptv.kafka_security import client_settings
from producer import faults
from producer.events import load_schema

pytestmark = pytest.mark.integration

TOPIC_ENV = "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__NAME"
DAY = dt.date(2025, 3, 5)


@pytest.fixture()
def topic(kafka):
    admin = admin_client(kafka)
    name = f"iptv.test-producer-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(timeout=30)
    ensure_acls(kafka, topics=[name])  # the producer's principal writes it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if t is not None and t.error is None and t.partitions and all(p.leader >= 0 for p in t.partitions.values()):
            break
        time.sleep(0.2)
    yield name
    admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)


def run_cli(*args: str, topic: str | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    full_env = {**os.environ, **(env or {})}
    if topic:
        full_env[TOPIC_ENV] = topic
    return subprocess.run(
        [sys.executable, "-m", "producer", *args, "--no-progress"],
        cwd=REPO_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def consume(cfg, topic: str, expected: int, timeout: float = 60) -> list[tuple[int, str, str]]:
    """All messages of the topic: (partition, key, value); waits for ``expected`` then 3 s more for extras."""
    return [(p, k, v) for p, k, v, _ts in consume_timed(cfg, topic, expected, timeout)]


def consume_timed(cfg, topic: str, expected: int, timeout: float = 60) -> list[tuple[int, str, str, int]]:
    """As :func:`consume`, each message with its create time (ms since the epoch, set when it was produced)."""
    consumer = Consumer(
        {
            **client_settings(cfg, "admin"),
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    out: list[tuple[int, str, str, int]] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 1.0):
                if msg.error():
                    raise KafkaException(msg.error())
                out.append((msg.partition(), msg.key().decode(), msg.value().decode(), msg.timestamp()[1]))
        quiet_until = time.monotonic() + 3
        while time.monotonic() < quiet_until:
            for msg in consumer.consume(10_000, 0.5):
                if not msg.error():
                    out.append((msg.partition(), msg.key().decode(), msg.value().decode(), msg.timestamp()[1]))
    finally:
        consumer.close()
    return out


def test_live_max_sends_exactly_the_events_of_its_truth_file(kafka, topic, tmp_path):
    users, seed = 300, 5
    truth = tmp_path / "truth.csv"
    res = run_cli("live", "--users", str(users), "--seed", str(seed), "--date", DAY.isoformat(), "--speed", "max",
                  "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    expected = producer_stream.stream(truth)  # two events per session of the truth file, in the wire format
    n = sum(expected.values())
    assert n == 2 * producer_stream.truth_sessions(truth) > 0
    assert f"{n:,} of {n:,} events sent, {n:,} delivered" in res.stdout
    got = consume(kafka, topic, n)
    assert Counter(v for _p, _k, v in got) == expected
    validator = jsonschema.Draft202012Validator(load_schema())
    status_seen: dict[str, list[str]] = {}
    for _p, key, value in got:  # consumed per partition: a key's events keep their send order
        event = json.loads(value)
        assert validator.is_valid(event), value
        assert key == event["session_id"]
        assert 1 <= event["user_id"] <= users and 1 <= event["channel_id"] <= 148, value
        status_seen.setdefault(key, []).append(event["status"])
    assert all(s == ["enabled", "disabled"] for s in status_seen.values())
    starts = [json.loads(v)["timer"] for _p, _k, v in got if json.loads(v)["status"] == "enabled"]
    assert all(t.startswith(DAY.isoformat()) for t in starts)  # the sessions of the day asked for


def test_live_with_faults_sends_what_the_manifest_says(kafka, topic, tmp_path):
    users, seed, rate = 400, 8, 0.05
    manifest, truth = tmp_path / "faults.jsonl", tmp_path / "truth.csv"
    res = run_cli("live", "--users", str(users), "--seed", str(seed), "--date", DAY.isoformat(), "--speed", "max",
                  "--faults", str(rate), "--manifest", str(manifest), "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    entries = faults.read_manifest(manifest)
    # the simulated sessions: those of the truth file and those a fault kept from forming
    sessions = producer_stream.truth_sessions(truth) + sum(e["kind"] in producer_stream.LOST_KINDS for e in entries)
    assert len(entries) == round(rate * sessions)
    assert {e["kind"] for e in entries} == set(producer_stream.ADDS)  # every kind occurs at this rate
    expected = producer_stream.stream(truth, entries)
    got = consume(kafka, topic, sum(expected.values()))
    sent = Counter(v for _p, _k, v in got)
    assert sent == expected, (
        f"missing {list((expected - sent).items())[:3]}, extra {list((sent - expected).items())[:3]}"
    )
    # the exact duplicates are the only byte-identical repeats
    assert sum(1 for c in sent.values() if c > 1) == sum(1 for e in entries if e["kind"] == "exact_duplicate")
    bad_json = 0
    for v in sent:
        try:
            json.loads(v)
        except json.JSONDecodeError:
            bad_json += 1
    assert bad_json == sum(1 for e in entries if e["kind"] == "invalid_json")


def test_backfill_to_kafka(kafka, topic, tmp_path):
    users, seed, days = 100, 2, 2
    first = DAY - dt.timedelta(days=days)
    truth = tmp_path / "truth.csv"
    res = run_cli("backfill", "--users", str(users), "--seed", str(seed), "--days", str(days),
                  "--date", DAY.isoformat(), "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    expected = producer_stream.stream(truth)
    got = consume(kafka, topic, sum(expected.values()))
    assert Counter(v for _p, _k, v in got) == expected
    starts = sorted(json.loads(v)["timer"] for _p, _k, v in got if json.loads(v)["status"] == "enabled")
    assert starts[0] >= f"{first} 00:00:00" and starts[-1] < f"{DAY} 00:00:00"  # the --days days before --date
    assert {s[:10] for s in starts} == {str(first), str(first + dt.timedelta(days=1))}


def test_kafka_python_client_works_too(kafka, topic, tmp_path):
    truth = tmp_path / "truth.csv"
    res = run_cli("live", "--users", "100", "--seed", "1", "--date", DAY.isoformat(), "--speed", "max",
                  "--client", "kafka-python", "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    expected = producer_stream.stream(truth)
    got = consume(kafka, topic, sum(expected.values()))
    assert Counter(v for _p, _k, v in got) == expected


def test_paced_live_sends_each_event_at_its_time_over_speed(kafka, topic, tmp_path):
    """--speed X: an event whose timer lies s simulated seconds after another's is sent at least s / X real
    seconds after it (a whole day at x43200 spreads over about 2 s; unpaced, it would go out within a fraction of
    a second). Checked on the messages' create times, not on how long the run took."""
    speed = 43200
    truth = tmp_path / "truth.csv"
    res = run_cli("live", "--users", "50", "--seed", "6", "--date", DAY.isoformat(), "--speed", str(speed),
                  "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"speed x{speed}" in res.stdout
    expected = producer_stream.stream(truth)
    got = consume_timed(kafka, topic, sum(expected.values()))
    assert Counter(v for _p, _k, v, _ts in got) == expected
    day_start = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    sent = []  # (simulated send time, s after the day's start; create time, ms): events before the day go at once
    for _p, _k, value, created_ms in got:
        timer = dt.datetime.fromisoformat(json.loads(value)["timer"]).replace(tzinfo=dt.UTC)
        sent.append((max(0.0, (timer - day_start).total_seconds()), created_ms))
    sent.sort()
    t_first, t_last, ms_first = sent[0][0], sent[-1][0], min(ms for _t, ms in sent)
    assert (t_last - t_first) / speed > 1.5  # the check below spans more than a second and a half
    slack_ms = 100  # the first event may itself go out a little late, and create times are whole milliseconds
    early = [(t, ms) for t, ms in sent if ms - ms_first < (t - t_first) / speed * 1000 - slack_ms]
    assert not early, f"{len(early)} events sent before their time over speed, e.g. {early[:3]}"


def interrupted_live(topic: str, *extra: str) -> tuple[str, int, int]:
    """Run `live` for 2,000 subscribers at x1200, press Ctrl-C after 8 s; check it stopped as an interrupted run
    (exit 130, no traceback, part of the events sent and all of those delivered). Returns its stdout and how
    many events it sent of how many."""
    env = {**os.environ, TOPIC_ENV: topic}
    proc = subprocess.Popen(
        [sys.executable, "-m", "producer", "live", "--users", "2000", "--date", DAY.isoformat(), "--speed", "1200",
         *extra, "--no-progress"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    m = re.search(r"INTERRUPTED: live .*: ([\d,]+) of ([\d,]+) events sent, ([\d,]+) delivered", out)
    assert m, out
    sent, total, delivered = (int(g.replace(",", "")) for g in m.groups())
    assert 0 < sent < total and delivered == sent
    return out, sent, total


def test_ctrl_c_flushes_and_prints_totals(kafka, topic):
    _out, sent, _total = interrupted_live(topic)
    assert len(consume(kafka, topic, sent)) == sent


def test_ctrl_c_with_faults_writes_the_manifest_and_truth_of_what_was_sent(kafka, topic, tmp_path):
    """An interrupted run with --faults: its manifest lists only faults whose messages all went out, its truth file
    only sessions whose two events did; every message they name is in the topic, and what else is there are the
    events of sessions the interruption cut (one each, absent from the truth file)."""
    manifest, truth = tmp_path / "faults.jsonl", tmp_path / "truth.csv"
    out, delivered, total = interrupted_live(
        topic, "--faults", "0.05", "--manifest", str(manifest), "--truth", str(truth)
    )
    entries = faults.read_manifest(manifest)
    assert f"faults: {len(entries):,} injected -> {manifest}" in out
    assert 0 < len(entries) < round(0.05 * total / 2)  # some faults went out, not those of the whole day
    got = Counter(v for _p, _k, v in consume(kafka, topic, delivered))
    assert sum(got.values()) == delivered
    named = producer_stream.stream(truth, entries)
    unsent = named - got
    assert sum(unsent.values()) == 0, f"named but not sent: {list(unsent.items())[:3]}"
    in_truth = {e[0] for e in producer_stream.truth_events(truth)}
    cut = [json.loads(v) for v in (got - named).elements()]
    assert cut, "the interruption cut no session"
    assert all(e["session_id"] not in in_truth for e in cut), cut[:3]
    assert max(Counter(e["session_id"] for e in cut).values()) == 1


def test_backfill_with_faults_sends_what_the_manifest_says(kafka, topic, tmp_path):
    users, seed, days, rate = 150, 9, 2, 0.1
    manifest, truth = tmp_path / "faults.jsonl", tmp_path / "truth.csv"
    res = run_cli("backfill", "--users", str(users), "--seed", str(seed), "--days", str(days), "--date",
                  DAY.isoformat(), "--faults", str(rate), "--manifest", str(manifest), "--truth", str(truth),
                  topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    entries = faults.read_manifest(manifest)
    sessions = producer_stream.truth_sessions(truth) + sum(e["kind"] in producer_stream.LOST_KINDS for e in entries)
    assert len(entries) == round(rate * sessions)
    assert {e["kind"] for e in entries} == set(producer_stream.ADDS)
    assert f"faults: {len(entries):,} injected -> {manifest}" in res.stdout
    expected = producer_stream.stream(truth, entries)
    got = Counter(v for _p, _k, v in consume(kafka, topic, sum(expected.values())))
    missing, extra = list((expected - got).items())[:3], list((got - expected).items())[:3]
    assert got == expected, f"missing {missing}, extra {extra}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_unreachable_kafka_is_a_one_line_error_naming_the_broker(client):
    """The sinks give up after their connect timeout (producer.sinks.CONNECT_TIMEOUT_S) instead of retrying: a
    hang would run into the subprocess timeout and fail the test."""
    port = _closed_port()
    res = run_cli("live", "--users", "10", "--speed", "max", "--client", client,
                  env={"IPTV__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}, timeout=60)  # fmt: skip
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: Kafka at 127.0.0.1:{port} is unreachable ("), lines
    assert "Traceback" not in res.stderr


def test_missing_topic_is_a_one_line_error(kafka):
    res = run_cli("live", "--users", "10", "--speed", "max", topic=f"iptv.test-missing-{uuid.uuid4().hex[:8]}")
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "does not exist" in res.stderr


def test_manifest_default_location(kafka, topic, cfg):
    res = run_cli("live", "--users", "30", "--seed", "3", "--date", DAY.isoformat(), "--speed", "max",
                  "--faults", "0.2", topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    path = Path(re.search(r"-> (\S+\.jsonl)", res.stdout).group(1))
    assert path.is_relative_to(REPO_ROOT / cfg.stack.state_dir) and faults.read_manifest(path)
