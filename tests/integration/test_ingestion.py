"""End to end: the ingestion flow deployed into the real NiFi (iptv.nifi.deploy, a test instance with its
own topic, consumer group and HDFS base path set through parameters), fed by the producer (2,000 subscribers'
day at --speed max with 5 % faults), landing on the real HDFS. After the flow drains:

* viewing_events holds exactly the distinct valid events of the topic, each once, in dt = date of its timer;
* sessions equal the producer's truth file, each once, in dt = date of time_start;
* quarantine holds exactly the injected faults' messages with the reason the manifest expects, each once.

Four tests crash an engine while the flow is working through the topic and expect the same totals (exactly once
across the crash), each by kill -9 of its process (by PID) and a restart: the NiFi JVM, the Kafka broker, and the
NameNode or the DataNode, each alone, kept down while the flow keeps receiving (PutHdfsPartitioned's writes fail
and are retried until it is back). They
feed the topic in two halves (copied per partition, in order, from a staging topic the producer filled): the first
half before the crash, the second after it, so the crash always lands mid-stream however fast the flow is.
The event-time timeout is 1 s and the wall-clock grace is short, so unmatched halves close within the test; the
grace is longer than a restart in the crash tests, so that pairs split by the crash still pair.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from oracle import bad_messages, producer_stream

from iptv import hdfs_client
from iptv.config import Config
from iptv.datasets import INGESTED, QUARANTINE, SESSIONS, VIEWING_EVENTS
from iptv.kafka_security import client_settings
from iptv.nifi import deploy as deploy_flows
from iptv.nifi import flows
from iptv.nifi import status as flow_status
from local_stack import control, service
from local_stack.base import pid_alive

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

USERS = 2000
FAULTS = 0.05
DRAIN_TIMEOUT = 420


# ---------------------------------------------------------------------------------------------- helpers
def create_topic(cfg: Config, name: str, config: dict[str, str] | None = None) -> None:
    from confluent_kafka.admin import NewTopic

    from iptv.kafka_admin import admin_client, ensure_acls

    admin = admin_client(cfg)
    topic = NewTopic(name, num_partitions=3, replication_factor=1, config=config or {})
    admin.create_topics([topic])[name].result(timeout=30)
    ensure_acls(cfg, topics=[name])  # the producer's principal writes it, NiFi's reads it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == 3:
            return
        time.sleep(0.5)


def delete_topic(cfg: Config, name: str) -> None:
    from iptv.kafka_admin import admin_client

    try:
        admin = admin_client(cfg)
        admin.delete_topics([name], operation_timeout=30)[name].result(timeout=60)
    except Exception:
        pass


def produce(cfg: Config, topic: str, workdir: Path) -> tuple[Path, Path]:
    manifest, truth = workdir / "faults.jsonl", workdir / "truth.csv"
    env = {**os.environ, "IPTV__KAFKA__TOPICS__VIEWING_EVENTS__NAME": topic}
    cmd = [sys.executable, "-m", "producer", "live", "--users", str(USERS), "--speed", "max", "--faults", str(FAULTS)]
    cmd += ["--manifest", str(manifest), "--truth", str(truth), "--no-progress"]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return manifest, truth


def read_topic(cfg: Config, topic: str) -> list[bytes]:
    return [value for _partition, _key, value in read_records(cfg, topic)]


def read_records(cfg: Config, topic: str) -> list[tuple[int, bytes | None, bytes]]:
    """(partition, key, value) of every message of the 3-partition topic, in offset order per partition."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            **client_settings(cfg, "admin"),
            "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(3)])
    out, eof = [], set()
    deadline = time.monotonic() + 120
    while len(eof) < 3 and time.monotonic() < deadline:
        for m in c.consume(10000, timeout=1.0):
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    eof.add(m.partition())
                continue
            out.append((m.partition(), m.key(), m.value()))
    c.close()
    assert len(eof) == 3, f"read {topic} to its end on {len(eof)} of 3 partitions only"
    out.sort(key=lambda r: r[0])  # stable: keeps the offset order within each partition
    return out


def copy_records(cfg: Config, topic: str, records: list[tuple]) -> None:
    """Produce the records ``(partition, key, value[, timestamp_ms])`` into the same partitions of topic, in order,
    and wait until all are acknowledged. Without a timestamp a record gets the time it is produced."""
    from confluent_kafka import Producer

    failed: list[str] = []
    conf = {**client_settings(cfg, "admin"), "enable.idempotence": True}
    producer = Producer({**conf, "message.max.bytes": 8 * 1024 * 1024})  # bad_messages holds one over 1 MB
    for partition, key, value, *timestamp in records:
        producer.produce(
            topic,
            value=value,
            key=key,
            partition=partition,
            timestamp=timestamp[0] if timestamp else 0,
            on_delivery=lambda e, _m: e and failed.append(str(e)),
        )
        producer.poll(0)
    assert producer.flush(60) == 0, f"{topic}: messages still unacknowledged after 60 s"
    assert not failed, failed[:3]


