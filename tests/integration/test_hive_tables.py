"""The hive/ SQL on the real HDFS + HiveServer2 (Spark Thrift Server locally): external tables, views and
partitions over sample CSV files, and the Hive marts (hive/marts/<name>.sql, table mart_<name>) agree with the
DuckDB reference and with the Greenplum marts of the same name loaded (through WebHDFS) from the same files; the
programme guide's table and v_programme_audience agree with the DuckDB reference of mart_programme.

Everything runs in a scratch HDFS area and a scratch Hive database and schema (the ``{{ ... }}`` placeholders of
the SQL files point there), removed at the end; the real /data/iptv and database iptv are not touched."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from oracle.marts import MART_COLUMNS, compute_marts, norm
from oracle.programmes import compute_programme_marts
from oracle.sample_lake import write_sample_lake

from iptv import db, hdfs_client, warehouse
from iptv.config import with_overrides
from iptv.hive_client import connect, run_sql_file
from iptv.hive_tables import HIVE_DIR, HiveTables

pytestmark = pytest.mark.integration

DATES = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 9)]  # Mon, Tue, next Mon
MARTS = {
    "daily": ("mart_daily", MART_COLUMNS["mart_daily"], ["dt"]),
    "channel_daily": ("mart_channel_daily", MART_COLUMNS["mart_channel_daily"], ["dt", "channel_id"]),
    "hourly": ("mart_hourly", MART_COLUMNS["mart_hourly"], ["dt", "hour"]),
    "duration_hist": ("mart_duration_hist", MART_COLUMNS["mart_duration_hist"], ["dt", "bucket_lower_s"]),
}
QUARANTINE_LINE = 'bad_json,abc123,2026-03-02 10:00:01,"unexpected token, at 3","{""user_id"": 1, ""x"": ""a,b""}"\n'


def close(a: list[tuple], b: list[tuple]) -> bool:
    """Equal row by row; decimals within 1e-6 (Spark/Hive decimal division keeps fewer digits)."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(map(norm, ra), map(norm, rb), strict=True):
            if isinstance(x, Decimal) and isinstance(y, Decimal):
                if abs(x - y) > Decimal("0.000001"):
                    return False
            elif x != y:
                return False
    return True


@pytest.fixture(scope="module")
def env(hive, hdfs, tmp_path_factory):
    """A config whose HDFS paths and Hive database point to a scratch area holding the sample files."""
    tag = uuid.uuid4().hex[:10]
    base = f"/tmp/iptv-tests/warehouse-{tag}"
    lake_paths = hive.hdfs.paths.as_dict()
    cfg = with_overrides(
        hive, {"hdfs.paths": {k: base + v for k, v in lake_paths.items()}, "hive.database": f"iptv_test_{tag}"}
    )
    root = tmp_path_factory.mktemp("lake")
    files = write_sample_lake(root, lake_paths, DATES, seed=99, sessions_per_day=120)
    for f in sorted(root.rglob("*.csv")):
        hdfs_client.write_bytes(cfg, base + "/" + str(f.relative_to(root)), f.read_bytes(), overwrite=True)
    q = f"{cfg.hdfs.paths.quarantine}/dt=2026-03-02/q.csv"
    hdfs_client.write_text(cfg, q, QUARANTINE_LINE, overwrite=True)
    yield cfg, root, files
    try:
        conn = connect(cfg)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {cfg.hive.database} CASCADE")
        conn.close()
    finally:
        hdfs_client.delete(cfg, base, recursive=True)


@pytest.fixture(scope="module")
def cursor(env):
    cfg, _, _ = env
    conn = connect(cfg, database="default")
    cur = conn.cursor()
    yield cur
    conn.close()


@pytest.fixture(scope="module")
def tables(env, cursor):
    cfg, _, _ = env
    hive = HiveTables.from_config(cfg)
    run_sql_file(cursor, HIVE_DIR / "create_tables.sql", hive.values())
    run_sql_file(cursor, HIVE_DIR / "create_tables.sql", hive.values())  # idempotent
    run_sql_file(cursor, HIVE_DIR / "views.sql", hive.values())
    run_sql_file(cursor, HIVE_DIR / "marts" / "tables.sql", hive.values())
    for d in DATES:
        run_sql_file(cursor, HIVE_DIR / "register_partitions.sql", hive.values(d))
    run_sql_file(cursor, HIVE_DIR / "register_partitions.sql", hive.values(DATES[0]))  # idempotent
    return hive


@pytest.fixture(scope="module")
def reference(env):
    cfg, root, files = env
    sessions = root / "data/iptv/sessions"
    return compute_marts(sessions, files["users"], files["channels"])


@pytest.fixture(scope="module")
def mart_dates(reference):
    return [d.isoformat() for d in reference["mart_daily"]["dt"]]


@pytest.fixture(scope="module")
def hive_marts(tables, cursor, mart_dates):
    """Every mart_<name> of the Hive database, written by hive/marts/<name>.sql as the lake sync recomputes a
    changed date: that date and the next together, from their sessions (and the previous date's running into the
    first) parsed once and cached."""
    for d in map(dt.date.fromisoformat, mart_dates):
        tables.recompute_marts(cursor, [d, d + dt.timedelta(days=1)])
    return {name: read_mart(tables, cursor, name) for name in MARTS}


def read_mart(tables: HiveTables, cursor, name: str) -> list[tuple]:
    mart, cols, keys = MARTS[name]
    cursor.execute(f"SELECT {', '.join(cols)} FROM {tables.database}.{mart} ORDER BY {', '.join(keys)}")
    return cursor.fetchall()


