"""The warehouse loader against the real PostgreSQL (Greenplum stand-in): marts equal the DuckDB reference,
reloads are idempotent, the reader role is read-only; the programme guide's marts equal the reference whichever
of the guide and the sessions loads first, complete guides add up to the channels' watch time, bad guide rows are
rejected by reason and leave the session marts as they were; loads of overlapping dates, and load_dims during
load_sessions, at once give the exact marts (and do not without the loader's lock). Each test module works in its
own schema (dropped at the end), so the real iptv_dw is never touched."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import threading

import psycopg2
import psycopg2.errors
import pytest
from oracle.marts import MART_COLUMNS, compute_marts
from oracle.programmes import MART_COLUMNS as PROGRAMME_COLUMNS
from oracle.programmes import compute_programme_marts
from oracle.sample_lake import write_sample_lake

from iptv import db, warehouse
from iptv.config import REPO_ROOT
from iptv.warehouse import loads as warehouse_loads

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
COLUMNS = MART_COLUMNS


@pytest.fixture(scope="module")
def lake(tmp_path_factory, cfg):
    root = tmp_path_factory.mktemp("lake")
    files = write_sample_lake(root, cfg.hdfs.paths.as_dict(), DATES, seed=20260302)
    return root, files


@pytest.fixture(scope="module")
def reference(lake, cfg):
    root, files = lake
    return compute_marts(root / cfg.hdfs.paths.sessions.lstrip("/"), files["users"], files["channels"])


def _new_schema(cfg, suffix: str):
    wh = warehouse.Warehouse(cfg, schema=f"iptv_dw_test_{suffix}_{os.getpid()}")
    conn = db.connect(cfg, "loader")
    warehouse.apply_ddl(conn, wh)
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
    warehouse.apply_ddl(conn, wh)  # twice: idempotent
    cat = postgres.hdfs.paths.catalogs
    warehouse.load_dims(
        conn,
        wh,
        warehouse.list_sources(postgres, cat + "/channels", root),
        warehouse.list_sources(postgres, cat + "/users", root),
    )
    order = DATES[:]
    random.Random(7).shuffle(order)
    results = {
        d: warehouse.load_sessions(
            conn, wh, d, warehouse.list_sources(postgres, warehouse.session_dir(postgres, d), root)
        )
        for d in order
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
    """Every table's rows (load_rejects and the ledger without loaded_at, the time of the load)."""
    without_time = {
        warehouse.REJECTS_TABLE: "dt, source_file, line_no, reason, raw_line",
        warehouse.LEDGER_TABLE: "dataset, dt, path, length, mtime_ms, rows_read, rows_loaded",
    }
    out = {}
    with conn.cursor() as cur:
        for t in warehouse.TABLES:
            cols = without_time.get(t, "*")
            cur.execute(f"SELECT {cols} FROM {wh.table(t)}")
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
        warehouse.load_sessions(conn, wh, d, warehouse.list_sources(postgres, warehouse.session_dir(postgres, d), root))
    assert snapshot(conn, wh) == before


#: The loader's own lock step, which the concurrency test wraps.
TAKE_LOCK = warehouse_loads._lock


def _meet_inside_the_lock(monkeypatch, parties: int) -> None:
    """Make each load wait, once it holds the loader's lock, up to 5 s for the other ``parties - 1`` loads to hold
    it too: with the lock they cannot (the first goes on alone when the wait times out), without it they all go on
    together from there -- so a missing lock always shows as overlapping transactions."""
    meet = threading.Barrier(parties)

    def lock_then_meet(cur, wh) -> None:
        TAKE_LOCK(cur, wh)
        try:
            meet.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(warehouse_loads, "_lock", lock_then_meet)


def _at_once(*loads) -> None:
    """Run each load on its own thread (each with its own connection) and re-raise the first error."""
    errors: list[BaseException] = []

    def run(load) -> None:
        try:
            load()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(load,)) for load in loads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_concurrent_loads_of_overlapping_dates_give_exact_marts(postgres, lake, reference, monkeypatch):
    """Two loads of neighbouring dates (both recompute the marts of the second date: its sessions and those
    crossing midnight into it), then load_dims during load_sessions, each pair at once on its own connection:
    every mart equals the reference afterwards. Without the loader's lock (load/lock.sql) the pairs overlap and
    the marts of the shared date come out doubled or the load fails."""
    root, _ = lake
    wh, conn = _new_schema(postgres, "concurrent")
    conns = [db.connect(postgres, "loader") for _ in range(2)]
    cat = postgres.hdfs.paths.catalogs

    def sessions(c, d):
        return lambda: warehouse.load_sessions(
            c, wh, d, warehouse.list_sources(postgres, warehouse.session_dir(postgres, d), root)
        )

    def dims(c):
        return lambda: warehouse.load_dims(
            c,
            wh,
            warehouse.list_sources(postgres, cat + "/channels", root),
            warehouse.list_sources(postgres, cat + "/users", root),
        )

    try:
        dims(conn)()
        for d in DATES[2:]:
            sessions(conn, d)()
        _meet_inside_the_lock(monkeypatch, 2)
        _at_once(sessions(conns[0], DATES[0]), sessions(conns[1], DATES[1]))
        _meet_inside_the_lock(monkeypatch, 2)
        _at_once(dims(conns[0]), sessions(conns[1], DATES[2]))
        for mart in KEYS:
            assert fetch(conn, wh, mart) == expected(reference, mart), mart
    finally:
        for c in conns:
            c.close()
        _drop(wh, conn)