def manifest_entries(manifest: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]


def expected_raw(manifest: Path, truth: Path) -> Counter:
    """viewing_events as the CSV lines the flow writes: the distinct well-formed events of the stream, each once,
    worked out from the truth file and the manifest (not by the flow's own validation)."""
    events = producer_stream.distinct_valid_events(truth, manifest_entries(manifest))
    return Counter(",".join(event) for event in events)


def expected_quarantine(manifest: Path) -> Counter:
    out: Counter = Counter()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        fault = json.loads(line)
        exp = fault["expected"]
        if exp.get("outcome") != "quarantine":
            continue
        raws = [fault["quarantined"]] if fault["kind"] == "conflicting_duplicate" else fault["messages"]
        for raw in raws:
            out[(exp["reason"], raw)] += 1
    return out


def hdfs_rows(cfg: Config, base: str) -> list[tuple[str, str]]:
    """(dt, line) of every landed file under base/dt=*/ (hidden temporary files excluded)."""
    fs = hdfs_client.client(cfg)
    if fs.status(base, strict=False) is None:
        return []
    rows = []
    for d in fs.list(base):
        if not d.startswith("dt="):
            continue
        for f in fs.list(f"{base}/{d}"):
            if f.startswith((".", "_")):
                continue
            with fs.read(f"{base}/{d}/{f}") as r:
                text = r.read().decode("utf-8")
            rows += [(d[3:], line) for line in text.splitlines() if line]
    return rows


class Harness:
    def __init__(self, cfg: Config, tmp_path: Path, grace: str, batch_max_count: int = 3000) -> None:
        self.cfg = cfg
        self.tag = uuid.uuid4().hex[:8]
        self.instance = f"test-{self.tag}"
        self.topic = f"iptv-test-ingest-{self.tag}"
        self.base = f"/tmp/iptv-test-ingest-{self.tag}"
        # every dataset the flow lands, its accounting (ingest_batches) included
        self.paths = {k: f"{self.base}/{k}" for k in INGESTED}
        self.tmp = tmp_path
        self.overrides = {
            "kafka.topic": self.topic,
            "hdfs.viewing.events.path": self.paths["viewing_events"],
            "hdfs.sessions.path": self.paths["sessions"],
            "hdfs.quarantine.path": self.paths["quarantine"],
            "hdfs.ingest.batches.path": self.paths["ingest_batches"],
            "pairing.event.timeout": "1 sec",
            "pairing.grace": grace,
            "tick.interval": "5 sec",
            "batch.max.wait": "2 sec",
            "batch.max.count": str(batch_max_count),
        }

    def deploy(self) -> dict[str, Any]:
        report = deploy_flows.deploy(self.cfg, self.instance, self.overrides, valid_timeout=600)
        assert not report["problems"], report
        return report

    def status(self) -> dict[str, Any]:
        from iptv.nifi.client import login

        login(self.cfg)
        groups = flow_status.groups(self.instance)
        assert groups, f"process group of {self.instance} not found"
        return flow_status.collect(groups[0])

    def landed(self) -> dict[str, list[tuple[str, str]]]:
        return {k: hdfs_rows(self.cfg, p) for k, p in self.paths.items()}

    def wait_drained(self, want: dict[str, int], timeout: float = DRAIN_TIMEOUT) -> dict[str, list[tuple[str, str]]]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            landed = self.landed()
            counts = {k: len(v) for k, v in landed.items()}
            try:
                queued = self.status()["queued"]
            except Exception as exc:
                queued = f"unavailable ({exc.__class__.__name__})"
            last = {"landed": counts, "want": want, "queued": queued}
            if queued == 0 and all(counts[k] >= want[k] for k in want):
                time.sleep(8)  # nothing more may arrive: a second look must agree
                again = self.landed()
                if {k: len(v) for k, v in again.items()} == counts:
                    return again
            time.sleep(5)
        try:
            st = self.status()
            last["problems"] = st["problems"]
            last["bulletins"] = [b["message"] for p in st["processors"] for b in p["bulletins"]][-5:]
        except Exception as exc:
            last["status"] = repr(exc)
        pytest.fail(f"flow did not drain within {timeout:.0f} s: {last}")

    def cleanup(self) -> None:
        try:
            deploy_flows.remove(self.cfg, self.instance)
        except Exception as exc:
            print(f"clean-up of {self.instance} failed: {exc}")
        delete_topic(self.cfg, self.topic)
        try:
            hdfs_client.delete(self.cfg, self.base, recursive=True)
        except Exception:
            pass


def _dated_by(dataset) -> int:
    """The index of the column whose date is a record's dt= partition."""
    return dataset.column_names.index(dataset.partition_of)


