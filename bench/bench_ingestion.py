#!/usr/bin/env python
"""Benchmark: events/s from Kafka into HDFS through the NiFi ingestion flow, against Kafka's own consumer
(org.apache.kafka.tools.ConsumerPerformance, i.e. kafka-consumer-perf-test) reading the same topic. Goal: >= 0.5.

    .venv/bin/python bench/bench_ingestion.py [--users 20000]

Fills a fresh 3-partition topic with one simulated day (no faults), runs ConsumerPerformance on it (rate without
JVM start-up, as the tool reports it), then deploys a bench instance of the flow (iptv.nifi.deploy, own
topic/group/HDFS base) stopped, waits until its processors are valid, starts it and times until every event is
in HDFS viewing_events (bytes landed = bytes of the distinct events) and the sessions have landed. Prints both rates and
their ratio; writes bench/results/bench_ingestion.json. Needs Kafka, HDFS and NiFi up (`make up`).

It also measures the flow's first stage alone, the ceiling of any pairer: a second instance with only
ConsumeViewingEvents running, timed until its consumer group has committed the whole topic (a batch's offsets are
committed once the batch is in NiFi's repositories). `--no-stage` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from iptv import hdfs_client
from iptv.config import Config, load_config
from iptv.datasets import VIEWING_EVENTS
from iptv.kafka_admin import admin_client, ensure_acls
from iptv.kafka_security import client_settings
from iptv.nifi import deploy as deploy_flows
from iptv.nifi.flows import parameters_from_config
from local_stack.kafka import client_config_file, kafka_tool_cmd

REPO = Path(__file__).resolve().parent.parent

RESULTS = REPO / "bench" / "results" / "bench_ingestion.json"


def create_topic(cfg: Config, name: str) -> None:
    from confluent_kafka.admin import NewTopic

    admin = admin_client(cfg)  # keep a reference until the future resolves
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(timeout=30)
    ensure_acls(cfg, topics=[name])  # the producer's principal writes it, NiFi's reads it
    time.sleep(2)


def fill(cfg: Config, topic: str, users: int, truth: Path) -> None:
    env = {**os.environ, "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__NAME": topic}
    cmd = [sys.executable, "-m", "producer", "live", "--users", str(users), "--speed", "max", "--no-progress"]
    res = subprocess.run(cmd + ["--truth", str(truth)], cwd=REPO, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"producer failed: {res.stderr[-500:]}")


def raw_expectation(cfg: Config, topic: str) -> tuple[int, int]:
    """(messages, bytes of their raw CSV lines) read back with confluent-kafka."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            **client_settings(cfg, "admin"),
            "group.id": f"bench-reader-{uuid.uuid4().hex[:6]}",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(3)])
    n = size = 0
    columns = VIEWING_EVENTS.column_names
    eof: set[int] = set()
    while len(eof) < 3:
        for m in c.consume(10000, timeout=1.0):
            if m.error():
                eof.add(m.partition())
                continue
            e = json.loads(m.value())
            n += 1
            size += len(",".join(str(e[k]) for k in columns) + "\n")
    c.close()
    return n, size


def consumer_perf(cfg: Config, topic: str, messages: int) -> float:
    cmd = kafka_tool_cmd(
        cfg,
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server",
        cfg.kafka.bootstrap_servers,
        "--consumer.config",
        str(client_config_file(cfg, "admin")),
        "--topic",
        topic,
        "--messages",
        str(messages),
        "--group",
        f"bench-perf-{uuid.uuid4().hex[:6]}",
        "--timeout",
        "60000",
        "--hide-header",
        heap="512m",
    )
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
    # fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
    for line in res.stdout.splitlines()[::-1]:
        cols = [c.strip() for c in line.split(",")]
        if len(cols) >= 10 and re.fullmatch(r"[\d.]+", cols[9] or "x"):
            return float(cols[9])  # fetch.nMsg.sec: without the group join/rebalance time
    raise SystemExit(f"ConsumerPerformance failed: {res.stdout[-500:]} {res.stderr[-500:]}")


