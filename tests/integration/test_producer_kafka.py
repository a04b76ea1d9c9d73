"""`python -m producer` against the real Kafka: what is sent is what the model planned, valid and in order;
faults match the manifest; Ctrl-C flushes; an unreachable broker is a one-line error."""

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

from iptv.config import REPO_ROOT
from iptv.kafka_admin import admin_client
from producer import faults
from producer.events import Plan, load_schema
from producer.model import Simulator

pytestmark = pytest.mark.integration

TOPIC_ENV = "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__NAME"
DAY = dt.date(2025, 3, 5)


@pytest.fixture()
def topic(kafka):
    admin = admin_client(kafka)
    name = f"iptv.test-producer-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(timeout=30)
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
    consumer = Consumer(
        {
            "bootstrap.servers": cfg.kafka.bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    out: list[tuple[int, str, str]] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(10_000, 1.0):
                if msg.error():
                    raise KafkaException(msg.error())
                out.append((msg.partition(), msg.key().decode(), msg.value().decode()))
        quiet_until = time.monotonic() + 3
        while time.monotonic() < quiet_until:
            for msg in consumer.consume(10_000, 0.5):
                if not msg.error():
                    out.append((msg.partition(), msg.key().decode(), msg.value().decode()))
    finally:
        consumer.close()
    return out


def test_live_max_sends_exactly_the_planned_valid_events(kafka, topic, tmp_path):
    users, seed = 300, 5
    plan = Plan(Simulator(users, seed).day(DAY))
    expected = [v for _t, _k, v in plan.messages()]
    truth = tmp_path / "truth.csv"
    res = run_cli("live", "--users", str(users), "--seed", str(seed), "--date", DAY.isoformat(), "--speed", "max",
                  "--truth", str(truth), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"{len(expected):,} of {len(expected):,} events sent, {len(expected):,} delivered" in res.stdout
    got = consume(kafka, topic, len(expected))
    assert len(got) == len(expected)
    assert Counter(v for _p, _k, v in got) == Counter(expected)
    validator = jsonschema.Draft202012Validator(load_schema())
    status_seen: dict[str, list[str]] = {}
    for _p, key, value in got:  # consumed per partition: a key's events keep their send order
        event = json.loads(value)
        assert validator.is_valid(event), value
        assert key == event["session_id"]
        status_seen.setdefault(key, []).append(event["status"])
    assert all(s == ["enabled", "disabled"] for s in status_seen.values())
    assert len(truth.read_text().splitlines()) == plan.n_sessions + 1


def test_live_with_faults_sends_what_the_manifest_says(kafka, topic, tmp_path):
    users, seed, rate = 400, 8, 0.05
    manifest = tmp_path / "faults.jsonl"
    res = run_cli("live", "--users", str(users), "--seed", str(seed), "--date", DAY.isoformat(), "--speed", "max",
                  "--faults", str(rate), "--manifest", str(manifest), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    entries = faults.read_manifest(manifest)
    sessions = Simulator(users, seed).day(DAY)
    assert len(entries) == round(rate * len(sessions))
    expected_total = (
        2 * len(sessions) + sum(e["extra_messages"] for e in entries) - sum(e["removed_messages"] for e in entries)
    )
    got = consume(kafka, topic, expected_total)
    assert len(got) == expected_total
    sent = Counter(v for _p, _k, v in got)
    for e in entries:
        for raw, n in Counter(e["messages"]).items():
            assert sent[raw] >= n, (e["kind"], raw)
    # the exact duplicates are the only byte-identical repeats
    assert sum(1 for c in sent.values() if c > 1) == sum(1 for e in entries if e["kind"] == "exact_duplicate")
    bad_json = 0
    for v in sent:
        try:
            json.loads(v)
        except json.JSONDecodeError:
            bad_json += 1
    assert bad_json == sum(1 for e in entries if e["kind"] == "invalid_json")


def test_backfill_to_kafka(kafka, topic):
    users, seed, days = 100, 2, 2
    first = DAY - dt.timedelta(days=days)
    n = 2 * len(Simulator(users, seed).days(first, days))
    res = run_cli("backfill", "--users", str(users), "--seed", str(seed), "--days", str(days),
                  "--date", DAY.isoformat(), topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    got = consume(kafka, topic, n)
    assert len(got) == n
    timers = sorted(json.loads(v)["timer"] for _p, _k, v in got)
    assert timers[0] >= f"{first} 00:00:00" and timers[-1] < f"{DAY + dt.timedelta(days=1)} 00:00:00"


def test_kafka_python_client_works_too(kafka, topic):
    plan = Plan(Simulator(100, 1).day(DAY))
    res = run_cli("live", "--users", "100", "--seed", "1", "--date", DAY.isoformat(), "--speed", "max",
                  "--client", "kafka-python", topic=topic)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert len(consume(kafka, topic, len(plan))) == len(plan)


def test_paced_live_takes_simulated_time_over_speed(kafka, topic):
    # a whole day at x43200 takes ~2 s (plus the disabled events after midnight)
    t0 = time.monotonic()
    res = run_cli("live", "--users", "50", "--date", DAY.isoformat(), "--speed", "43200", topic=topic)
    elapsed = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    assert 1.8 < elapsed < 30
    assert "speed x43200" in res.stdout


def test_ctrl_c_flushes_and_prints_totals(kafka, topic):
    env = {**os.environ, TOPIC_ENV: topic}
    proc = subprocess.Popen(
        [sys.executable, "-m", "producer", "live", "--users", "2000", "--date", DAY.isoformat(), "--speed", "1200",
         "--no-progress"],
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
    assert len(consume(kafka, topic, delivered)) == delivered


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_unreachable_kafka_is_a_one_line_error_within_10_s(client):
    port = _closed_port()
    t0 = time.monotonic()
    res = run_cli("live", "--users", "10", "--speed", "max", "--client", client,
                  env={"IPTV__KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}, timeout=30)  # fmt: skip
    elapsed = time.monotonic() - t0
    assert res.returncode == 1
    assert elapsed < 10
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Kafka at 127.0.0.1:") and "unreachable" in lines[0]
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