def test_cli_reload_from_local_root(loaded, postgres, lake, reference, capsys):
    from iptv.warehouse_cli import main

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
    part = tmp_path / postgres.hdfs.paths.sessions.lstrip("/") / "dt=2026-04-01"
    part.mkdir(parents=True)
    f = part / "a.csv"
    f.write_text(
        "00000000000000000000000000000001,1,1,2026-04-01 23:00:00,2026-04-02 01:00:00,7200\n"  # crosses into 04-02
        "00000000000000000000000000000001,1,1,2026-04-01 23:00:00,2026-04-02 01:00:00,7200\n"  # duplicate
        "00000000000000000000000000000002,2,1,2026-04-02 10:00:00,2026-04-02 11:00:00,3600\n"  # starts on another date
        "00000000000000000000000000000003,2,1,2026-04-01 10:00:00,2026-04-01 09:00:00,-3600\n"  # ends before it starts
        "00000000000000000000000000000004,,1,2026-04-01 10:00:00,2026-04-01 11:00:00,3600\n"  # no user
        "00000000000000000000000000000005,3,2,2026-04-01 08:00:00,2026-04-01 08:10:00,\n"  # no duration: derived
    )
    (part / "_SUCCESS").write_text("")  # not data
    src = warehouse.list_sources(postgres, warehouse.session_dir(postgres, "2026-04-01"), tmp_path)
    r = warehouse.load_sessions(conn, wh, "2026-04-01", src)
    assert (r.rows_read, r.rows_loaded) == (6, 2)
    assert r.rejected == {"missing_field": 1, "other_date": 1, "negative_duration": 1, "duplicate": 1}
    assert "duplicate=1" in r.summary()
    assert r.mart_dates == [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT duration_s FROM {wh.table('fact_session')} WHERE session_id = '00000000000000000000000000000005'"
        )
        assert cur.fetchone() == (600,)
        cur.execute(
            f"SELECT dt, round(watch_hours * 3600), sessions, viewers FROM {wh.table('mart_daily')} ORDER BY dt"
        )
        assert cur.fetchall() == [(dt.date(2026, 4, 1), 4200, 2, 2), (dt.date(2026, 4, 2), 3600, 0, 1)]
    conn.rollback()
    # Reload 04-01 without the crossing session: 04-02 had nothing else, so its marts disappear.
    f.write_text("00000000000000000000000000000005,3,2,2026-04-01 08:00:00,2026-04-01 08:10:00,600\n")
    r = warehouse.load_sessions(conn, wh, "2026-04-01", src)
    assert r.mart_dates == [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]
    with conn.cursor() as cur:
        for t in ("mart_daily", "mart_hourly", "mart_duration_hist", "mart_channel_daily"):
            cur.execute(f"SELECT DISTINCT dt FROM {wh.table(t)} ORDER BY dt")
            assert cur.fetchall() == [(dt.date(2026, 4, 1),)], t
        cur.execute(f"SELECT count(*), sum(avg_viewers) FROM {wh.table('mart_weekday_hour')}")
        assert cur.fetchone() == (24, 1)  # Wednesday only, one viewer in hour 8
    conn.rollback()


def test_of_a_repeated_session_id_the_earliest_valid_row_loads(scratch, postgres, tmp_path):
    """A session_id on several rows loads once: the valid row first by time_start (not by position in the file);
    an invalid row of the id is rejected for its own reason and does not count as the first."""
    wh, conn = scratch
    part = tmp_path / postgres.hdfs.paths.sessions.lstrip("/") / "dt=2026-04-01"
    part.mkdir(parents=True)
    a1, a2 = "a1" * 16, "a2" * 16
    (part / "a.csv").write_text(
        f"{a1},1,1,2026-04-01 10:00:00,2026-04-01 10:10:00,600\n"  # starts later: duplicate
        f"{a1},2,1,2026-04-01 09:00:00,2026-04-01 09:10:00,600\n"  # starts first: loads
        f"{a2},3,1,2026-04-01 10:00:00,2026-04-01 09:00:00,-3600\n"  # invalid: rejected for itself
        f"{a2},4,1,2026-04-01 11:00:00,2026-04-01 11:10:00,600\n"  # the one valid row of a2: loads
    )
    src = warehouse.list_sources(postgres, warehouse.session_dir(postgres, "2026-04-01"), tmp_path)
    r = warehouse.load_sessions(conn, wh, "2026-04-01", src)
    assert (r.rows_read, r.rows_loaded, r.rejected) == (4, 2, {"negative_duration": 1, "duplicate": 1})
    with conn.cursor() as cur:
        cur.execute(f"SELECT session_id, user_id FROM {wh.table('fact_session')} ORDER BY session_id")
        assert cur.fetchall() == [(a1, 2), (a2, 4)]
        cur.execute(f"SELECT line_no, reason FROM {wh.table('load_rejects')} ORDER BY line_no")
        assert cur.fetchall() == [(1, "duplicate"), (3, "negative_duration")]
    conn.rollback()


def test_records_staged_typed_are_checked_and_kept_like_the_others(scratch, postgres, tmp_path):
    """Canonical records (staged typed, iptv.warehouse.staging.CanonicalSessionRecord) and the others (staged as
    text) meet the same checks between fields and one duplicate check across both; a rejected typed record keeps
    its line exactly (rebuilt from its fields), a year-1 timestamp included."""
    wh, conn = scratch
    part = tmp_path / postgres.hdfs.paths.sessions.lstrip("/") / "dt=2026-04-02"
    part.mkdir(parents=True)
    s = [f"{i:02d}" * 16 for i in range(10)]
    upper = "ABCDEF" + "0" * 26
    lines = [
        f"{s[1]},1,1,2026-04-02 09:00:00,2026-04-02 09:10:00,600",  # typed: loads
        f"{s[2]},007,1,2026-04-02 09:00:00,2026-04-02 09:10:00,600",  # text: a duplicate of line 10's id
        f"{s[3]},1,1,2026-04-03 10:00:00,2026-04-03 10:00:05,5",  # typed: other_date
        f"{s[4]},1,1,2026-04-02 10:00:05,2026-04-02 10:00:00,0",  # typed: negative_duration
        f"{s[5]},1,1,2026-04-02 10:00:00,2026-04-02 10:00:05,6",  # typed: duration_mismatch
        f"{s[1]},2,1,2026-04-02 10:00:00,2026-04-02 10:10:00,600",  # typed: a duplicate of line 1's id
        f"{s[6]},1,1,0001-01-01 00:00:00,0001-01-01 00:00:09,9",  # typed: other_date
        f"{upper},999999999999999999,1,2026-04-02 23:59:59,2026-04-03 00:00:01,2",  # typed: loads
        f"{s[8]},1,1,2026-04-02 10:00:00,2026-04-02 10:00:05,05",  # text: loads
        f"{s[2]},3,1,2026-04-02 08:00:00,2026-04-02 08:00:01,1",  # typed: loads, the earliest of its id
    ]
    (part / "a.csv").write_text("\n".join(lines) + "\n")
    src = warehouse.list_sources(postgres, warehouse.session_dir(postgres, "2026-04-02"), tmp_path)
    r = warehouse.load_sessions(conn, wh, "2026-04-02", src)
    want_rejects = {2: "duplicate", 3: "other_date", 4: "negative_duration", 5: "duration_mismatch", 6: "duplicate"}
    want_rejects[7] = "other_date"
    assert (r.rows_read, r.rows_loaded) == (10, 4), r.summary()
    assert r.rejected == {"duplicate": 2, "other_date": 2, "negative_duration": 1, "duration_mismatch": 1}
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT session_id, user_id, channel_id, time_start, time_end, duration_s "
            f"FROM {wh.table('fact_session')} ORDER BY user_id, session_id"
        )
        got = [(sid, u, c, str(a), str(b), d) for sid, u, c, a, b, d in cur.fetchall()]
        cur.execute(f"SELECT source_file, line_no, reason, raw_line FROM {wh.table('load_rejects')} ORDER BY line_no")
        rejects = cur.fetchall()
    conn.rollback()
    assert got == [
        (s[1], 1, 1, "2026-04-02 09:00:00", "2026-04-02 09:10:00", 600),
        (s[8], 1, 1, "2026-04-02 10:00:00", "2026-04-02 10:00:05", 5),
        (s[2], 3, 1, "2026-04-02 08:00:00", "2026-04-02 08:00:01", 1),
        (upper, 999999999999999999, 1, "2026-04-02 23:59:59", "2026-04-03 00:00:01", 2),
    ]
    path = str(part / "a.csv")
    assert rejects == [(path, n, why, lines[n - 1]) for n, why in sorted(want_rejects.items())]