def landed_bytes(cfg: Config, path: str) -> int:
    fs = hdfs_client.client(cfg)
    if fs.status(path, strict=False) is None:
        return 0
    return int(fs.content(path)["length"])


def deploy_stopped(cfg: Config, topic: str, instance: str, base: str, extra: dict[str, str] | None) -> tuple[str, dict]:
    """Deploy a bench instance of the flow (own topic, consumer group and HDFS base), valid but stopped:
    (process group id, its parameters)."""
    overrides = {
        "kafka.topic": topic,
        "hdfs.viewing.events.path": f"{base}/viewing_events",
        "hdfs.sessions.path": f"{base}/sessions",
        "hdfs.quarantine.path": f"{base}/quarantine",
        "hdfs.ingest.batches.path": f"{base}/ingest_batches",
        "batch.max.wait": "1 sec",
        "tick.interval": "10 sec",
        **(extra or {}),
    }
    report = deploy_flows.deploy(cfg, instance, overrides, start=False)
    if report["problems"]:
        raise SystemExit(f"flow invalid: {report['problems']}")
    return report["pg_id"], parameters_from_config(cfg, instance, overrides)


def time_until(start: Callable[[], None], read: Callable[[], int], target: int, timeout: float, every: float) -> dict:
    """Call ``start()``, then poll ``read()`` until it reaches ``target`` (or ``timeout``): seconds from the start,
    the last value read, and the steady part, from the first non-zero reading to the end (start-up, consumer group
    join and the first batch's latency left out, as ConsumerPerformance's fetch rate leaves out its own start-up
    and group join): its seconds and the share of the final value reached in it."""
    t0 = time.monotonic()
    start()
    first: tuple[float, int] | None = None  # (when, value) of the first non-zero reading
    value = 0
    while time.monotonic() - t0 < timeout:
        value = read()
        if value and first is None:
            first = (time.monotonic(), value)
        if value >= target:
            break
        time.sleep(every)
    end = time.monotonic()
    return {
        "seconds": end - t0,
        "value": value,
        "steady_seconds": (end - first[0]) if first else None,
        "steady_share": (1 - first[1] / value) if first and value else None,
    }


def run_flow(
    cfg: Config, topic: str, expected_bytes: int, tag: str, timeout: float, extra: dict[str, str] | None = None
) -> tuple[float, dict]:
    import nipyapi

    base = f"/tmp/iptv-bench-ingest-{tag}"
    instance = f"bench-{tag}"
    pg_id, _params = deploy_stopped(cfg, topic, instance, base, extra)
    try:
        timing = time_until(
            lambda: nipyapi.canvas.schedule_process_group(pg_id, True),
            lambda: landed_bytes(cfg, f"{base}/viewing_events"),
            expected_bytes,
            timeout,
            every=0.2,
        )
        info = {
            "raw_bytes": timing["value"],
            "sessions_bytes": landed_bytes(cfg, f"{base}/sessions"),
            "steady_seconds": timing["steady_seconds"],
            "steady_share": timing["steady_share"],
        }
        return timing["seconds"], info
    finally:
        deploy_flows.remove(cfg, instance)
        hdfs_client.delete(cfg, base, recursive=True)


