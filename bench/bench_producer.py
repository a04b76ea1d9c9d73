"""Benchmark: `python -m producer live --speed max` against Kafka's own producer (ProducerPerformance).

Same broker, same record count, similar record size, acks=all and idempotence on both sides, the same
batching (linger.ms, batch.size). Runs alternate (producer with confluent-kafka, producer with kafka-python,
Java) for a few rounds on a fresh 3-partition topic; the producer's figure is the rate its own summary
reports (send + flush, without interpreter start-up and simulation), the Java figure is the tool's
records/sec (without JVM start-up). Prints medians and the ratio; goal >= 0.5.

    .venv/bin/python bench/bench_producer.py [--rounds 3] [--users 10000]

Needs a running Kafka (`.venv/bin/python scripts/stack.py up kafka`). Results also go to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid

from confluent_kafka.admin import NewTopic

from iptv.config import REPO_ROOT, Config, load_config
from iptv.kafka_admin import admin_client, ensure_acls
from local_stack.kafka import client_config_file, kafka_tool_cmd
from producer.events import Plan
from producer.model import Simulator

DAY = dt.date(2025, 3, 5)
LINGER_MS = 20
BATCH_SIZE = 1_000_000


def run_producer(client: str, topic: str, users: int) -> tuple[float, float, int]:
    env = {**os.environ, "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__NAME": topic}
    cmd = [sys.executable, "-m", "producer", "live", "--users", str(users), "--speed", "max",
           "--date", DAY.isoformat(), "--client", client, "--no-progress"]  # fmt: skip
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(f"producer ({client}) failed: {res.stderr.strip()}")
    m = re.search(r"([\d,]+) delivered.* ([\d,]+) events/s", res.stdout)
    if not m:
        raise SystemExit(f"cannot read the producer's summary: {res.stdout!r}")
    return float(m.group(2).replace(",", "")), wall, int(m.group(1).replace(",", ""))


def run_java(cfg: Config, topic: str, records: int, record_size: int) -> tuple[float, float]:
    props = [
        "acks=all",
        "enable.idempotence=true",
        f"linger.ms={LINGER_MS}",
        f"batch.size={BATCH_SIZE}",
    ]
    cmd = kafka_tool_cmd(
        cfg,
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic,
        "--num-records", str(records),
        "--record-size", str(record_size),
        "--throughput", "-1",
        "--producer.config", str(client_config_file(cfg, "producer")),
        "--producer-props", *props,
        heap="512m",
    )  # fmt: skip
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    wall = time.monotonic() - t0
    # final line: "74408 records sent, 61184.2 records/sec (6.89 MB/sec), ..."
    m = None
    for line in res.stdout.splitlines():
        m = re.search(rf"^{records} records sent, ([\d.]+) records/sec", line) or m
    if res.returncode != 0 or not m:
        raise SystemExit(f"ProducerPerformance failed: {res.stderr.strip()[-500:]}")
    return float(m.group(1)), wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--clients", default="confluent,kafka-python")
    args = ap.parse_args()
    clients = args.clients.split(",")

    cfg = load_config()
    plan = Plan(Simulator(args.users, 0).day(DAY))
    values = [v for _t, _k, v in plan.messages()]
    records = len(values)
    record_size = round(sum(len(v.encode()) for v in values) / records)
    admin = admin_client(cfg)
    topic = f"iptv.bench-producer-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout=30)
    ensure_acls(cfg, topics=[topic])  # the producer's principal writes it
    time.sleep(2)
    print(f"{records:,} records of ~{record_size} bytes (key 32 bytes) per run, topic {topic}, {args.rounds} rounds")
    rates: dict[str, list[float]] = {c: [] for c in [*clients, "java"]}
    walls: dict[str, list[float]] = {c: [] for c in [*clients, "java"]}
    try:
        for r in range(1, args.rounds + 1):
            for client in clients:
                rate, wall, delivered = run_producer(client, topic, args.users)
                assert delivered == records, (delivered, records)
                rates[client].append(rate)
                walls[client].append(wall)
                print(f"round {r}: producer/{client:<12} {rate:>10,.0f} ev/s  (process {wall:.1f} s)", flush=True)
            rate, wall = run_java(cfg, topic, records, record_size)
            rates["java"].append(rate)
            walls["java"].append(wall)
            print(f"round {r}: ProducerPerformance     {rate:>10,.0f} rec/s (process {wall:.1f} s)", flush=True)
    finally:
        admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=60)

    java = statistics.median(rates["java"])
    summary = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "records": records,
        "record_size": record_size,
        "rounds": args.rounds,
        "java_records_per_s": java,
        "clients": {},
    }
    print(f"\nmedian ProducerPerformance: {java:,.0f} records/s")
    for client in clients:
        med = statistics.median(rates[client])
        summary["clients"][client] = {"events_per_s": med, "ratio": med / java, "rates": rates[client]}
        verdict = "meets" if med / java >= 0.5 else "misses"
        print(f"median producer/{client}: {med:,.0f} events/s -> ratio {med / java:.2f} ({verdict} the 0.5 goal)")
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_producer.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