# ------------------------------------------------------------------ malformed input: rows are rejected, never the date

SID = "0123456789abcdef0123456789abcdef"
#: One bad row per reject reason (raw line, reason); the date is DATES[0] = 2026-03-02.
BAD_ROWS = [
    ("garbage-without-fields", "wrong_field_count"),
    (f"{SID[:-1]}1,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5,extra", "wrong_field_count"),
    (f"{SID[:-1]}2,,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "missing_field"),
    ("not-a-hex-id,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_session_id"),
    (f"{SID[:-1]}3,abc,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_id"),
    (f"{SID[:-1]}4,1,1.5,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_id"),
    (f"{SID[:-1]}5,1,1,2026-02-30 10:00:00,2026-03-02 10:00:05,5", "bad_timestamp"),
    (f"{SID[:-1]}6,1,1,2026-03-02T10:00:00,2026-03-02 10:00:05,5", "bad_timestamp"),
    (f"{SID[:-1]}7,1,1,2026-03-02 10:00:00,2026-03-02 24:00:00,5", "bad_timestamp"),
    (f"{SID[:-1]}8,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,five", "bad_duration"),
    (f"{SID[:-1]}9,1,1,2026-03-03 10:00:00,2026-03-03 10:00:05,5", "other_date"),
    (f"{SID[:-2]}10,1,1,2026-03-02 10:00:05,2026-03-02 10:00:00,-5", "negative_duration"),
    (f"{SID[:-2]}11,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,6", "duration_mismatch"),
    # the bounds of the length tests: 33 hex digits, 19 digits, a sign alone, a signed 18 digits (a number)
    (f"{SID}0,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_session_id"),
    (f"{SID[:-2]}12,1234567890123456789,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_id"),
    (f"{SID[:-2]}13,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,-", "bad_duration"),
    (f"{SID[:-2]}16,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,9999999999999999999", "bad_duration"),
    (f"{SID[:-2]}14,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,-1234567890123456789", "bad_duration"),
    (f"{SID[:-2]}15,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,-123456789012345678", "negative_duration"),
    ('"multi\nline",1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5', "bad_session_id"),
    ("\ufffd\ufffd,1,1,2026-03-02 10:00:00,2026-03-02 10:00:05,5", "bad_session_id"),  # written as bytes ff ff
    ("x," + "y" * 140_000, "malformed_csv"),  # a field beyond the csv module's limit
    ("\\.", "wrong_field_count"),  # COPY's end-of-data marker is data here
]


@pytest.fixture
def bad_lake(lake, postgres, tmp_path):
    """DATES[0]'s sample sessions plus a file holding one bad row per reason (and a duplicate of a good row)."""
    root, files = lake
    good = files["sessions"][DATES[0]].read_text()
    part = tmp_path / postgres.hdfs.paths.sessions.lstrip("/") / f"dt={DATES[0]}"
    part.mkdir(parents=True)
    (part / "part-00000.csv").write_text(good)
    dup = good.splitlines()[0]
    rows = [r for r, _ in BAD_ROWS] + [dup, ""]  # and an empty line (skipped, not a row)
    data = "\n".join(rows).encode("utf-8").replace("\ufffd".encode(), b"\xff") + b"\n"
    (part / "part-bad.csv").write_bytes(data)
    want = [(r, why) for r, why in BAD_ROWS] + [(dup, "duplicate")]
    lines, n = [], 1
    for r, why in want:
        lines.append((n, r, why))
        n += r.count("\n") + 1
    return tmp_path, part, good, lines


def test_malformed_rows_are_rejected_and_the_valid_rows_load(scratch, postgres, lake, bad_lake, tmp_path_factory):
    wh, conn = scratch
    root, files = lake
    cat = postgres.hdfs.paths.catalogs
    warehouse.load_dims(
        conn,
        wh,
        warehouse.list_sources(postgres, cat + "/channels", root),
        warehouse.list_sources(postgres, cat + "/users", root),
    )
    bad_root, part, good, lines = bad_lake
    sources = warehouse.list_sources(postgres, warehouse.session_dir(postgres, DATES[0]), bad_root)
    r = warehouse.load_sessions(conn, wh, DATES[0], sources)
    n_good = len(good.splitlines())
    by_reason = {}
    for _, _, why in lines:
        by_reason[why] = by_reason.get(why, 0) + 1
    assert (r.files, r.rows_read, r.rows_loaded) == (2, n_good + len(lines), n_good), r.summary()
    assert r.rejected == by_reason
    assert f"rejected={len(lines)} (" in r.summary() and "wrong_field_count=3" in r.summary()

    with conn.cursor() as cur:
        cur.execute(
            f"SELECT dt, source_file, line_no, reason, raw_line FROM {wh.table('load_rejects')} ORDER BY line_no"
        )
        got = cur.fetchall()
    conn.rollback()
    bad_file = str(part / "part-bad.csv")
    raw = [line for _, line, _ in lines]
    assert got == [(DATES[0], bad_file, n, why, line) for (n, _, why), line in zip(lines, raw, strict=True)]

    # The marts equal the reference over the valid rows only.
    ref_dir = tmp_path_factory.mktemp("valid") / "sessions"
    ref_dir.mkdir()
    (ref_dir / "part-00000.csv").write_text(good)
    ref = compute_marts(ref_dir, files["users"], files["channels"])
    for mart in KEYS:
        assert fetch(conn, wh, mart) == expected(ref, mart), mart

    # Reloading the same files changes nothing (rejects replaced, not appended).
    before = snapshot(conn, wh)
    r2 = warehouse.load_sessions(conn, wh, DATES[0], sources)
    assert (r2.rows_read, r2.rows_loaded, r2.rejected) == (r.rows_read, r.rows_loaded, r.rejected)
    assert snapshot(conn, wh) == before
    # Fixing the file clears the date's rejects.
    (part / "part-bad.csv").unlink()
    r3 = warehouse.load_sessions(
        conn, wh, DATES[0], warehouse.list_sources(postgres, warehouse.session_dir(postgres, DATES[0]), bad_root)
    )
    assert (r3.rows_read, r3.rows_loaded, r3.rejected) == (n_good, n_good, {})
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {wh.table('load_rejects')}")
        assert cur.fetchone()[0] == 0
    conn.rollback()


def test_cli_reports_rejects_by_reason(scratch, postgres, bad_lake, capsys):
    from iptv import warehouse_cli as cli

    wh, _ = scratch
    bad_root, _, _, lines = bad_lake
    rc = cli.main(["--local-root", str(bad_root), "--schema", wh.schema, "--dt", str(DATES[0])])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"rejected={len(lines)} (malformed_csv=1, wrong_field_count=3, missing_field=1" in out


# ------------------------------------------------------------------ the producer's catalogs load as they are


def test_producer_catalogs_load_into_the_dimensions(scratch, postgres, tmp_path):
    """``python -m producer catalogs`` output (the catalogs contract of iptv.catalogs) loads into dim_user and
    dim_channel: right counts, every attribute, a name with a comma and quotes round-trips exactly."""
    from producer import catalogs as producer_catalogs

    out = tmp_path / "catalogs"
    proc = subprocess.run(
        [sys.executable, "-m", "producer", "catalogs", "--out", str(out), "--users", "40"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    users = producer_catalogs.read_csv(out / "users.csv")
    channels = producer_catalogs.read_csv(out / "channels.csv")
    assert len(users) == 40 and all(len(u) == len(producer_catalogs.USER_COLUMNS) for u in users)
    tricky = 'Иванов, Пётр "Петя" O\'Brien'
    users[6][1] = tricky  # through the producer's own writer: quoted, doubled quotes
    producer_catalogs.write_csv(users, out / "users.csv")
    assert '"Иванов, Пётр ""Петя"" O\'Brien"' in (out / "users.csv").read_text(encoding="utf-8")
    (out / "channels").mkdir()
    (out / "users").mkdir()
    (out / "channels.csv").rename(out / "channels" / "channels.csv")
    (out / "users.csv").rename(out / "users" / "users.csv")

    wh, conn = scratch
    res = warehouse.load_dims(
        conn,
        wh,
        [warehouse.Source(str(out / "channels" / "channels.csv"))],
        [warehouse.Source(str(out / "users" / "users.csv"))],
    )
    assert (res.files, res.channels, res.users, res.skipped) == (2, len(channels), 40, 0)
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT user_id, user_name, gender, birth_date::text, city, signup_date::text "
            f"FROM {wh.table('dim_user')} ORDER BY user_id"
        )
        got = cur.fetchall()
        cur.execute(f"SELECT channel_id, channel_name FROM {wh.table('dim_channel')} ORDER BY channel_id")
        got_channels = cur.fetchall()
        cur.execute(f"SELECT count(*) FROM {wh.table('dim_channel')} WHERE watch_share_pct IS NULL")
        assert cur.fetchone()[0] == 0
    conn.rollback()
    assert got == [(int(u[0]), *u[1:]) for u in users]
    assert got[6][1] == tricky
    assert got_channels == sorted((int(c[0]), c[1]) for c in channels)


# ------------------------------------------------------------------ the programme guide: dim_programme and its marts

#: Sort keys of the programme marts (in Python: the database's collation does not decide the order).
PROGRAMME_KEYS = {"mart_programme": (0, 1), "mart_genre_hourly": (0, 1, 2)}


@pytest.fixture(scope="module")
def guide_lake(tmp_path_factory, cfg):
    """The sample lake of ``lake`` (same seed: the same sessions and catalogs) with bad guide rows for DATES[0]."""
    root = tmp_path_factory.mktemp("guide-lake")
    files = write_sample_lake(root, cfg.hdfs.paths.as_dict(), DATES, seed=20260302, bad_guide_rows=True)
    return root, files


def _guide_reference(root, files, cfg) -> dict:
    return compute_programme_marts(
        root / cfg.hdfs.paths.sessions.lstrip("/"),
        files["programmes"][DATES[0]].parent.parent,
        files["users"],
        files["channels"],
        reach_min_seconds=cfg.marts.reach_min_seconds,
    )


def _load_all(cfg, root, wh, conn, *, guide_first: bool) -> dict:
    cat = cfg.hdfs.paths.catalogs
    warehouse.load_dims(
        conn,
        wh,
        warehouse.list_sources(cfg, cat + "/channels", root),
        warehouse.list_sources(cfg, cat + "/users", root),
    )
    order = DATES[:]
    random.Random(11).shuffle(order)
    guides = {}

    def guide():
        for d in order:
            src = warehouse.list_sources(cfg, warehouse.programme_dir(cfg, d), root)
            guides[d] = warehouse.load_programmes(conn, wh, d, src)

    def sessions():
        for d in order:
            warehouse.load_sessions(conn, wh, d, warehouse.list_sources(cfg, warehouse.session_dir(cfg, d), root))

    if guide_first:
        guide()
        sessions()
    else:
        sessions()
        guide()
    return guides


@pytest.fixture(scope="module")
def guide_loaded(postgres, guide_lake):
    """A test schema with the catalogs, the sessions of every date, then (arriving after them) the guides."""
    root, _ = guide_lake
    wh, conn = _new_schema(postgres, "guide")
    results = _load_all(postgres, root, wh, conn, guide_first=False)
    yield wh, conn, results
    _drop(wh, conn)


@pytest.fixture(scope="module")
def guide_reference(guide_lake, postgres):
    root, files = guide_lake
    return _guide_reference(root, files, postgres)


def fetch_programme_mart(conn, wh, mart: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(PROGRAMME_COLUMNS[mart])} FROM {wh.table(mart)}")
        rows = cur.fetchall()
    conn.rollback()
    return sorted(rows, key=lambda r: tuple(r[i] for i in PROGRAMME_KEYS[mart]))


def expected_programme_mart(ref, mart: str) -> list[tuple]:
    rows = [tuple(r) for r in ref[mart][PROGRAMME_COLUMNS[mart]].itertuples(index=False)]
    return sorted(rows, key=lambda r: tuple(r[i] for i in PROGRAMME_KEYS[mart]))


def programme_rejects(conn, wh) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT dt, source_file, line_no, reason, raw_line FROM {wh.table('load_rejects')} "
            "WHERE dataset = 'programmes'"
        )
        rows = cur.fetchall()
    conn.rollback()
    return sorted(rows, key=lambda r: (r[0], r[1], r[2], r[3]))


def test_guide_load_results(guide_loaded, guide_lake):
    _, _, results = guide_loaded
    _, files = guide_lake
    bad = files["bad_programmes"]["rows"]
    for d, r in results.items():
        good = len(files["programmes"][d].read_text().splitlines())
        n_bad = len(bad) if d == DATES[0] else 0
        assert (r.files, r.rows_read, r.programmes, r.gaps) == (1 + (n_bad > 0), good + n_bad, good, 1), r.summary()
    want = {}
    for _, _, why in bad:
        want[why] = want.get(why, 0) + 1
    assert results[DATES[0]].rejected == want
    assert "overlap=1" in results[DATES[0]].summary() and "gaps=1" in results[DATES[0]].summary()


@pytest.mark.parametrize("mart", list(PROGRAMME_COLUMNS))
def test_programme_marts_equal_reference(guide_loaded, guide_reference, mart):
    """Counts and ratios exactly (sessions spanning several programmes and midnight are in the sample)."""
    wh, conn, _ = guide_loaded
    got, want = fetch_programme_mart(conn, wh, mart), expected_programme_mart(guide_reference, mart)
    assert len(got) == len(want) and got == want


def test_programme_watch_time_to_the_second(guide_loaded, guide_reference):
    wh, conn, _ = guide_loaded
    for mart in PROGRAMME_COLUMNS:
        col = PROGRAMME_COLUMNS[mart].index("watch_minutes")
        got = [round(r[col] * 60) for r in fetch_programme_mart(conn, wh, mart)]
        frame = guide_reference[mart]
        keys = [PROGRAMME_COLUMNS[mart][i] for i in PROGRAMME_KEYS[mart]]
        assert got == frame.sort_values(keys)["watch_s"].tolist(), mart
    assert sum(guide_reference["mart_programme"]["watch_s"]) > 0


def test_complete_guides_add_up_to_the_channel(guide_loaded):
    """For every channel and date whose accepted programmes cover the whole day, the programmes' watch time is
    the channel's watch time of that day in mart_channel_daily, to the second."""
    wh, conn, _ = guide_loaded
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT dt, channel_id FROM {wh.table('dim_programme')} GROUP BY dt, channel_id "
            "HAVING sum(EXTRACT(EPOCH FROM (time_end - time_start))) = 86400"
        )
        complete = set(cur.fetchall())
        cur.execute(
            f"SELECT dt, channel_id, round(sum(watch_minutes) * 60) FROM {wh.table('mart_programme')} "
            "GROUP BY dt, channel_id"
        )
        programmes = {(r[0], r[1]): int(r[2]) for r in cur.fetchall()}
        cur.execute(f"SELECT dt, channel_id, round(watch_hours * 3600) FROM {wh.table('mart_channel_daily')}")
        channels = {(r[0], r[1]): int(r[2]) for r in cur.fetchall()}
    conn.rollback()
    assert len(complete) == 10 * len(DATES)  # channels 1..10; 11 has a gap, 12 no guide
    for key in sorted(complete):
        assert programmes[key] == channels.get(key, 0), key
    assert any(programmes[k] for k in complete)
    # the channel with a gap has watch time outside its programmes on some date
    gap = [(d, 11) for d in DATES]
    assert all(programmes[k] <= channels.get(k, 0) for k in gap)