@pytest.fixture(scope="module")
def greenplum(env, postgres):
    """The same files loaded into a scratch warehouse schema, read from HDFS by the loader."""
    cfg, _, _ = env  # the postgres fixture brings the database up; env's config already points at it
    wh = warehouse.Warehouse(cfg, schema=f"iptv_dw_test_hive_{uuid.uuid4().hex[:8]}")
    conn = db.connect(cfg, "loader")
    warehouse.apply_ddl(conn, wh)
    cat = cfg.hdfs.paths.catalogs
    warehouse.load_dims(
        conn, wh, warehouse.list_sources(cfg, cat + "/channels"), warehouse.list_sources(cfg, cat + "/users")
    )
    for d in DATES:
        sources = warehouse.list_sources(cfg, warehouse.session_dir(cfg, d))
        assert sources and all(s.hdfs for s in sources)
        warehouse.load_sessions(conn, wh, d, sources)
    yield wh, conn
    conn.rollback()
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {wh.schema} CASCADE")
    conn.close()


def test_tables_and_views(tables, cursor, env):
    _, root, files = env
    db_ = tables.database
    cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT dt) FROM {db_}.sessions")
    n = sum(len(f.read_text().splitlines()) for f in files["sessions"].values())
    assert cursor.fetchall() == [(n, len(DATES))]
    cursor.execute(f"SELECT user_id, user_name FROM {db_}.v_users WHERE user_id = 1")
    assert cursor.fetchall() == [(1, 'User 1, "B." O\'Neil')]
    cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT channel_name) FROM {db_}.v_channels")
    assert cursor.fetchall() == [(12, 12)]
    cursor.execute(f"SELECT reason, session_id, detail, raw, dt FROM {db_}.v_quarantine")
    assert cursor.fetchall() == [
        ("bad_json", "abc123", "unexpected token, at 3", '{"user_id": 1, "x": "a,b"}', "2026-03-02")
    ]
    cursor.execute(f"SELECT COUNT(*) FROM {db_}.v_session_detail WHERE user_name IS NULL OR channel_name IS NULL")
    assert cursor.fetchall() == [(0,)]
    cursor.execute(f"SELECT MAX(end_s - start_s - duration_s), MIN(end_s - start_s - duration_s) FROM {db_}.v_sessions")
    assert cursor.fetchall() == [(0, 0)]


@pytest.mark.parametrize("name", list(MARTS))
def test_hive_marts_equal_reference(hive_marts, reference, name):
    mart, cols, keys = MARTS[name]
    want = [tuple(r) for r in reference[mart].sort_values(keys)[cols].itertuples(index=False)]
    got = hive_marts[name]
    assert close(got, want), f"{name}: hive {got[:3]} ... vs reference {want[:3]} ..."


def test_a_mart_recomputed_alone_reads_the_lake_and_writes_the_same_rows(hive_marts, tables, cursor, mart_dates):
    """One mart of one date (what a catalog change recomputes) reads v_sessions itself, without the cache."""
    cursor.execute(f"TRUNCATE TABLE {tables.database}.mart_hourly")
    assert read_mart(tables, cursor, "hourly") == []
    for d in mart_dates:
        tables.recompute_marts(cursor, [dt.date.fromisoformat(d)], ["hourly"])
    assert read_mart(tables, cursor, "hourly") == hive_marts["hourly"]


@pytest.mark.parametrize("name", list(MARTS))
def test_hive_marts_equal_greenplum(hive_marts, greenplum, name):
    wh, conn = greenplum
    mart, cols, keys = MARTS[name]
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(cols)} FROM {wh.table(mart)} ORDER BY {', '.join(keys)}")
        want = cur.fetchall()
    conn.rollback()
    assert close(hive_marts[name], want), name


@pytest.fixture(scope="module")
def programme_reference(env):
    cfg, root, files = env
    return compute_programme_marts(
        root / "data/iptv/sessions",
        root / "data/iptv/catalogs/epg",
        files["users"],
        files["channels"],
        reach_min_seconds=cfg.marts.reach_min_seconds,
    )


def test_programmes_table_and_view(tables, cursor, env):
    _, _, files = env
    db_ = tables.database
    n = sum(len(f.read_text().splitlines()) for f in files["programmes"].values())
    cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT dt), COUNT(DISTINCT programme_id) FROM {db_}.v_programmes")
    assert cursor.fetchall() == [(n, len(DATES), n)]
    cursor.execute(f"SELECT COUNT(*) FROM {db_}.v_programmes WHERE start_s IS NULL OR end_s <= start_s")
    assert cursor.fetchall() == [(0,)]
    cursor.execute(f"SELECT MIN(title) FROM {db_}.v_programmes WHERE title LIKE '%, \"Live\"'")
    assert cursor.fetchall()[0][0].endswith(', "Live"')  # a quoted title with a comma and quotes, parsed


def test_programme_audience_equals_reference(tables, cursor, programme_reference):
    """Every programme of the (clean) sample guide: viewers and watch time exactly, ratios within 1e-6."""
    cols = ["dt", "programme_id", "viewers", "watch_minutes", "reach_pct", "amr", "rating_pct", "atv_min"]
    cursor.execute(f"SELECT {', '.join(cols)} FROM {tables.database}.v_programme_audience")
    got = sorted(cursor.fetchall(), key=lambda r: (r[0], r[1]))
    frame = programme_reference["mart_programme"]
    want = sorted((tuple(r) for r in frame[cols].itertuples(index=False)), key=lambda r: (r[0], r[1]))
    assert close(got, want), f"hive {got[:3]} ... vs reference {want[:3]} ..."
    assert sum(norm(r[3]) for r in got) == sum(norm(r[3]) for r in want)
