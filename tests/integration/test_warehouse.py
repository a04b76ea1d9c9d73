"""The warehouse loader against the real PostgreSQL (Greenplum stand-in): marts equal the DuckDB reference,
reloads are idempotent, the reader role is read-only. Each test module works in its own schema (dropped at
the end), so the real iptv_dw is never touched."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import random

import psycopg2
import psycopg2.errors
import pytest

from iptv import db
from iptv import warehouse as W
from iptv.marts_reference import compute_marts, write_sample_lake

pytestmark = pytest.mark.integration

# Mon 2 .. Thu 5 March 2026, and the next Monday (two Mondays for the weekday averages).
DATES = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2026, 3, 9)]

KEYS = {
    "mart_daily": ["dt"],
    "mart_channel_daily": ["dt", "channel_id"],
    "mart_hourly": ["dt", "hour"],
    "mart_weekday_hour": ["weekday", "hour"],
    "mart_duration_hist": ["dt", "bucket_lower_s"],
}
COLUMNS = {
    "mart_daily": ["dt", "watch_hours", "sessions", "viewers"],
    "mart_channel_daily": [
        "dt",
        "channel_id",
        "channel_name",
        "watch_hours",
        "sessions",
        "viewers",
        "reach_pct",
        "share_pct",
        "rating_pct",
        "atv_min",
    ],
    "mart_hourly": ["dt", "hour", "viewers", "watch_minutes"],
    "mart_weekday_hour": ["weekday", "hour", "avg_viewers"],
    "mart_duration_hist": ["dt", "bucket_label", "bucket_lower_s", "sessions"],
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory, cfg):
    root = tmp_path_factory.mktemp("lake")
    files = write_sample_lake(root, cfg["hdfs"]["paths"], DATES, seed=20260302)
    return root, files


@pytest.fixture(scope="module")
def reference(lake, cfg):
    root, files = lake
    return compute_marts(root / cfg["hdfs"]["paths"]["sessions"].lstrip("/"), files["users"], files["channels"])


def _new_schema(cfg, suffix: str):
    wh = W.Warehouse(cfg, schema=f"iptv_dw_test_{suffix}_{os.getpid()}")
    conn = db.connect(cfg, "loader")
    W.apply_ddl(conn, wh)
    return wh, conn


def _drop(wh, conn):
    conn.rollback()
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {wh.schema} CASCADE")
    conn.close()


@pytest.fixture(scope="module")
def loaded(postgres, lake):
    """A test schema with the DDL applied, the catalogs and every date loaded (in a shuffled order)."""
    root, _ = lake
    wh, conn = _new_schema(postgres, "wh")
    W.apply_ddl(conn, wh)  # twice: idempotent
    paths = postgres["hdfs"]["paths"]
    W.load_dims(
        conn,
        wh,
        W.list_sources(postgres, paths["catalogs"] + "/channels", root),
        W.list_sources(postgres, paths["catalogs"] + "/users", root),
    )
    order = DATES[:]
    random.Random(7).shuffle(order)
    results = {
        d: W.load_sessions(conn, wh, d, W.list_sources(postgres, W.session_dir(postgres, d), root)) for d in order
    }
    yield wh, conn, results
    _drop(wh, conn)


def fetch(conn, wh, mart: str) -> list[tuple]:
    cols = COLUMNS[mart]
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(cols)} FROM {wh.table(mart)} ORDER BY {', '.join(KEYS[mart])}")
        rows = cur.fetchall()
    conn.rollback()
    return rows


def expected(reference, mart: str) -> list[tuple]:
    frame = reference[mart].sort_values(KEYS[mart])
    return [tuple(r) for r in frame[COLUMNS[mart]].itertuples(index=False)]


def snapshot(conn, wh) -> dict[str, list[tuple]]:
    out = {}
    with conn.cursor() as cur:
        for t in W.TABLES:
            cur.execute(f"SELECT * FROM {wh.table(t)}")
            out[t] = sorted(cur.fetchall(), key=repr)
    conn.rollback()
    return out


def test_load_results(loaded, lake):
    _, _, results = loaded
    _, files = lake
    for d, r in results.items():
        n = sum(1 for _ in open(files["sessions"][d]))
        assert (r.files, r.rows_read, r.rows_loaded, r.rows_rejected) == (1, n, n, 0), r.summary()
        # every date's sessions cross midnight: the next date is recomputed too
        assert r.mart_dates == [d, d + dt.timedelta(days=1)]


@pytest.mark.parametrize("mart", list(KEYS))
def test_mart_equals_reference(loaded, reference, mart):
    wh, conn, _ = loaded
    got, want = fetch(conn, wh, mart), expected(reference, mart)
    assert len(got) == len(want)
    # counts exactly, ratios exactly as rounded to 6 decimals
    assert got == want


def test_watch_time_exact_to_the_second(loaded, reference):
    wh, conn, _ = loaded
    for mart, col, unit in [
        ("mart_daily", "watch_hours", 3600),
        ("mart_channel_daily", "watch_hours", 3600),
        ("mart_hourly", "watch_minutes", 60),
    ]:
        got = [round(r[COLUMNS[mart].index(col)] * unit) for r in fetch(conn, wh, mart)]
        assert got == reference[mart].sort_values(KEYS[mart])["watch_s"].tolist(), mart


def test_dims_parsed_quoted_names(loaded, lake):
    wh, conn, _ = loaded
    with conn.cursor() as cur:
        cur.execute(f"SELECT user_name FROM {wh.table('dim_user')} WHERE user_id = 1")
        assert cur.fetchone()[0] == 'User 1, "B." O\'Neil'
        cur.execute(f"SELECT count(*), count(DISTINCT channel_name) FROM {wh.table('dim_channel')}")
        assert cur.fetchone() == (12, 12)
    conn.rollback()


def test_reload_changes_nothing(loaded, postgres, lake):
    wh, conn, _ = loaded
    root, _ = lake
    before = snapshot(conn, wh)
    for d in (DATES[1], DATES[0]):
        W.load_sessions(conn, wh, d, W.list_sources(postgres, W.session_dir(postgres, d), root))
    assert snapshot(conn, wh) == before


def test_cli_reload_from_local_root(loaded, postgres, lake, reference, capsys):
    spec = importlib.util.spec_from_file_location("load_greenplum", W.REPO_ROOT / "scripts" / "load_greenplum.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    main = cli.main
    wh, conn, _ = loaded
    root, _ = lake
    before = snapshot(conn, wh)
    rc = main(
        ["--local-root", str(root), "--schema", wh.schema, "--dims", "--from", "2026-03-02", "--to", "2026-03-05"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "summary: 5 of 5 steps done" in out
    assert snapshot(conn, wh) == before
    # a date without a sessions directory fails (exit 1) and changes nothing
    rc = main(["--local-root", str(root), "--schema", wh.schema, "--dt", "2026-03-20"])
    assert rc == 1
    assert snapshot(conn, wh) == before


def test_reader_is_read_only(loaded, postgres):
    wh, _, _ = loaded
    conn = db.connect(postgres, "reader")
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {wh.table('mart_daily')}")
            assert cur.fetchone()[0] == 7  # 03-02..03-06 and 03-09..03-10 (each date spills past midnight)
        conn.rollback()
        for stmt in [
            f"INSERT INTO {wh.table('mart_daily')} VALUES ('2000-01-01', 0, 0, 0)",
            f"UPDATE {wh.table('fact_session')} SET duration_s = 0",
            f"DELETE FROM {wh.table('dim_user')}",
            f"CREATE TABLE {wh.table('reader_table')} (x int)",
            f"TRUNCATE {wh.table('mart_hourly')}",
        ]:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
                cur.execute(stmt)
            conn.rollback()
    finally:
        conn.close()


@pytest.fixture
def scratch(postgres):
    wh, conn = _new_schema(postgres, "scratch")
    yield wh, conn
    _drop(wh, conn)


def test_bad_rows_are_rejected_and_a_shrinking_reload_clears_the_next_day(scratch, postgres, tmp_path):
    wh, conn = scratch
    part = tmp_path / postgres["hdfs"]["paths"]["sessions"].lstrip("/") / "dt=2026-04-01"
    part.mkdir(parents=True)
    f = part / "a.csv"
    f.write_text(
        "s1,1,1,2026-04-01 23:00:00,2026-04-02 01:00:00,7200\n"  # crosses into 04-02
        "s1,1,1,2026-04-01 23:00:00,2026-04-02 01:00:00,7200\n"  # duplicate
        "s2,2,1,2026-04-02 10:00:00,2026-04-02 11:00:00,3600\n"  # starts on another date
        "s3,2,1,2026-04-01 10:00:00,2026-04-01 09:00:00,-3600\n"  # ends before it starts
        "s4,,1,2026-04-01 10:00:00,2026-04-01 11:00:00,3600\n"  # no user
        "s5,3,2,2026-04-01 08:00:00,2026-04-01 08:10:00,\n"  # no duration: derived
    )
    (part / "_SUCCESS").write_text("")  # not data
    src = W.list_sources(postgres, W.session_dir(postgres, "2026-04-01"), tmp_path)
    r = W.load_sessions(conn, wh, "2026-04-01", src)
    assert (r.rows_read, r.rows_loaded) == (6, 2)
    assert r.rejected == {"missing_field": 1, "other_date": 1, "negative_duration": 1}
    assert "duplicate=1" in r.summary()
    assert r.mart_dates == [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    with conn.cursor() as cur:
        cur.execute(f"SELECT duration_s FROM {wh.table('fact_session')} WHERE session_id = 's5'")
        assert cur.fetchone() == (600,)
        cur.execute(
            f"SELECT dt, round(watch_hours * 3600), sessions, viewers FROM {wh.table('mart_daily')} ORDER BY dt"
        )
        assert cur.fetchall() == [(dt.date(2026, 4, 1), 4200, 2, 2), (dt.date(2026, 4, 2), 3600, 0, 1)]
    conn.rollback()
    # Reload 04-01 without the crossing session: 04-02 had nothing else, so its marts disappear.
    f.write_text("s5,3,2,2026-04-01 08:00:00,2026-04-01 08:10:00,600\n")
    r = W.load_sessions(conn, wh, "2026-04-01", src)
    assert r.mart_dates == [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    with conn.cursor() as cur:
        for t in ("mart_daily", "mart_hourly", "mart_duration_hist", "mart_channel_daily"):
            cur.execute(f"SELECT DISTINCT dt FROM {wh.table(t)} ORDER BY dt")
            assert cur.fetchall() == [(dt.date(2026, 4, 1),)], t
        cur.execute(f"SELECT count(*), sum(avg_viewers) FROM {wh.table('mart_weekday_hour')}")
        assert cur.fetchone() == (24, 1)  # Wednesday only, one viewer in hour 8
    conn.rollback()