def test_bad_guide_rows_are_rejected_by_reason(guide_loaded, guide_lake, guide_reference):
    wh, conn, _ = guide_loaded
    _, files = guide_lake
    got = programme_rejects(conn, wh)
    want = [(r.dt, r.source_file, r.line_no, r.reason, r.raw_line) for r in guide_reference["rejects"]]
    assert got == sorted(want, key=lambda r: (r[0], r[1], r[2], r[3]))
    bad = files["bad_programmes"]
    assert [(n, raw, why) for _, f, n, why, raw in got if f == str(bad["file"])] == bad["rows"]
    assert [r[3] for r in got if r[3] == "gap"] == ["gap"] * len(DATES)


def test_the_guide_leaves_the_session_marts_unchanged(guide_loaded, reference):
    """The same sessions as ``loaded``: the session marts equal the reference, with the bad guide rows loaded;
    no sessions row is rejected."""
    wh, conn, _ = guide_loaded
    for mart in KEYS:
        assert fetch(conn, wh, mart) == expected(reference, mart), mart
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {wh.table('load_rejects')} WHERE dataset = 'sessions'")
        assert cur.fetchone()[0] == 0
    conn.rollback()


def test_guide_before_sessions_gives_the_same_marts(postgres, guide_lake, guide_reference):
    """The guides first, then the sessions (each sessions load recomputes the programme marts it touches)."""
    root, _ = guide_lake
    wh, conn = _new_schema(postgres, "guidefirst")
    try:
        _load_all(postgres, root, wh, conn, guide_first=True)
        for mart in PROGRAMME_COLUMNS:
            assert fetch_programme_mart(conn, wh, mart) == expected_programme_mart(guide_reference, mart), mart
    finally:
        _drop(wh, conn)


