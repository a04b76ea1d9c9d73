"""iptv.lake_sync pure logic: fingerprints from WebHDFS listings, changed-date detection, state round trip."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from iptv import lake_sync as L

pytestmark = pytest.mark.unit


def st(length: int, mtime: int, kind: str = "FILE") -> dict:
    return {"type": kind, "length": length, "modificationTime": mtime}


def test_fingerprint_ignores_hidden_files_and_order():
    a = L.fingerprint([("part-1.csv", st(10, 1)), ("part-2.csv", st(20, 2))])
    b = L.fingerprint([("part-2.csv", st(20, 2)), ("_SUCCESS", st(0, 3)), ("part-1.csv", st(10, 1))])
    assert a == b and a.startswith("2:30:")
    assert L.fingerprint([(".part-3.csv.tmp", st(5, 4)), ("part-1.csv", st(10, 1)), ("part-2.csv", st(20, 2))]) == a


def test_fingerprint_changes_with_files():
    base = [("part-1.csv", st(10, 1))]
    fp = L.fingerprint(base)
    assert L.fingerprint(base + [("part-2.csv", st(1, 2))]) != fp  # a new file
    assert L.fingerprint([("part-1.csv", st(11, 1))]) != fp  # rewritten, other length
    assert L.fingerprint([("part-1.csv", st(10, 9))]) != fp  # rewritten, same length


def test_empty_directory_counts_as_absent():
    assert L.fingerprint([]) is None
    assert L.fingerprint([("_SUCCESS", st(0, 1)), ("sub", st(0, 1, "DIRECTORY"))]) is None


def test_keys_round_trip():
    key = L.partition_key("sessions", dt.date(2026, 3, 2))
    assert key == "sessions/dt=2026-03-02"
    assert L.parse_key(key) == ("sessions", dt.date(2026, 3, 2))
    assert L.parse_key("catalogs/users") == ("catalogs/users", None)
    assert L.parse_key("sessions/dt=2026-13-40") == ("sessions/dt=2026-13-40", None)


def test_first_sync_changes_everything():
    current = {
        "sessions/dt=2026-03-03": "a",
        "sessions/dt=2026-03-02": "b",
        "raw_events/dt=2026-03-04": "c",
        "catalogs/users": "u",
    }
    ch = L.detect_changes(current, {})
    assert ch.dates == [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)]
    assert ch.session_dates == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    assert ch.catalogs
    assert ch.keys == current


def test_no_change_is_falsy():
    current = {"sessions/dt=2026-03-02": "b", "catalogs/users": "u"}
    ch = L.detect_changes(current, dict(current))
    assert not ch and ch.dates == [] and not ch.catalogs


def test_late_file_changes_only_its_date():
    state = {"sessions/dt=2026-03-02": "a", "sessions/dt=2026-03-03": "b", "quarantine/dt=2026-03-03": "q"}
    current = {**state, "sessions/dt=2026-03-02": "a2"}
    ch = L.detect_changes(current, state)
    assert ch.dates == ch.session_dates == [dt.date(2026, 3, 2)]
    assert ch.keys_of(dt.date(2026, 3, 2)) == {"sessions/dt=2026-03-02": "a2"}
    assert L.hive_dates(ch.session_dates) == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]


def test_raw_or_quarantine_only_is_not_a_session_change():
    state = {"sessions/dt=2026-03-02": "a"}
    ch = L.detect_changes({**state, "quarantine/dt=2026-03-05": "q"}, state)
    assert ch.dates == [dt.date(2026, 3, 5)] and ch.session_dates == []


def test_removed_directory_is_a_change():
    state = {"sessions/dt=2026-03-02": "a", "sessions/dt=2026-03-03": "b"}
    ch = L.detect_changes({"sessions/dt=2026-03-03": "b"}, state)
    assert ch.session_dates == [dt.date(2026, 3, 2)]
    assert ch.keys == {"sessions/dt=2026-03-02": None}
    assert L.apply_keys(state, ch.keys) == {"sessions/dt=2026-03-03": "b"}


def test_state_round_trip_json_and_string_map():
    state = L.apply_keys({}, {"sessions/dt=2026-03-02": "1:10:abc", "catalogs/users": "1:5:def"})
    assert json.loads(json.dumps(state)) == state
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in state.items())  # a NiFi state map
    assert not L.detect_changes(dict(state), json.loads(json.dumps(state)))
    assert L.synced_session_dates(state) == [dt.date(2026, 3, 2)]


def test_hive_dates_merges_neighbours():
    days = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 9)]
    assert L.hive_dates(days) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 10),
    ]


def test_idle_sync_touches_no_engine():
    state = {"sessions/dt=2026-03-02": "a"}
    res, new = L.sync({}, state, listing=dict(state))
    assert res.idle and new == state and "nothing changed" in res.summary()


def test_listing_failure_is_reported_not_raised(monkeypatch):
    def boom(cfg):
        raise ConnectionError("namenode down")

    monkeypatch.setattr(L, "list_lake", boom)
    res, new = L.sync({}, {"k": "v"})
    assert new == {"k": "v"} and res.errors and "namenode down" in res.errors[0]


def test_aggregate_statement_wraps_the_mart_query():
    params = {"database": "db1", "dt": "2026-03-02", "min_dt": "2026-03-01"}
    sql = L.aggregate_statement("daily", params)
    assert sql.startswith("INSERT OVERWRITE TABLE db1.agg_daily PARTITION (dt = '2026-03-02')")
    assert "FROM db1.v_sessions" in sql and "${" not in sql and "--" not in sql


def test_trim_csv_keeps_the_loaded_columns():
    producer_users = (
        '1,"Сазонов, Никандр",M,1982-01-29,Бавлы,2022-11-01\n2,"A ""B"" C",F,1980-02-15,Пинега,2020-05-26\n'
    )
    data, n = L.trim_csv(producer_users.encode(), 2)
    assert n == 2
    assert data.decode() == '1,"Сазонов, Никандр"\n2,"A ""B"" C"\n'
    sample_users = b'1,"User 1, ""B."" O\'Neil"\n'
    assert L.trim_csv(sample_users, 2) == (sample_users, 1)
