"""HiveServer2 (local Spark Thrift Server) over PyHive on data in the real HDFS: an external CSV table and a
partitioned external table with partitions added by ALTER TABLE. The HiveQL is valid for Apache Hive too."""

from __future__ import annotations

import uuid

import pytest

from iptv import hdfs_client
from iptv.hive_client import connect, run_sql_file
from iptv.sql import Ident

pytestmark = pytest.mark.integration


def _rows(n: int, offset: int = 0) -> list[tuple[int, str, int]]:
    return [(i, f"ch{i % 7}", (i * 37) % 3600) for i in range(offset, offset + n)]


def _csv(rows: list[tuple[int, str, int]]) -> str:
    # Headerless: Spark's Hive reader ignores skip.header.line.count.
    return "".join(f"{i},{ch},{s}\n" for i, ch, s in rows)


@pytest.fixture(scope="module")
def area(hive):
    """(HDFS path, full hdfs:// URI, table-name suffix) of a scratch area, removed afterwards."""
    tag = uuid.uuid4().hex[:10]
    path = f"/tmp/iptv-tests/hive-{tag}"
    hdfs_client.mkdirs(hive, path)
    yield path, hive.hdfs.default_fs.rstrip("/") + path, tag
    hdfs_client.delete(hive, path, recursive=True)


@pytest.fixture(scope="module")
def cursor(hive):
    conn = connect(hive)
    cur = conn.cursor()
    yield cur
    conn.close()


def test_select_one(cursor):
    cursor.execute("SELECT 1")
    assert cursor.fetchall() == [(1,)]


def test_external_csv_table(hive, cursor, area):
    path, uri, tag = area
    rows_a, rows_b = _rows(600), _rows(437, offset=600)
    hdfs_client.write_text(hive, f"{path}/views/part-0.csv", _csv(rows_a))
    hdfs_client.write_text(hive, f"{path}/views/part-1.csv", _csv(rows_b))
    table = f"{hive.hive.database}.test_views_{tag}"
    cursor.execute(
        f"CREATE EXTERNAL TABLE {table} (id INT, channel STRING, seconds BIGINT) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE "
        f"LOCATION '{uri}/views'"
    )
    try:
        cursor.execute(f"SELECT COUNT(*), SUM(seconds), COUNT(DISTINCT channel) FROM {table}")
        rows = rows_a + rows_b
        assert cursor.fetchall() == [(len(rows), sum(r[2] for r in rows), 7)]
        cursor.execute(f"SELECT id, channel, seconds FROM {table} WHERE id = 777")
        assert cursor.fetchall() == [(777, "ch0", (777 * 37) % 3600)]
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    # External: dropping the table keeps the files.
    assert sorted(hdfs_client.list_dir(hive, f"{path}/views")) == ["part-0.csv", "part-1.csv"]


def test_partitioned_external_table(hive, cursor, area, tmp_path):
    path, uri, tag = area
    parts = {"2024-05-01": _rows(10), "2024-05-02": _rows(25, 100), "2024-05-03": _rows(40, 200)}
    for day, rows in parts.items():
        hdfs_client.write_text(hive, f"{path}/daily/event_date={day}/part-0.csv", _csv(rows))
    table = f"test_daily_{tag}"
    sql = tmp_path / "daily.sql"
    sql.write_text(
        """-- partitioned external table over {{ location }}; statements split on ';' outside quotes
CREATE EXTERNAL TABLE IF NOT EXISTS {{ db }}.{{ table }} (
  id INT,
  channel STRING COMMENT 'channel id; e.g. ch1',
  seconds BIGINT
)
PARTITIONED BY (event_date STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ location }};
/* register the day directories */
ALTER TABLE {{ db }}.{{ table }} ADD IF NOT EXISTS
  PARTITION (event_date='2024-05-01') LOCATION {{ day_1 }}
  PARTITION (event_date='2024-05-02') LOCATION {{ day_2 }};
ALTER TABLE {{ db }}.{{ table }} ADD IF NOT EXISTS PARTITION (event_date='2024-05-03')
  LOCATION {{ day_3 }};
SHOW PARTITIONS {{ db }}.{{ table }};
""",
        encoding="utf-8",
    )
    db = hive.hive.database
    try:
        days = {f"day_{i}": f"{uri}/daily/event_date={d}" for i, d in enumerate(sorted(parts), 1)}
        values = {"db": Ident(db), "table": Ident(table), "location": f"{uri}/daily", **days}
        results = run_sql_file(cursor, sql, values)
        assert all(not r for r in results[:3])  # DDL: no rows (None on Hive, [] on Spark)
        assert sorted(r[0] for r in results[3]) == [f"event_date={d}" for d in sorted(parts)]

        cursor.execute(
            f"SELECT event_date, COUNT(*), SUM(seconds) FROM {db}.{table} GROUP BY event_date ORDER BY event_date"
        )
        expected = [(d, len(rows), sum(r[2] for r in rows)) for d, rows in sorted(parts.items())]
        assert cursor.fetchall() == expected

        cursor.execute(f"SELECT COUNT(*) FROM {db}.{table} WHERE event_date = '2024-05-02'")
        assert cursor.fetchall() == [(25,)]
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {db}.{table}")