def test_corrected_guide_recomputes_its_date_and_reloads_are_idempotent(guide_loaded, guide_lake, postgres):
    """Removing the bad rows' file and reloading the date clears its rejects but the gap, the marts then equal
    the reference over the corrected files; reloading again, and recomputing everything, changes nothing."""
    wh, conn, _ = guide_loaded
    root, files = guide_lake
    bad_file = files["bad_programmes"]["file"]
    saved = bad_file.read_text(encoding="utf-8")
    bad_file.unlink()
    try:
        src = warehouse.list_sources(postgres, warehouse.programme_dir(postgres, DATES[0]), root)
        r = warehouse.load_programmes(conn, wh, DATES[0], src)
        assert (r.files, r.rejected, r.gaps) == (1, {}, 1)
        ref = _guide_reference(root, files, postgres)
        for mart in PROGRAMME_COLUMNS:
            assert fetch_programme_mart(conn, wh, mart) == expected_programme_mart(ref, mart), mart
        assert [x[3] for x in programme_rejects(conn, wh) if x[0] == DATES[0]] == ["gap"]
        before = snapshot(conn, wh)
        warehouse.load_programmes(conn, wh, DATES[0], src)
        assert snapshot(conn, wh) == before
        warehouse.recompute_all(conn, wh)
        assert snapshot(conn, wh) == before
        # a date whose guide directory is gone loads empty: its programme marts disappear, the session marts stay
        warehouse.load_programmes(conn, wh, DATES[-1], [])
        after = snapshot(conn, wh)
        assert not [x for x in after["mart_programme"] if x[0] == DATES[-1]]
        assert not [x for x in after["mart_genre_hourly"] if x[0] == DATES[-1]]
        for t in ("mart_daily", "mart_channel_daily", "mart_hourly", "fact_session"):
            assert after[t] == before[t], t
    finally:
        bad_file.write_text(saved, encoding="utf-8")