def check_landed(landed: dict[str, list[tuple[str, str]]], manifest: Path, truth: Path) -> dict[str, int]:
    # viewing_events: exactly the distinct valid events, once each, dated by their timer
    raw = Counter(line for _dt, line in landed["viewing_events"])
    want_raw = expected_raw(manifest, truth)
    assert raw == want_raw, f"viewing_events differ: missing {len(want_raw - raw)}, extra {len(raw - want_raw)}"
    assert all(line.split(",")[_dated_by(VIEWING_EVENTS)][:10] == dt for dt, line in landed["viewing_events"])
    # sessions: the truth file exactly, dated by time_start
    with truth.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    want_sessions = Counter(",".join(r) for r in rows[1:])
    sessions = Counter(line for _dt, line in landed["sessions"])
    assert sessions == want_sessions, (
        f"sessions differ: missing {list((want_sessions - sessions).items())[:3]}, "
        f"extra {list((sessions - want_sessions).items())[:3]}"
    )
    assert all(line.split(",")[_dated_by(SESSIONS)][:10] == dt for dt, line in landed["sessions"])
    # quarantine: every injected fault's message(s), with the expected reason, once each
    limit = csv.field_size_limit(1 << 30)  # a raw message over 1 MB is kept whole
    try:
        q_rows = [(dt, next(csv.reader(io.StringIO(line)))) for dt, line in landed["quarantine"]]
    finally:
        csv.field_size_limit(limit)
    q = {c: i for i, c in enumerate(QUARANTINE.column_names)}
    assert all(len(r) == len(q) and r[_dated_by(QUARANTINE)][:10] == dt for dt, r in q_rows)
    got_q = Counter((r[q["reason"]], r[q["raw"]]) for _dt, r in q_rows)
    want_q = expected_quarantine(manifest)
    assert got_q == want_q, (
        f"quarantine differs: missing {list((want_q - got_q).items())[:3]}, extra {list((got_q - want_q).items())[:3]}"
    )
    return {"viewing_events": sum(raw.values()), "sessions": sum(sessions.values()), "quarantine": sum(got_q.values())}


def check_accounting(h: Harness, sent: int, want: dict[str, int]) -> None:
    """The ingestion's accounting (ingest_batches) adds up, also across a crash: every offset of the topic in
    exactly one landed batch, each batch's files hold what it accounts for (scripts/reconcile.py's checks of
    Kafka -> lake; the warehouse half is in test_reconcile.py)."""
    from iptv import reconcile_sources

    target = reconcile_sources.Target(
        h.topic, f"iptv-nifi-ingestion-{h.instance}", {**h.cfg.hdfs.paths.as_dict(), **h.paths}, "unused"
    )
    report = reconcile_sources.run(h.cfg, target)
    assert report.ok, [str(g) for g in report.gaps][:5]
    totals = report.totals()
    assert totals["sent"] == totals["accounted"] == sent
    assert totals["landed"] == totals["lake_events"] == want["viewing_events"]


def expected_counts(manifest: Path, truth: Path) -> dict[str, int]:
    return {
        "viewing_events": sum(expected_raw(manifest, truth).values()),
        "sessions": len(truth.read_text(encoding="utf-8").splitlines()) - 1,
        "quarantine": sum(expected_quarantine(manifest).values()),
    }


# ---------------------------------------------------------------------------------------------- tests
def test_flow_lands_raw_sessions_quarantine_exactly(kafka, hdfs, nifi, tmp_path):
    h = Harness(nifi, tmp_path, grace="45 sec")
    create_topic(nifi, h.topic)
    try:
        report = h.deploy()
        assert report["pg_id"]
        again = deploy_flows.deploy(nifi, h.instance, h.overrides)  # idempotent: nothing to change
        assert again["actions"] == [], again["actions"]
        manifest, truth = produce(nifi, h.topic, tmp_path)
        messages = read_topic(nifi, h.topic)
        # the truth file and the manifest, which the expectations below come from, describe the topic exactly
        assert Counter(m.decode() for m in messages) == producer_stream.stream(truth, manifest_entries(manifest))
        want = expected_counts(manifest, truth)
        landed = h.wait_drained(want)
        got = check_landed(landed, manifest, truth)
        status = h.status()
        assert not status["problems"], status["problems"]
        print(f"landed {got} from {len(messages)} messages")
        # the pairing state lives in its journal (State Directory/<processor id>), not in NiFi component state
        pairer = next(p for p in status["processors"] if p["type"] == "PairViewingEvents")
        state_base = flows.parameters_from_config(nifi, h.instance, {})["pairing.state.dir"]
        journal_dir = Path(state_base) / pairer["id"]
        assert sum(f.stat().st_size for f in journal_dir.glob("journal-*.log")) > 0, journal_dir
        # a journal whose pairer no longer exists (deleted in the UI) is pruned; the running pairer's is kept
        orphan = journal_dir.parent / str(uuid.uuid4())
        shutil.copytree(journal_dir, orphan, ignore=shutil.ignore_patterns("LOCK"))
        planned = deploy_flows.prune_journals(nifi, dry_run=True)
        assert f"would delete orphaned pairing journal {orphan}" in planned, planned
        assert orphan.is_dir() and not any(str(journal_dir) in a for a in planned)
        done = deploy_flows.prune_journals(nifi)
        assert f"deleted orphaned pairing journal {orphan}" in done, done
        assert not orphan.exists() and journal_dir.is_dir()
        h.cleanup()
        assert not journal_dir.exists()  # removing the flow instance removes its journal too
    finally:
        h.cleanup()