def run_consumer_stage(
    cfg: Config, topic: str, messages: int, tag: str, timeout: float, extra: dict[str, str] | None = None
) -> dict:
    """Only the flow's consumer running: seconds from its start until the group committed all messages, the rate
    from start, and the steady rate from its first commit to its last (group join and the first batch left out)."""
    import nipyapi
    from confluent_kafka import Consumer, TopicPartition

    instance = f"bench-{tag}-stage"
    base = f"/tmp/iptv-bench-ingest-{tag}-stage"
    pg_id, params = deploy_stopped(cfg, topic, instance, base, extra)
    # reads the group's committed offsets only (never joins the group, so it does not disturb the flow's consumer)
    offsets = Consumer({**client_settings(cfg, "admin"), "group.id": params["kafka.group.id"]})
    partitions = [TopicPartition(topic, p) for p in range(3)]
    try:
        consumer = next(p for p in deploy_flows.processors(pg_id) if p.component.type == "ConsumeViewingEvents")
        timing = time_until(
            lambda: nipyapi.canvas.schedule_processor(consumer, True),
            lambda: sum(max(tp.offset, 0) for tp in offsets.committed(partitions, timeout=10)),
            messages,
            timeout,
            every=0.1,
        )
        done, seconds = timing["value"], timing["seconds"]
        steady = None
        if timing["steady_seconds"] and timing["steady_share"]:
            steady = done * timing["steady_share"] / timing["steady_seconds"]
        return {"seconds": seconds, "committed": done, "events_s": done / seconds, "steady_events_s": steady}
    finally:
        offsets.close()
        deploy_flows.remove(cfg, instance)
        hdfs_client.delete(cfg, base, recursive=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="flow parameter override")
    ap.add_argument("--no-stage", action="store_true", help="skip the consumer-stage measurement")
    args = ap.parse_args()
    cfg = load_config()
    tag = uuid.uuid4().hex[:8]
    topic = f"iptv-bench-ingest-{tag}"
    create_topic(cfg, topic)
    try:
        truth = Path(f"/tmp/bench-ingest-truth-{tag}.csv")
        fill(cfg, topic, args.users, truth)
        messages, raw_bytes = raw_expectation(cfg, topic)
        print(f"topic {topic}: {messages:,} events ({raw_bytes / 1e6:.1f} MB as raw CSV)", flush=True)
        perf = consumer_perf(cfg, topic, messages)
        print(f"ConsumerPerformance: {perf:,.0f} msg/s", flush=True)
        extra = dict(p.split("=", 1) for p in args.param)
        elapsed, info = run_flow(cfg, topic, raw_bytes, tag, args.timeout, extra)
        flow = messages / elapsed
        done = info["raw_bytes"] >= raw_bytes
        steady = None
        if info["steady_seconds"] and info["steady_share"]:
            steady = messages * info["steady_share"] / info["steady_seconds"]
        incomplete = "" if done else ", INCOMPLETE"
        print(
            f"NiFi flow Kafka -> HDFS: {flow:,.0f} events/s from start ({elapsed:.1f} s{incomplete}), "
            f"{steady or 0:,.0f} events/s steady (first to last landing)"
        )
        ratio = flow / perf
        steady_ratio = (steady / perf) if steady else 0.0
        print(f"ratio flow / ConsumerPerformance: {steady_ratio:.3f} steady, {ratio:.3f} from start (goal >= 0.5)")
        stage = None if args.no_stage else run_consumer_stage(cfg, topic, messages, tag, args.timeout, extra)
        if stage is not None:
            stage_rate = stage["events_s"]
            incomplete = "" if stage["committed"] >= messages else ", INCOMPLETE"
            print(
                f"consumer stage alone (Kafka -> NiFi queue, the ceiling of any pairer): {stage_rate:,.0f} events/s "
                f"from start ({stage['seconds']:.1f} s{incomplete}), {stage['steady_events_s'] or 0:,.0f} steady; "
                f"ratio {(stage['steady_events_s'] or 0) / perf:.3f} steady, {stage_rate / perf:.3f} from start"
            )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps(
                {
                    "users": args.users,
                    "events": messages,
                    "consumer_perf_msg_s": round(perf),
                    "flow_events_s": round(flow),
                    "flow_seconds": round(elapsed, 1),
                    "flow_steady_events_s": round(steady or 0),
                    "steady_ratio": round(steady_ratio, 4),
                    "complete": done,
                    "ratio": round(ratio, 4),
                    "params": extra,
                    "consumer_stage": stage
                    and {
                        "events_s": round(stage["events_s"]),
                        "seconds": round(stage["seconds"], 1),
                        "steady_events_s": round(stage["steady_events_s"] or 0),
                        "steady_ratio": round((stage["steady_events_s"] or 0) / perf, 4),
                    },
                    "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                },
                indent=2,
            )
            + "\n"
        )
        truth.unlink(missing_ok=True)
    finally:
        try:
            admin = admin_client(cfg)
            admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=60)
        except Exception as exc:
            print(f"could not delete topic {topic}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