#: Texts for parse_timestamp and whether they name a real 'YYYY-MM-DD HH:MM:SS' (the expectation is Python's
#: strptime, independent of the SQL).
TIMESTAMP_TEXTS = [
    "2026-03-04 10:00:00", "2024-02-29 23:59:59", "2000-02-29 00:00:00", "2025-02-29 00:00:00",
    "1900-02-29 00:00:00", "2026-02-30 00:00:00", "2026-04-31 12:00:00", "2026-04-30 12:00:00",
    "2026-12-31 23:59:59", "2026-13-01 00:00:00", "2026-00-10 00:00:00", "2026-01-00 00:00:00",
    "2026-01-32 00:00:00", "2026-01-01 24:00:00", "2026-01-01 23:60:00", "2026-01-01 23:59:60",
    "0000-01-01 00:00:00", "0001-01-01 00:00:00", "2026-3-04 10:00:00", "2026-03-04T10:00:00",
    "2026-03-04 10:00:00.5", " 2026-03-04 10:00:00", "2026-03-04 10:00", "", "abcd-ef-gh ij:kl:mn",
    "2026-03-04 10:00:0x", "2026-03-04 10:00:00\n",
]  # fmt: skip


def _strptime_or_none(text: str) -> dt.datetime | None:
    if len(text) != 19:  # strptime accepts single-digit fields and surrounding whitespace; the format does not
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def test_parse_timestamp_accepts_exactly_the_real_timestamps(scratch):
    wh, conn = scratch
    with conn, conn.cursor() as cur:
        got = {}
        for text in TIMESTAMP_TEXTS:
            cur.execute(f"SELECT {wh.table('parse_timestamp')}(%s)", (text,))
            got[text] = cur.fetchone()[0]
    assert got == {text: _strptime_or_none(text) for text in TIMESTAMP_TEXTS}
    assert sum(v is not None for v in got.values()) == 6


# ------------------------------------------------------------------ the lake's quarantine, counted per date and reason

#: Records no writer of the ingestion produces (a hand-edited or foreign file), each with the reason the warehouse
#: counts it under, and the line ending written after it (LF, CRLF, a lone CR, a blank line).
FOREIGN_QUARANTINE = [
    (b"garbage-without-fields", "wrong_field_count", b"\n"),
    (b'invalid_json,,2026-03-02T10:00:00.000Z,"unterminated', "wrong_field_count", b"\r\n"),
    (b"invalid_json,,2026-03-02T10:00:01.000Z,d,the line after an unbalanced quote", "invalid_json", b"\r"),
    (b"Not A Reason,,2026-03-02T10:00:02.000Z,d,r", "bad_reason", b"\n\n"),
    (b"x" * 40 + b",,2026-03-02T10:00:03.000Z,d,r", "bad_reason", b"\n"),
    (b",,2026-03-02T10:00:04.000Z,d,r", "bad_reason", b"\n"),
    (b'"invalid_json",,2026-03-02T10:00:05.000Z,d,"a\x01""b"', "invalid_json", b"\n"),
    (b"invalid_schema,,2026-03-02T10:00:06.000Z,d,\xff\xfe not UTF-8", "invalid_schema", b"\n"),
    (b"invalid_schema,,2026-03-02T10:00:07.000Z,d,nul \x00 byte", "invalid_schema", b"\n"),
    (b"\\.", "wrong_field_count", b"\n"),
    (b"unmatched_end,,2026-03-02T10:00:08.000Z,d,r,extra", "wrong_field_count", b"\n"),
    (b"unmatched_end,,2026-03-02T10:00:09.000Z,d," + b"}" * 200_000, "unmatched_end", b""),
]


@pytest.fixture(scope="module")
def quarantine_lake(tmp_path_factory, cfg):
    """The sample quarantine of three dates (the last one clean: no file)."""
    root = tmp_path_factory.mktemp("quarantine-lake")
    files = write_sample_lake(
        root, cfg.hdfs.paths.as_dict(), DATES[:3], seed=31, sessions_per_day=5, guide=False, quarantine=True
    )
    assert sorted(files["quarantine"]) == DATES[:2]
    return root, files


def _quarantine_sources(cfg, root, day) -> list:
    try:
        return warehouse.list_sources(cfg, warehouse.quarantine_dir(cfg, day), root)
    except warehouse.LoadError:
        return []  # no directory: a clean day


def _quarantine_rows(conn, wh) -> dict[tuple[dt.date, str], int]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT dt, reason, events FROM {wh.table(warehouse.QUARANTINE_TABLE)}")
        rows = cur.fetchall()
    conn.rollback()
    out = {(d, reason): n for d, reason, n in rows}
    assert len(out) == len(rows), "one row per date and reason"
    return out


@pytest.fixture(scope="module")
def quarantine_loaded(postgres, quarantine_lake):
    root, _ = quarantine_lake
    wh, conn = _new_schema(postgres, "quarantine")
    results = {d: warehouse.load_quarantine(conn, wh, d, _quarantine_sources(postgres, root, d)) for d in DATES[:3]}
    yield wh, conn, results
    _drop(wh, conn)


def test_quarantine_counts_equal_the_records_per_date_and_reason(quarantine_loaded, quarantine_lake):
    wh, conn, results = quarantine_loaded
    _, files = quarantine_lake
    want = files["quarantine_counts"]
    assert _quarantine_rows(conn, wh) == want
    assert {reason for _, reason in want} >= {"invalid_json", "conflicting_pair", "unreadable_output"}
    for d, r in results.items():
        assert r.events == {reason: n for (day, reason), n in sorted(want.items()) if day == d}
        assert r.files == (1 if d in files["quarantine"] else 0)
        assert f"quarantine dt={d} files={r.files} events={r.total}" in r.summary()
    assert results[DATES[2]].events == {}  # the clean day: no rows


def test_quarantine_reload_changes_nothing_and_replaces_only_its_date(quarantine_loaded, quarantine_lake, postgres):
    wh, conn, _ = quarantine_loaded
    root, files = quarantine_lake
    before = _quarantine_rows(conn, wh)
    warehouse.load_quarantine(conn, wh, DATES[0], _quarantine_sources(postgres, root, DATES[0]))
    assert _quarantine_rows(conn, wh) == before
    warehouse.load_quarantine(conn, wh, DATES[1], [])  # its files gone: the date has no rows, the others stay
    assert _quarantine_rows(conn, wh) == {k: v for k, v in before.items() if k[0] != DATES[1]}
    warehouse.load_quarantine(conn, wh, DATES[1], _quarantine_sources(postgres, root, DATES[1]))
    assert _quarantine_rows(conn, wh) == before