def _wait_first_landing(h: Harness, timeout: float = 300) -> None:
    """Block until the flow has landed its first complete raw file (so a crash hits it mid-stream). A file still
    under its hidden temporary name does not count: a crash before its rename leaves nothing landed."""
    fs = hdfs_client.client(h.cfg)
    events = h.paths["viewing_events"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dates = [d for d in fs.list(events) if d.startswith("dt=")] if fs.status(events, strict=False) else []
        for d in dates:
            files = fs.list(f"{events}/{d}", status=True)
            if any(not f.startswith((".", "_")) and st["length"] > 0 for f, st in files):
                return
        time.sleep(0.2)
    pytest.fail(f"nothing landed in {events} within {timeout:.0f} s")


def _exactly_once_across(crash, h: Harness, tmp_path: Path, recover=None) -> None:
    """Deploy; feed the first half of the stream; call ``crash()`` once the first files landed; feed the second
    half; then expect the exact totals, and flow_status to report the flow healthy again. With ``recover``, the
    outage lasts while the second half is fed: ``recover()`` is called after it and ends the outage."""
    stage = f"{h.topic}-stage"
    create_topic(h.cfg, stage)
    create_topic(h.cfg, h.topic)
    try:
        manifest, truth = produce(h.cfg, stage, tmp_path)
        records = read_records(h.cfg, stage)
        messages = [value for _partition, _key, value in records]
        want = expected_counts(manifest, truth)
        # each partition's first half before the crash, its second half after: per-key order is kept
        first, second = [], []
        for p in range(3):
            part = [r for r in records if r[0] == p]
            first += part[: len(part) // 2]
            second += part[len(part) // 2 :]
        h.deploy()
        copy_records(h.cfg, h.topic, first)
        _wait_first_landing(h)
        if recover is None:
            crash()
            n = len(h.landed()["viewing_events"])
        else:  # count the landed events before the outage, once the first file is complete
            deadline = time.monotonic() + 300
            while not (n := len(h.landed()["viewing_events"])) and time.monotonic() < deadline:
                time.sleep(1)
            crash()
        sent = f"{len(first)} of {len(records)} messages sent"
        print(f"crashed with {n} of {want['viewing_events']} events landed, {sent}")
        assert 0 < n < want["viewing_events"]
        copy_records(h.cfg, h.topic, second)
        if recover is not None:
            recover()
        landed = h.wait_drained(want)
        got = check_landed(landed, manifest, truth)
        print(f"landed {got} from {len(messages)} messages across the crash")
        check_accounting(h, len(messages), want)
        status = h.status()  # after a NiFi restart: its start-up ghosts' bulletins are no problem
        assert not status["problems"], status["problems"]
    finally:
        h.cleanup()
        delete_topic(h.cfg, stage)


def _kill_9(cfg: Config, name: str, label: str | None = None) -> int:
    """kill -9 of one process of service ``name`` (the one of pid-file ``label``, default the service's only
    one); returns its PID once it is gone."""
    pids = service(name, cfg).pids()
    assert (label or name) in pids, f"no live {label or name} process: {pids}"
    pid = pids[label or name]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not pid_alive(pid):  # a zombie counts as gone (and is reaped when this session started the service)
            return pid
        time.sleep(0.2)
    pytest.fail(f"{label or name} (pid {pid}) still alive 60 s after SIGKILL")


def test_flow_exactly_once_across_nifi_kill(kafka, hdfs, nifi, tmp_path):
    h = Harness(nifi, tmp_path, grace="3 mins")

    def kill_nifi() -> None:
        pid = _kill_9(nifi, "nifi")
        t0 = time.monotonic()
        control.up(nifi, ["nifi"])
        print(f"killed NiFi (pid {pid}); back in {time.monotonic() - t0:.0f} s")

    _exactly_once_across(kill_nifi, h, tmp_path)


def test_flow_exactly_once_across_kafka_kill(kafka, hdfs, nifi, tmp_path):
    """kill -9 of the Kafka broker mid-stream (an unclean shutdown: its logs are recovered at the restart): the
    consumer's fetches and offset commits fail while it is gone, and once it is back every message lands once."""
    h = Harness(nifi, tmp_path, grace="3 mins")

    def kill_kafka() -> None:
        pid = _kill_9(kafka, "kafka")
        time.sleep(5)  # the consumer sees the broker gone (fetch and commit fail) before it returns
        t0 = time.monotonic()
        control.up(kafka, ["kafka"])
        print(f"killed Kafka (pid {pid}); back in {time.monotonic() - t0:.0f} s")

    _exactly_once_across(kill_kafka, h, tmp_path)


def _hdfs_write_retries(h: Harness) -> list[str]:
    """The bulletins of PutHdfsPartitioned saying that a write failed and goes round the retry loop."""
    put = [p for p in h.status()["processors"] if p["type"] == "PutHdfsPartitioned"]
    assert put, "no PutHdfsPartitioned in the flow"
    return [b["message"] for p in put for b in p["bulletins"] if "failed, will retry" in b["message"]]


def _hdfs_outage_test(h: Harness, hdfs: Config, tmp_path: Path, daemon: str) -> None:
    """kill -9 of one HDFS daemon (``hdfs-namenode`` or ``hdfs-datanode``) once the first files landed, then the
    second half of the stream: PutHdfsPartitioned's writes fail and loop back through 'retry' (its bulletins say
    so) while the daemon is down; it is started again (alone: the other daemon lives on) and every event, session
    and quarantine record lands exactly once."""
    fs = service("hdfs", hdfs)
    killed: list[int] = []

    def kill() -> None:
        killed.append(_kill_9(hdfs, "hdfs", daemon))
        assert fs.missing_processes() == [daemon]

    def restart() -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT
        retries: list[str] = []
        while not retries and time.monotonic() < deadline:
            time.sleep(3)
            retries = _hdfs_write_retries(h)
        assert retries, f"PutHdfsPartitioned never failed a write while {daemon} was down"
        assert fs.missing_processes() == [daemon]  # the failures above happened with the daemon really down
        others = {k: v for k, v in fs.pids().items() if k != daemon}
        t0 = time.monotonic()
        control.up(hdfs, ["hdfs"])
        assert {k: v for k, v in fs.pids().items() if k != daemon} == others  # only the killed one restarted
        print(
            f"killed {daemon} (pid {killed[0]}); back in {time.monotonic() - t0:.0f} s after {len(retries)} retry "
            f"bulletins: {retries[0][:160]}"
        )

    _exactly_once_across(kill, h, tmp_path, recover=restart)


def test_flow_exactly_once_across_namenode_kill(kafka, hdfs, nifi, tmp_path):
    _hdfs_outage_test(Harness(nifi, tmp_path, grace="3 mins"), hdfs, tmp_path, "hdfs-namenode")


def test_flow_exactly_once_across_datanode_kill(kafka, hdfs, nifi, tmp_path):
    _hdfs_outage_test(Harness(nifi, tmp_path, grace="3 mins"), hdfs, tmp_path, "hdfs-datanode")


def _feed_with_stopped(h: Harness, name: str, tmp_path: Path) -> tuple[Any, Path, Path, dict[str, int]]:
    """Deploy the harness's flow, stop its processor ``name`` (FlowFiles pile up in front of it) and fill the topic
    with the producer's stream. Returns the processor (nipyapi entity), the manifest, the truth file and the
    expected totals."""
    import nipyapi

    report = h.deploy()
    procs = [p for p in nipyapi.canvas.list_all_processors(report["pg_id"]) if p.component.name == name]
    assert procs, f"no {name} in the flow"
    nipyapi.canvas.schedule_processor(procs[0], False)
    manifest, truth = produce(h.cfg, h.topic, tmp_path)
    return procs[0], manifest, truth, expected_counts(manifest, truth)


#: The flow definition's connections from ConsumeViewingEvents to PairViewingEvents ("batches") and from
#: PairViewingEvents to PutHdfsPartitioned ("sections").
BATCHES_CONNECTION = "f03d4f25-b32e-5445-9605-03ca17a365fc"
SECTIONS_CONNECTION = "7c8f6233-bce7-5a43-9f00-874a319cb432"


def _flow_copy(tmp_path: Path, name: str, change) -> Path:
    """The ingestion flow definition with ``change(flowContents)`` applied, written to tmp_path/name."""
    snap = flows.load_snapshot(flows.FLOW_FILE)
    change(snap["flowContents"])
    path = tmp_path / name
    path.write_text(json.dumps(snap), encoding="utf-8")
    return path


def _deploy_copies(monkeypatch) -> None:
    """Deployments stamp a flow definition with its content's hash (the file of a copy is not in git)."""
    monkeypatch.setattr(deploy_flows, "version_stamp", lambda spec=None: f"test sha:{flows.content_hash(spec)}")


def _use_flow(monkeypatch, path: Path) -> flows.FlowSpec:
    """Deploy the ingestion flow from ``path`` (a copy of its definition) from now on in this test."""
    spec = dataclasses.replace(flows.FLOWS["ingestion"], file=path)
    monkeypatch.setitem(flows.FLOWS, "ingestion", spec)
    return spec


def test_offset_commit_failing_while_kafka_is_down_loses_nothing(kafka, hdfs, nifi, tmp_path, monkeypatch):
    """ConsumeViewingEvents commits a batch's offsets on its next run. Batches of 500 messages fill the queue in
    front of a stopped PairViewingEvents up to its back-pressure (10 FlowFiles in this copy of the flow), so the
    consumer stops being run with the offsets of its last batch uncommitted; Kafka is stopped and the pairer
    started: the consumer's next run fails to commit (its bulletin says so) and keeps the offsets. Kafka started
    again, every event, session and quarantine record lands exactly once and the flow is healthy."""
    import nipyapi

    def small_batches_queue(fc: dict[str, Any]) -> None:
        batches = next(c for c in fc["connections"] if c["identifier"] == BATCHES_CONNECTION)
        batches["backPressureObjectThreshold"] = 10

    _deploy_copies(monkeypatch)
    _use_flow(monkeypatch, _flow_copy(tmp_path, "small-queue.json", small_batches_queue))
    h = Harness(nifi, tmp_path, grace="3 mins", batch_max_count=500)
    broker = service("kafka", kafka)
    create_topic(nifi, h.topic)
    try:
        pair, manifest, truth, want = _feed_with_stopped(h, "PairViewingEvents", tmp_path)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        batches: dict[str, Any] = {}
        while time.monotonic() < deadline:
            batches = next(c for c in h.status()["connections"] if c["name"] == "batches")
            if batches["back_pressure_pct"] >= 100:
                break
            time.sleep(2)
        assert batches["back_pressure_pct"] >= 100, batches
        broker.stop()
        assert not broker.running()
        nipyapi.canvas.schedule_processor(pair, True)
        failed: list[str] = []
        while not failed and time.monotonic() < deadline:
            time.sleep(2)
            consume = [p for p in h.status()["processors"] if p["type"] == "ConsumeViewingEvents"]
            failed = [b["message"] for p in consume for b in p["bulletins"] if "offset commit failed" in b["message"]]
        assert failed, "ConsumeViewingEvents never failed an offset commit while Kafka was down"
        assert not broker.ready()
        control.up(kafka, ["kafka"])
        print(f"commit failed while Kafka was down: {failed[0][:200]}")
        landed = h.wait_drained(want)
        got = check_landed(landed, manifest, truth)
        print(f"landed {got} across the failed commit")
        status = h.status()
        assert not status["problems"], status["problems"]
    finally:
        h.cleanup()


def test_upgrade_keeps_queued_flowfiles(kafka, hdfs, nifi, tmp_path, monkeypatch):
    """An upgrade (new version stamp -> replace request) while FlowFiles wait in the flow loses none of them."""

    h = Harness(nifi, tmp_path, grace="45 sec")
    create_topic(nifi, h.topic)
    try:
        _put, manifest, truth, want = _feed_with_stopped(h, "PutHdfsPartitioned", tmp_path)
        deadline = time.monotonic() + 120
        while h.status()["queued"] == 0 and time.monotonic() < deadline:
            time.sleep(2)
        queued = h.status()["queued"]
        assert queued > 0
        original = deploy_flows.version_stamp
        monkeypatch.setattr(deploy_flows, "version_stamp", lambda spec=None: original(spec) + "-next")
        upgrade = deploy_flows.deploy(nifi, h.instance, h.overrides, drain_timeout=5)
        assert any(a.startswith("upgrade ") for a in upgrade["actions"]), upgrade["actions"]
        status = h.status()
        assert status["comments"].endswith("-next (nifi/flows/iptv-ingestion.json)")
        print(f"upgraded with {queued} FlowFiles queued ({status['queued']} right after the swap)")
        check_landed(h.wait_drained(want), manifest, truth)
    finally:
        h.cleanup()


def _deployed(h: Harness) -> dict[str, Any]:
    """What a deployment set on NiFi: the group's stamp, each processor's properties, the connections and the
    parameter context's values (not what the flow does meanwhile: queues, counters)."""
    import nipyapi

    status = h.status()
    procs = nipyapi.canvas.list_all_processors(status["id"]) or []
    conns = nipyapi.canvas.list_all_connections(status["id"]) or []
    ctx = deploy_flows.find_context(flows.names(h.instance)[1])
    return {
        "comments": status["comments"],
        "properties": {p.component.name: dict(p.component.config.properties) for p in procs},
        "connections": sorted(c.component.versioned_component_id or c.id for c in conns),
        "context": deploy_flows.context_values(ctx),
    }


def _sections_queued(h: Harness) -> int:
    return sum(c["queued"] for c in h.status()["connections"] if c["name"] == "sections")


def _deploy_cli(h: Harness, *args: str, **params: str) -> int:
    """scripts/deploy_flows.py for the harness's instance (its parameter overrides, then ``params``)."""
    from iptv.nifi import deploy_cli

    argv = ["--instance", h.instance, "--flow", "ingestion", "--drain-timeout", "5", *args]
    for name, value in {**h.overrides, **params}.items():
        argv += ["--param", f"{name}={value}"]
    return deploy_cli.main(argv)


def test_operator_commands_on_a_running_flow(kafka, hdfs, nifi, tmp_path, monkeypatch, capsys):
    """scripts/flow_status.py and scripts/deploy_flows.py on the real NiFi, with FlowFiles queued in front of a
    stopped PutHdfsPartitioned: flow_status exits 1 naming the stopped processor; an upgrade that would delete the
    connection holding them is refused (exit 1, nothing changed); --dry-run of a really changed flow and a changed
    parameter plans the upgrade and changes nothing; the upgrade itself sets the changed property and parameter
    and loses no queued FlowFile (the exact totals land); --remove deletes the group and its parameter context."""

    h = Harness(nifi, tmp_path, grace="45 sec")
    create_topic(nifi, h.topic)
    try:
        _put, manifest, truth, want = _feed_with_stopped(h, "PutHdfsPartitioned", tmp_path)
        deadline = time.monotonic() + 120
        while _sections_queued(h) == 0 and time.monotonic() < deadline:
            time.sleep(2)
        assert _sections_queued(h) > 0
        capsys.readouterr()
        assert flow_status.main(["--instance", h.instance]) == 1
        assert "PROBLEM: PutHdfsPartitioned is Stopped" in capsys.readouterr().out

        _deploy_copies(monkeypatch)

        def drop_sections(fc: dict[str, Any]) -> None:
            fc["connections"] = [c for c in fc["connections"] if c["identifier"] != SECTIONS_CONNECTION]

        before = _deployed(h)
        queued = _sections_queued(h)
        _use_flow(monkeypatch, _flow_copy(tmp_path, "without-sections.json", drop_sections))
        assert _deploy_cli(h) == 1
        err = capsys.readouterr().err
        assert "upgrade would delete connections still holding FlowFiles" in err and SECTIONS_CONNECTION in err, err
        assert _deployed(h) == before
        assert _sections_queued(h) >= queued  # (the consumer stopped for the swap; the pairer may still add)

        def slower_retry(fc: dict[str, Any]) -> None:
            put_def = next(p for p in fc["processors"] if p["name"] == "PutHdfsPartitioned")
            assert put_def["properties"]["Retry Pause"] == "2 sec"
            put_def["properties"]["Retry Pause"] = "3 sec"

        changed = _use_flow(monkeypatch, _flow_copy(tmp_path, "slower-retry.json", slower_retry))
        stamp = deploy_flows.version_stamp(changed)
        assert stamp != flows.stamp_of(before["comments"])
        assert _deploy_cli(h, "--dry-run", **{"tick.interval": "7 sec"}) == 0
        out = capsys.readouterr().out
        assert "plan: upgrade " in out and "tick.interval" in out, out
        assert _deployed(h) == before

        assert _deploy_cli(h, **{"tick.interval": "7 sec"}) == 0
        out = capsys.readouterr().out
        assert "done: upgrade " in out, out
        after = _deployed(h)
        assert flows.stamp_of(after["comments"]) == stamp
        assert after["properties"]["PutHdfsPartitioned"]["Retry Pause"] == "3 sec"
        assert after["context"]["tick.interval"] == "7 sec"
        assert {k: v for k, v in after["context"].items() if k != "tick.interval"} == {
            k: v for k, v in before["context"].items() if k != "tick.interval"
        }
        assert after["connections"] == before["connections"]
        check_landed(h.wait_drained(want), manifest, truth)

        assert _deploy_cli(h, "--remove") == 0
        out = capsys.readouterr().out
        pg_name, ctx_name = flows.names(h.instance)
        assert f"deleted process group {pg_name!r}" in out and f"deleted parameter context {ctx_name!r}" in out, out
        assert deploy_flows.find_group(pg_name) is None and deploy_flows.find_context(ctx_name) is None
    finally:
        h.cleanup()


#: Messages that once failed the whole batch around them (issue #10), each with the quarantine record it must get:
#: (value sent to Kafka, reason, the raw column the quarantine keeps: bad_messages.raw_column of the value).
BAD_MESSAGES: list[tuple[bytes | None, str, str]] = [
    (b"[" * 5000 + b"]" * 5000, "invalid_json", "[" * 5000 + "]" * 5000),
    (b'{"a":' * 3000 + b"1" + b"}" * 3000, "invalid_json", '{"a":' * 3000 + "1" + "}" * 3000),
    (
        b'{"session_id": "\\ud800", "user_id": 1, "channel_id": 1, "timer": "2025-03-05 10:00:00", "status": "on"}',
        "invalid_schema",
        '{"session_id": "\\ud800", "user_id": 1, "channel_id": 1, "timer": "2025-03-05 10:00:00", "status": "on"}',
    ),
    (b"\xff\xfe{", "invalid_json", "base64://57"),  # not UTF-8: its bytes as base64
    (b'{"session_id": "\x00"}', "invalid_json", '{"session_id": "\x00"}'),
    (None, "invalid_json", ""),  # a tombstone
    (b"9" * 5000, "invalid_json", "9" * 5000),
]


def test_bad_messages_inside_a_batch_do_not_stop_it(kafka, hdfs, nifi, tmp_path):
    """Deeply nested JSON and other hostile messages in the middle of one large batch of valid events: each is
    quarantined with its reason and raw text, every valid event and session of the batch lands exactly once, and
    nothing is routed to failure."""
    h = Harness(nifi, tmp_path, grace="45 sec", batch_max_count=50_000)
    stage = f"{h.topic}-stage"
    create_topic(nifi, stage)
    create_topic(nifi, h.topic)
    try:
        manifest, truth = produce(nifi, stage, tmp_path)
        records = read_records(nifi, stage)
        p0 = [i for i, r in enumerate(records) if r[0] == 0]
        middle = p0[len(p0) // 2]
        records[middle:middle] = [(0, None, value) for value, _reason, _raw in BAD_MESSAGES]
        with manifest.open("a", encoding="utf-8") as fh:  # the quarantine records these must give
            for _value, reason, raw in BAD_MESSAGES:
                expected = {"outcome": "quarantine", "reason": reason}
                fh.write(json.dumps({"kind": "hostile", "expected": expected, "messages": [raw]}) + "\n")
        h.deploy()
        copy_records(nifi, h.topic, records)  # one go: the consumer's batches hold thousands of events each
        messages = [value or b"" for _partition, _key, value in records]
        landed = h.wait_drained(expected_counts(manifest, truth))
        got = check_landed(landed, manifest, truth)
        status = h.status()
        assert not status["problems"], status["problems"]
        failed = [c for c in status["connections"] if c["name"].endswith("failed")]
        assert failed and all(c["queued"] == 0 for c in failed), failed
        print(f"landed {got} from {len(messages)} messages, {len(BAD_MESSAGES)} of them hostile")
    finally:
        h.cleanup()
        delete_topic(nifi, stage)


def test_every_kind_of_bad_message_lands_in_quarantine_exactly(kafka, hdfs, nifi, tmp_path):
    """Each kind of malformed message of tests/oracle/bad_messages.py (55, with a Kafka key and timestamp of their
    own: null keys, wrong keys, timers far from the record's timestamp, over 1 MB, not UTF-8, ...) interleaved
    with the producer's stream across the partitions: every bad message is one quarantine record with its reason
    and its raw bytes exactly; raw, sessions and the producer's faults land exactly as without them; nothing is
    routed to failure."""
    h = Harness(nifi, tmp_path, grace="45 sec")
    stage = f"{h.topic}-stage"
    create_topic(nifi, stage)
    # the messages' own timestamps are of 2025: kept whatever the retention; one message is over 1 MB
    create_topic(nifi, h.topic, {"max.message.bytes": str(4 * 1024 * 1024), "retention.ms": "-1"})
    try:
        manifest, truth = produce(nifi, stage, tmp_path)
        by_partition: dict[int, list[tuple]] = {0: [], 1: [], 2: []}
        for partition, key, value in read_records(nifi, stage):
            by_partition[partition].append((partition, key, value))
        kinds = bad_messages.KINDS
        for i, (_kind, key, value, _reason) in enumerate(kinds):
            part = by_partition[i % 3]
            at = (i // 3 + 1) * len(part) // (len(kinds) // 3 + 2)  # spread over the partition's stream
            part.insert(at, (i % 3, key, value, bad_messages.TS_MS))
        with manifest.open("a", encoding="utf-8") as fh:  # the quarantine records these must give
            for kind, _key, value, reason in kinds:
                expected = {"outcome": "quarantine", "reason": reason}
                raw = bad_messages.raw_column(value)
                fh.write(json.dumps({"kind": f"bad: {kind}", "expected": expected, "messages": [raw]}) + "\n")
        h.deploy()
        copy_records(nifi, h.topic, by_partition[0] + by_partition[1] + by_partition[2])
        landed = h.wait_drained(expected_counts(manifest, truth))
        got = check_landed(landed, manifest, truth)
        q = {c: i for i, c in enumerate(QUARANTINE.column_names)}
        limit = csv.field_size_limit(1 << 30)
        try:
            rows = [next(csv.reader(io.StringIO(line))) for _dt, line in landed["quarantine"]]
        finally:
            csv.field_size_limit(limit)
        sent = Counter((reason, value or b"") for _kind, _key, value, reason in kinds)
        kept = Counter((r[q["reason"]], bad_messages.raw_bytes(r[q["raw"]])) for r in rows)
        assert not sent - kept, f"bad messages not quarantined byte for byte: {list(sent - kept)[:2]}"
        status = h.status()
        assert not status["problems"], status["problems"]
        failed = [c for c in status["connections"] if c["name"].endswith("failed")]
        assert failed and all(c["queued"] == 0 for c in failed), failed
        print(f"landed {got}, {len(kinds)} kinds of bad message among them")
    finally:
        h.cleanup()
        delete_topic(nifi, stage)
