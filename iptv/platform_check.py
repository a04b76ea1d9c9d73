"""Push viewing events through Kafka -> HDFS -> Hive and read them back: the platform's end-to-end self-check.

It uses only the configured endpoints, so it checks a real cluster as well as the local stack. It leaves nothing
behind: its topic, HDFS directory and Hive table are removed at the end.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from iptv import hdfs_client, hive_client
from iptv.config import REPO_ROOT, Config
from iptv.datasets import VIEWING_EVENTS
from iptv.hive_tables import column_values
from iptv.kafka_admin import admin_client
from iptv.kafka_security import client_settings
from iptv.sql import Ident

log = logging.getLogger(__name__)

CHECK_SQL = REPO_ROOT / "hive" / "platform_check.sql"


@dataclass
class CheckResult:
    sent: int
    consumed: int
    hdfs_path: str
    hive_count: int
    hive_channel_sum: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.sent == self.consumed == self.hive_count


def _events(n: int, run_id: str) -> list[dict[str, Any]]:
    """``n`` sessions' worth of events in the event contract (an enabled and a disabled each)."""
    out = []
    for i in range(n):
        sid = uuid.uuid5(uuid.NAMESPACE_URL, f"{run_id}/{i}").hex
        for minute, status in ((0, "enabled"), (30, "disabled")):
            out.append(
                {
                    "session_id": sid,
                    "user_id": 1 + i,
                    "channel_id": 1 + i % 148,
                    "timer": f"2023-09-23 20:{minute:02d}:{i % 60:02d}",
                    "status": status,
                }
            )
    return out


def run_check(cfg: Config, sessions: int = 5, timeout: float = 60.0) -> CheckResult:
    """Produce ``2 * sessions`` events to a fresh topic, consume them, land them on HDFS as headerless CSV,
    query them through HiveServer2. Raises RuntimeError with one line on any mismatch or timeout."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import NewTopic

    t0 = time.monotonic()
    run_id = uuid.uuid4().hex[:12]
    topic = f"iptv.platform-check.{run_id}"
    hdfs_dir = f"/tmp/iptv-platform-check/{run_id}"
    table = f"platform_check_{run_id}"
    events = _events(sessions, run_id)
    admin = admin_client(cfg)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(timeout)
    try:
        # As the admin: the check creates its own topic, which no other principal's ACLs cover.
        producer = Producer({**client_settings(cfg, "admin"), "enable.idempotence": True, "acks": "all"})
        for ev in events:
            producer.produce(topic, key=ev["session_id"], value=json.dumps(ev))
        if producer.flush(timeout) != 0:
            raise RuntimeError(f"kafka: {len(events)} events not all delivered within {timeout:.0f} s")

        consumer = Consumer(
            {
                **client_settings(cfg, "admin"),
                "group.id": f"platform-check-{run_id}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([topic])
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(received) < len(events) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and not msg.error():
                received.append(json.loads(msg.value()))
        consumer.close()
        log.info("kafka: %d/%d events consumed back from %s", len(received), len(events), topic)

        columns = VIEWING_EVENTS.column_names
        csv_lines = [",".join(str(e[c]) for c in columns) + "\n" for e in received]
        hdfs_path = f"{hdfs_dir}/events.csv"
        hdfs_client.write_text(cfg, hdfs_path, "".join(csv_lines), overwrite=True)
        log.info("hdfs: %d lines written to %s", len(csv_lines), hdfs_path)

        conn = hive_client.connect(cfg)
        try:
            results = hive_client.run_sql_file(
                conn.cursor(),
                CHECK_SQL,
                {
                    **column_values(),
                    "database": Ident(cfg.hive.database),
                    "table": Ident(table),
                    "location": cfg.hdfs.default_fs.rstrip("/") + hdfs_dir,
                },
            )
        finally:
            conn.close()
        count, channel_sum = next(rows[0] for rows in results if rows)
        log.info("hive: count=%s sum(channel_id)=%s", count, channel_sum)
    finally:
        admin.delete_topics([topic])
        try:
            hdfs_client.delete(cfg, hdfs_dir, recursive=True)
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the check's own result
            log.warning("could not remove %s: %s", hdfs_dir, exc)
    return CheckResult(len(events), len(received), hdfs_path, int(count), int(channel_sum or 0), time.monotonic() - t0)


def expected_channel_sum(sessions: int) -> int:
    return sum(2 * (1 + i % 148) for i in range(sessions))


__all__ = ["CheckResult", "expected_channel_sum", "run_check"]