def test_odd_quarantine_records_cannot_break_the_load(scratch, postgres, quarantine_lake, tmp_path):
    """A foreign file beside the ingestion's: every line is one record whatever it holds (an unbalanced quote
    does not swallow the next line, NUL and invalid UTF-8 are data, a 200 KB field is a field), counted under
    its reason or, when unreadable, under the loader's label."""
    wh, conn = scratch
    _, files = quarantine_lake
    part = tmp_path / postgres.hdfs.paths.quarantine.lstrip("/") / f"dt={DATES[0]}"
    part.mkdir(parents=True)
    (part / "a-ingested.csv").write_bytes(files["quarantine"][DATES[0]].read_bytes())
    (part / "b-foreign.csv").write_bytes(b"".join(raw + end for raw, _, end in FOREIGN_QUARANTINE))
    r = warehouse.load_quarantine(conn, wh, DATES[0], _quarantine_sources(postgres, tmp_path, DATES[0]))
    want = {reason: n for (d, reason), n in files["quarantine_counts"].items() if d == DATES[0]}
    for _, reason, _ in FOREIGN_QUARANTINE:
        want[reason] = want.get(reason, 0) + 1
    assert r.files == 2 and r.events == dict(sorted(want.items()))
    ingested = {reason for _, reason in files["quarantine_counts"]}
    assert set(r.events) - ingested == {"wrong_field_count", "bad_reason"} <= set(warehouse.QUARANTINE_UNREADABLE)
    assert _quarantine_rows(conn, wh) == {(DATES[0], reason): n for reason, n in want.items()}


def test_reader_reads_the_quarantine_counts(quarantine_loaded, postgres):
    wh, _, _ = quarantine_loaded
    conn = db.connect(postgres, "reader")
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(DISTINCT dt), SUM(events) > 0 FROM {wh.table(warehouse.QUARANTINE_TABLE)}")
            assert cur.fetchone() == (2, True)
        conn.rollback()
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
            cur.execute(f"DELETE FROM {wh.table(warehouse.QUARANTINE_TABLE)}")
    finally:
        conn.rollback()
        conn.close()


# ------------------------------------------------------------------ the ledger: loads that append new files


def _split_lake(cfg, files, root, days) -> dict[dt.date, list]:
    """The sessions of ``days`` of the sample lake split into three files each (part-1..3, in file order) in the
    lake layout under ``root``; returns their paths by date."""
    out = {}
    for d in days:
        lines = files["sessions"][d].read_text().splitlines(keepends=True)
        directory = root / warehouse.session_dir(cfg, d).lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        thirds = [lines[: len(lines) // 3], lines[len(lines) // 3 : 2 * len(lines) // 3], lines[2 * len(lines) // 3 :]]
        out[d] = []
        for i, part in enumerate(thirds, start=1):
            path = directory / f"part-{i}.csv"
            path.write_text("".join(part))
            out[d].append(path)
    return out


def _sources(cfg, root, d) -> list:
    return warehouse.list_sources(cfg, warehouse.session_dir(cfg, d), root)


@pytest.fixture
def two_schemas(postgres, lake):
    """Two scratch schemas with the catalogs loaded: one loaded by appends, one by whole loads to compare with."""
    root, _ = lake
    cat = postgres.hdfs.paths.catalogs
    pair = []
    for name in ("append", "whole"):
        wh, conn = _new_schema(postgres, name)
        warehouse.load_dims(
            conn, wh, warehouse.list_sources(postgres, cat + "/channels", root),
            warehouse.list_sources(postgres, cat + "/users", root),
        )  # fmt: skip
        pair.append((wh, conn))
    yield pair
    for wh, conn in pair:
        _drop(wh, conn)


def _whole(cfg, root, wh, conn, days) -> dict:
    for d in days:
        warehouse.load_sessions(conn, wh, d, _sources(cfg, root, d))
    return snapshot(conn, wh)


def test_appending_new_files_equals_a_whole_load(postgres, lake, two_schemas, reference, tmp_path):
    """Files arriving one by one: the first load of a date is whole (no ledger), each later one reads only the new
    file and recomputes the marts of the dates its sessions reach; nothing new reads nothing. Every table then
    equals a whole load of the same files, and the marts the DuckDB reference."""
    _, files = lake
    (wh, conn), (wh_whole, conn_whole) = two_schemas
    days = DATES[:2]
    parts = _split_lake(postgres, files, tmp_path, days)
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for d in days:  # only part-1 of each date at first
        for p in parts[d][1:]:
            p.rename(hidden / f"{d}-{p.name}")
    results = [warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True) for d in days]
    assert [(r.mode, r.reload_reason, r.files) for r in results] == [("whole", "no ledger for the date", 1)] * 2
    for i in (1, 2):
        for d in days:
            (hidden / f"{d}-part-{i + 1}.csv").rename(parts[d][i])
            r = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
            n = len(parts[d][i].read_text().splitlines())
            assert (r.mode, r.files, r.rows_read, r.rows_loaded) == ("appended", 1, n, n), r.summary()
            assert r.mart_dates[0] == d and "appended files=1" in r.summary()
    # the last third of each date holds its sessions that cross midnight: the next date's marts were recomputed
    assert r.mart_dates == [days[1], days[1] + dt.timedelta(days=1)]
    again = warehouse.load_sessions(conn, wh, days[0], _sources(postgres, tmp_path, days[0]), append=True)
    assert (again.mode, again.files, again.rows_read, again.mart_dates) == ("unchanged", 0, 0, [])
    got = snapshot(conn, wh)
    assert got == _whole(postgres, tmp_path, wh_whole, conn_whole, days)
    assert [r[:3] for r in sorted(got[warehouse.LEDGER_TABLE])] == [
        ("sessions", d, str(p)) for d in days for p in parts[d]
    ]
    for mart in ("mart_daily", "mart_hourly", "mart_channel_daily", "mart_duration_hist"):
        # the marts of a date depend on the sessions that reach it: those of the two dates loaded equal the
        # reference's (computed over every date)
        want = [r for r in expected(reference, mart) if r[0] <= days[1]]
        assert [r for r in fetch(conn, wh, mart) if r[0] <= days[1]] == want, mart


def test_a_rewritten_removed_or_repeated_file_reloads_the_date_whole(postgres, lake, two_schemas, tmp_path):
    """A file rewritten (fewer rows), a file removed, and a new file repeating a session_id the date holds (with
    an earlier start, so that a whole load keeps the new row): each load reloads the date whole, says why, and
    leaves every table as a whole load of the same files does -- the rewritten file's dropped rows and the removed
    file's rows gone, nothing doubled."""
    _, files = lake
    (wh, conn), (wh_whole, conn_whole) = two_schemas
    d = DATES[0]
    parts = _split_lake(postgres, files, tmp_path, [d])[d]
    first = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
    assert first.mode == "whole"
    total = sum(len(p.read_text().splitlines()) for p in parts)

    lines = parts[1].read_text().splitlines(keepends=True)
    parts[1].write_text("".join(lines[:-3]))
    r = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
    assert (r.mode, r.reload_reason, r.rows_loaded) == ("whole", "1 file(s) rewritten", total - 3), r.summary()

    gone = len(parts[2].read_text().splitlines())
    parts[2].unlink()
    r = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
    assert (r.mode, r.reload_reason, r.rows_loaded) == ("whole", "1 file(s) removed", total - 3 - gone)

    sid, user, channel, start, end, duration = parts[0].read_text().splitlines()[0].split(",")
    earlier = f"{sid},{user},{channel},{d} 00:00:00,{d} 00:00:01,1\n"
    (parts[0].parent / "part-9.csv").write_text(earlier)
    r = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
    assert (r.mode, r.reload_reason, r.rejected) == ("whole", "a session_id already loaded", {"duplicate": 1})
    got = snapshot(conn, wh)
    assert got == _whole(postgres, tmp_path, wh_whole, conn_whole, [d])
    kept = [row for row in got["fact_session"] if row[0] == sid]
    assert len(kept) == 1 and kept[0][3] == dt.datetime.combine(d, dt.time(0, 0, 0)), kept
    assert len(got["fact_session"]) == total - 3 - gone


def test_cli_appends_new_files(postgres, lake, two_schemas, tmp_path, capsys):
    """scripts/load_greenplum.py --append: the first run loads the date whole, a new file is appended alone."""
    from iptv.warehouse_cli import main

    _, files = lake
    (wh, conn), _ = two_schemas
    d = DATES[0]
    parts = _split_lake(postgres, files, tmp_path, [d])[d]
    parts[2].rename(tmp_path / "later.csv")
    args = ["--local-root", str(tmp_path), "--schema", wh.schema, "--dt", d.isoformat(), "--append"]
    assert main(args) == 0
    assert f"dt={d} whole (no ledger for the date) files=2" in capsys.readouterr().out
    (tmp_path / "later.csv").rename(parts[2])
    assert main(args) == 0
    n = len(parts[2].read_text().splitlines())
    assert f"dt={d} appended files=1 read={n} loaded={n}" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2])
def test_sessions_added_in_many_small_files_give_the_marts_of_a_whole_load(postgres, guide_lake, seed, tmp_path):
    """With the programme guide loaded first, the sessions of two dates (midnight crossings included) arrive as
    many small files in random order, each appended alone: every mart, including the programme marts and the
    viewers counted across files, equals a whole load of the same files, table for table."""
    root, files = guide_lake
    cat = postgres.hdfs.paths.catalogs
    rng = random.Random(seed)
    days = DATES[:2]
    files_by_day: dict[dt.date, list] = {}
    for d in days:
        lines = files["sessions"][d].read_text().splitlines(keepends=True)
        rng.shuffle(lines)
        directory = tmp_path / warehouse.session_dir(postgres, d).lstrip("/")
        directory.mkdir(parents=True)
        cuts = sorted(rng.sample(range(1, len(lines)), 6))
        files_by_day[d] = [
            (directory / f"part-{i}.csv", "".join(lines[a:b]))
            for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(lines)], strict=True))
        ]
    snapshots = []
    for mode in ("append", "whole"):
        wh, conn = _new_schema(postgres, f"small_{mode}")
        try:
            warehouse.load_dims(
                conn, wh, warehouse.list_sources(postgres, cat + "/channels", root),
                warehouse.list_sources(postgres, cat + "/users", root),
            )  # fmt: skip
            for d in days:
                warehouse.load_programmes(
                    conn, wh, d, warehouse.list_sources(postgres, warehouse.programme_dir(postgres, d), root)
                )
            arrivals = [(d, path, text) for d in days for path, text in files_by_day[d]]
            rng.shuffle(arrivals)
            for d, path, text in arrivals:
                path.write_text(text)
                if mode == "append":
                    r = warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d), append=True)
                    assert r.mode in ("appended", "whole") and r.files == 1 or r.reload_reason, r.summary()
            if mode == "whole":
                for d in days:
                    warehouse.load_sessions(conn, wh, d, _sources(postgres, tmp_path, d))
            snapshots.append(snapshot(conn, wh))
            for _, path, _ in arrivals:
                path.unlink()
        finally:
            _drop(wh, conn)
    appended, whole = snapshots
    assert appended["mart_programme"] and appended["mart_genre_hourly"] and appended["watch_programme_user"]
    for table in whole:
        if table == warehouse.LEDGER_TABLE:  # the files were written twice: their modification times differ
            assert [r[:4] + r[5:] for r in appended[table]] == [r[:4] + r[5:] for r in whole[table]]
        else:
            assert appended[table] == whole[table], table


def test_marts_from_before_the_viewer_counts_are_recomputed_once_by_the_ddl(scratch, postgres, guide_lake):
    """A schema an earlier version left (marts without their exact seconds, no viewer tables or the viewers of
    hours and channels one row per pair): applying the DDL adds the tables, drops the pair tables and recomputes
    every date in the same transaction, so the marts are as a load of today's gives them and later loads can add
    to them."""
    wh, conn = scratch
    root, _ = guide_lake
    _load_all(postgres, root, wh, conn, guide_first=True)
    before = snapshot(conn, wh)
    pair_tables = {"viewer_hourly": "hour SMALLINT", "viewer_channel_daily": "channel_id BIGINT"}
    with conn, conn.cursor() as cur:
        for table in warehouse.MART_VIEWER_TABLES:
            cur.execute(f"DROP TABLE {wh.table(table)}")
        for table, column in pair_tables.items():
            cur.execute(f"CREATE TABLE {wh.table(table)} (dt DATE, {column}, user_id BIGINT)")
        for table in ("mart_daily", "mart_channel_daily", "mart_hourly", "mart_programme", "mart_genre_hourly"):
            cur.execute(f"ALTER TABLE {wh.table(table)} DROP COLUMN watch_s")
        cur.execute(f"ALTER TABLE {wh.table('mart_programme')} DROP COLUMN all_watch_s")
    warehouse.apply_ddl(conn, wh)
    assert snapshot(conn, wh) == before
    with conn, conn.cursor() as cur:
        for table in pair_tables:
            cur.execute(wh.sql("load/has_table.sql", table_name=table))
            assert cur.fetchone() is None, table
    warehouse.apply_ddl(conn, wh)  # once only: nothing to upgrade now
    assert snapshot(conn, wh) == before
