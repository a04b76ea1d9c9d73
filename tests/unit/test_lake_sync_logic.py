"""iptv.lake_sync and iptv.lake_state pure logic: fingerprints of WebHDFS listings, changed dates, state round trip."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from iptv import datasets, lake_state, lake_sync, warehouse
from iptv.config import REPO_ROOT, Config
from iptv.hive_tables import LAKE_TABLES, MART_TABLES, HiveTables
from iptv.warehouse.sources import csv_records

pytestmark = pytest.mark.unit


def st(length: int, mtime: int, kind: str = "FILE") -> dict:
    return {"type": kind, "length": length, "modificationTime": mtime}


def test_fingerprint_ignores_hidden_files_and_order():
    a = lake_sync.fingerprint([("part-1.csv", st(10, 1)), ("part-2.csv", st(20, 2))])
    b = lake_sync.fingerprint([("part-2.csv", st(20, 2)), ("_SUCCESS", st(0, 3)), ("part-1.csv", st(10, 1))])
    assert a == b and a.startswith("2:30:")
    assert (
        lake_sync.fingerprint([(".part-3.csv.tmp", st(5, 4)), ("part-1.csv", st(10, 1)), ("part-2.csv", st(20, 2))])
        == a
    )


def test_fingerprint_changes_with_files():
    base = [("part-1.csv", st(10, 1))]
    fp = lake_sync.fingerprint(base)
    assert lake_sync.fingerprint(base + [("part-2.csv", st(1, 2))]) != fp  # a new file
    assert lake_sync.fingerprint([("part-1.csv", st(11, 1))]) != fp  # rewritten, other length
    assert lake_sync.fingerprint([("part-1.csv", st(10, 9))]) != fp  # rewritten, same length


def test_empty_directory_counts_as_absent():
    assert lake_sync.fingerprint([]) is None
    assert lake_sync.fingerprint([("_SUCCESS", st(0, 1)), ("sub", st(0, 1, "DIRECTORY"))]) is None


def test_keys_round_trip():
    key = lake_sync.partition_key("sessions", dt.date(2026, 3, 2))
    assert key == "sessions/dt=2026-03-02"
    assert lake_sync.parse_key(key) == ("sessions", dt.date(2026, 3, 2))
    assert lake_sync.parse_key("catalogs/users") == ("catalogs/users", None)
    assert lake_sync.parse_key("sessions/dt=2026-13-40") == ("sessions/dt=2026-13-40", None)


def test_first_sync_changes_everything():
    current = {
        "sessions/dt=2026-03-03": "a",
        "sessions/dt=2026-03-02": "b",
        "viewing_events/dt=2026-03-04": "c",
        "catalogs/users": "u",
    }
    ch = lake_sync.detect_changes(current, {})
    assert ch.dates == [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)]
    assert ch.session_dates == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    assert ch.catalogs
    assert ch.keys == current


def test_no_change_is_falsy():
    current = {"sessions/dt=2026-03-02": "b", "catalogs/users": "u"}
    ch = lake_sync.detect_changes(current, dict(current))
    assert not ch and ch.dates == [] and not ch.catalogs


def test_late_file_changes_only_its_date():
    state = {"sessions/dt=2026-03-02": "a", "sessions/dt=2026-03-03": "b", "quarantine/dt=2026-03-03": "q"}
    current = {**state, "sessions/dt=2026-03-02": "a2"}
    ch = lake_sync.detect_changes(current, state)
    assert ch.dates == ch.session_dates == [dt.date(2026, 3, 2)]
    assert ch.keys_of(dt.date(2026, 3, 2)) == {"sessions/dt=2026-03-02": "a2"}
    assert lake_sync.hive_dates(ch.session_dates) == [dt.date(2026, 3, 2), dt.date(2026, 3, 3)]


def test_a_guide_is_a_dated_kind_of_its_own():
    """A guide that arrives after the sessions, or a corrected one, changes its date (not the sessions)."""
    state = {"sessions/dt=2026-03-02": "a", "catalogs/users": "u"}
    ch = lake_sync.detect_changes({**state, "programmes/dt=2026-03-02": "g"}, state)
    assert ch.dates == ch.programme_dates == [dt.date(2026, 3, 2)] and ch.session_dates == [] and not ch.catalogs
    assert lake_sync.parse_key("programmes/dt=2026-03-02") == ("programmes", dt.date(2026, 3, 2))
    synced = lake_sync.apply_keys(state, ch.keys)
    assert lake_sync.synced_programme_dates(synced) == [dt.date(2026, 3, 2)]
    corrected = lake_sync.detect_changes({**synced, "programmes/dt=2026-03-02": "g2"}, synced)
    assert corrected.keys == {"programmes/dt=2026-03-02": "g2"} and corrected.programme_dates == [dt.date(2026, 3, 2)]
    removed = lake_sync.detect_changes(state, synced)
    assert removed.keys == {"programmes/dt=2026-03-02": None}  # the date's guide is unloaded
    assert not lake_sync.detect_changes(dict(synced), synced)


class RecordingTables:
    """Hive tables that record what the sync asks of them into ``calls``."""

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def register(self, cur, day):
        self.calls.append(("register", day.isoformat()))

    def recompute_marts(self, cur, days, marts=None):
        self.calls.extend(("hive marts", day.isoformat()) for day in days)


def fake_engines(monkeypatch, calls: list, lake, lock_error: Exception | None = None) -> None:
    """The sync's engines replaced: Hive by :class:`RecordingTables`, no warehouse connection, ``lake``; taking
    and releasing the sync lock recorded in ``calls`` (taking it raises ``lock_error`` if given)."""

    def lock(self, targets=lake_sync.TARGETS) -> None:
        calls.append(("lock",) if targets == lake_sync.TARGETS else ("lock", *targets))
        if lock_error is not None:
            raise lock_error

    monkeypatch.setattr(lake_sync.Engines, "hive", lambda self: (None, RecordingTables(calls)))
    monkeypatch.setattr(lake_sync.Engines, "warehouse", lambda self: (None, None))
    monkeypatch.setattr(lake_sync.Engines, "lake", lambda self: lake)
    monkeypatch.setattr(lake_sync.Engines, "lock", lock)
    monkeypatch.setattr(lake_sync.Engines, "release", lambda self: calls.append(("release",)))


class GuideAndSessionsLake:
    """A lake whose every date has a guide file and a sessions file."""

    def programme_sources(self, day):
        return [f"guide {day}"]

    def session_sources(self, day):
        return [f"sessions {day}"]


def test_sync_loads_the_guide_before_the_sessions_of_a_date(monkeypatch):
    """Guide and sessions of one date changed: the guide loads first with its marts (recomputed from the facts
    loaded), then the sessions are added; a guide-only date recomputes its programme marts and no Hive mart."""
    calls = []

    def fake_programmes(conn, wh, day, sources, *, recompute=True):
        calls.append(("guide", day.isoformat(), recompute))
        return warehouse.ProgrammeLoadResult(dt=day, rows_read=3, programmes=2, rejected={"overlap": 1}, gaps=1)

    def fake_sessions(conn, wh, day, sources, *, append):
        assert append  # the sync appends new files (the ledger decides)
        calls.append(("sessions", day.isoformat()))
        return warehouse.LoadResult(dt=day, rows_read=1, rows_loaded=1)

    fake_engines(monkeypatch, calls, GuideAndSessionsLake())
    monkeypatch.setattr(lake_sync, "load_programmes", fake_programmes)
    monkeypatch.setattr(lake_sync, "load_sessions", fake_sessions)
    listing = {"sessions/dt=2026-03-02": "s", "programmes/dt=2026-03-02": "g", "programmes/dt=2026-03-05": "g5"}
    res, state = lake_sync.sync(Config(), {}, listing=listing)
    assert res.errors == [] and state == listing and res.dates == ["2026-03-02", "2026-03-05"]
    assert calls == [
        ("lock",),
        ("register", "2026-03-02"),
        ("register", "2026-03-05"),
        ("guide", "2026-03-02", True),
        ("sessions", "2026-03-02"),
        ("hive marts", "2026-03-02"),
        ("hive marts", "2026-03-03"),
        ("guide", "2026-03-05", True),
        ("release",),
    ]
    assert res.programmes_loaded == 4 and res.programmes_rejected == {"overlap": 2, "gap": 2}
    assert res.hive_dates == ["2026-03-02", "2026-03-03"]
    assert "programmes=4 (overlap=2, gap=2)" in res.summary()


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (("warehouse",), [("lock", "warehouse"), ("guide", "2026-03-02", True), ("sessions", "2026-03-02"),
                          ("release",)]),
        (("hive",), [("lock", "hive"), ("register", "2026-03-02"), ("hive marts", "2026-03-02"),
                     ("hive marts", "2026-03-03"), ("release",)]),
    ],
)  # fmt: skip
def test_a_sync_of_one_target_leaves_the_other_alone(monkeypatch, targets, expected):
    """SyncWarehouse runs as two processors, one per target: the warehouse one loads the guide and appends the
    sessions without touching Hive; the Hive one registers the partitions and recomputes the Hive marts only.
    Each takes its own target's lock and advances its own state over the whole date."""
    calls = []

    def fake_programmes(conn, wh, day, sources, *, recompute=True):
        calls.append(("guide", day.isoformat(), recompute))
        return warehouse.ProgrammeLoadResult(dt=day)

    def fake_sessions(conn, wh, day, sources, *, append):
        calls.append(("sessions", day.isoformat()))
        return warehouse.LoadResult(dt=day)

    fake_engines(monkeypatch, calls, GuideAndSessionsLake())
    monkeypatch.setattr(lake_sync, "load_programmes", fake_programmes)
    monkeypatch.setattr(lake_sync, "load_sessions", fake_sessions)
    listing = {"sessions/dt=2026-03-02": "s", "programmes/dt=2026-03-02": "g"}
    res, state = lake_sync.sync(Config(), {}, listing=listing, targets=targets)
    assert res.errors == [] and state == listing and res.dates == ["2026-03-02"]
    assert calls == expected
    with pytest.raises(ValueError, match="sync targets"):
        lake_sync.sync(Config(), {}, listing=listing, targets=("spark",))


def test_raw_or_quarantine_only_is_not_a_session_change():
    state = {"sessions/dt=2026-03-02": "a"}
    ch = lake_sync.detect_changes({**state, "quarantine/dt=2026-03-05": "q"}, state)
    assert ch.dates == ch.quarantine_dates == [dt.date(2026, 3, 5)] and ch.session_dates == []
    raw = lake_sync.detect_changes({**state, "viewing_events/dt=2026-03-05": "v"}, state)
    assert raw.dates == [dt.date(2026, 3, 5)] and raw.quarantine_dates == raw.session_dates == []
    gone = lake_sync.detect_changes(state, {**state, "quarantine/dt=2026-03-04": "q"})
    assert gone.quarantine_dates == [dt.date(2026, 3, 4)]  # its files removed: the date is reloaded empty


def test_sync_counts_a_changed_quarantine_and_an_emptied_one(monkeypatch):
    """Quarantine changed on two dates (one of them now gone from the lake): each is loaded once, the gone one
    with no sources; nothing else is loaded and no Hive mart is recomputed."""
    calls = []

    class FakeLake:
        def quarantine_sources(self, day):
            if day == dt.date(2026, 3, 3):
                raise warehouse.LoadError("no directory")
            return [f"quarantine {day}"]

    def fake_quarantine(conn, wh, day, sources):
        calls.append(("quarantine", day.isoformat(), sources))
        return warehouse.QuarantineLoadResult(dt=day, files=len(sources), events={"invalid_json": 2} if sources else {})

    fake_engines(monkeypatch, calls, FakeLake())
    monkeypatch.setattr(lake_sync, "load_quarantine", fake_quarantine)
    state = {"sessions/dt=2026-03-02": "s", "quarantine/dt=2026-03-03": "q3"}
    listing = {"sessions/dt=2026-03-02": "s", "quarantine/dt=2026-03-02": "q2"}
    res, new_state = lake_sync.sync(Config(), state, listing=listing)
    assert res.errors == [] and new_state == listing and res.dates == ["2026-03-02", "2026-03-03"]
    assert calls == [
        ("lock",),
        ("register", "2026-03-02"),
        ("register", "2026-03-03"),
        ("quarantine", "2026-03-02", ["quarantine 2026-03-02"]),
        ("quarantine", "2026-03-03", []),
        ("release",),
    ]
    assert res.quarantined == {"invalid_json": 2} and res.hive_dates == [] and res.rows_read == 0
    assert "quarantined=2 " in res.summary() and res.loads[1] == "quarantine dt=2026-03-03 files=0 events=0 0.0s"


def test_removed_directory_is_a_change():
    state = {"sessions/dt=2026-03-02": "a", "sessions/dt=2026-03-03": "b"}
    ch = lake_sync.detect_changes({"sessions/dt=2026-03-03": "b"}, state)
    assert ch.session_dates == [dt.date(2026, 3, 2)]
    assert ch.keys == {"sessions/dt=2026-03-02": None}
    assert lake_sync.apply_keys(state, ch.keys) == {"sessions/dt=2026-03-03": "b"}


def test_state_round_trip_json_and_string_map():
    state = lake_sync.apply_keys({}, {"sessions/dt=2026-03-02": "1:10:abc", "catalogs/users": "1:5:def"})
    assert json.loads(json.dumps(state)) == state
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in state.items())  # a NiFi state map
    assert not lake_sync.detect_changes(dict(state), json.loads(json.dumps(state)))
    assert lake_sync.synced_session_dates(state) == [dt.date(2026, 3, 2)]


def test_hive_dates_merges_neighbours():
    days = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 9)]
    assert lake_sync.hive_dates(days) == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 9),
        dt.date(2026, 3, 10),
    ]


def test_idle_sync_touches_no_engine():
    state = {"sessions/dt=2026-03-02": "a"}
    res, new = lake_sync.sync(Config(), state, listing=dict(state))
    assert res.idle and new == state and "nothing changed" in res.summary()


def test_sync_that_cannot_take_the_lock_syncs_nothing(monkeypatch):
    """Another sync of the schema holding the lock past the timeout (or PostgreSQL down): one error naming the
    lock and its cause, no engine touched, no date counted as synced (all retried next run)."""
    calls = []
    fake_engines(monkeypatch, calls, None, lock_error=lake_sync.SyncLockTimeoutError("held for over 600s"))
    state = {"sessions/dt=2026-03-02": "s"}
    listing = {"sessions/dt=2026-03-02": "s2", "sessions/dt=2026-03-03": "s3", "catalogs/users": "u"}
    res, new_state = lake_sync.sync(Config(), state, schema="iptv_dw_x", listing=listing)
    assert calls == [("lock",)]
    assert new_state == state and res.dates == [] and not res.dims and not res.idle
    assert res.errors == [
        "sync lock of iptv_dw_x (nothing synced, retried next run): SyncLockTimeoutError: held for over 600s"
    ]
    assert "errors=1" in res.summary()


def test_failed_steps_keep_the_lock_until_the_end(monkeypatch):
    """A failing date closes the Hive and warehouse connections (the next step reconnects) but not the lock: it
    is released once, after the last date."""
    calls = []
    fake_engines(monkeypatch, calls, None)
    monkeypatch.setattr(lake_sync.Engines, "close", lambda self: calls.append(("close",)))

    def failing_sessions(conn, wh, day, sources):
        raise RuntimeError("warehouse gone")

    monkeypatch.setattr(lake_sync, "load_sessions", failing_sessions)

    class FakeLake:
        def session_sources(self, day):
            return []

    monkeypatch.setattr(lake_sync.Engines, "lake", lambda self: FakeLake())
    listing = {"sessions/dt=2026-03-02": "a", "sessions/dt=2026-03-03": "b"}
    res, new_state = lake_sync.sync(Config(), {}, listing=listing)
    assert new_state == {} and len(res.errors) == 2
    assert [c for c in calls if c[0] in ("lock", "release")] == [("lock",), ("release",)]
    assert calls[-2:] == [("close",), ("release",)] and calls.count(("close",)) == 3


def test_listing_failure_is_reported_not_raised(monkeypatch):
    def boom(files, cache=None):
        raise ConnectionError("namenode down")

    monkeypatch.setattr(lake_sync, "lake_listing", boom)
    monkeypatch.setattr(lake_sync.LakeFiles, "from_config", classmethod(lambda cls, cfg: cls({})))
    res, new = lake_sync.sync(Config(), {"k": "v"})
    assert new == {"k": "v"} and res.errors and "namenode down" in res.errors[0]


def test_mart_statement_overwrites_the_partition_of_the_same_named_mart():
    tables = HiveTables("db1", {t: f"hdfs://nn/lake/{t}" for t in LAKE_TABLES})
    sql = tables.mart_statement("daily", dt.date(2026, 3, 2))
    assert sql.startswith("INSERT OVERWRITE TABLE `db1`.mart_daily PARTITION (dt = '2026-03-02')")
    assert "FROM `db1`.v_sessions" in sql and "dt >= '2026-03-01'" in sql and "{{" not in sql and "--" not in sql
    assert set(MART_TABLES.values()) <= set(warehouse.MART_TABLES)  # one name per mart in Hive and Greenplum


class StatementLog:
    """A DB-API cursor that records the statements it is given and fails the one containing ``fail_on``."""

    description = None

    def __init__(self, fail_on: str | None = None) -> None:
        self.statements: list[str] = []
        self.fail_on = fail_on

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if self.fail_on and self.fail_on in sql:
            raise RuntimeError("Spark job failed")


def test_marts_of_several_dates_read_the_sessions_parsed_once_and_free_them():
    tables = HiveTables("db1", {t: f"hdfs://nn/lake/{t}" for t in LAKE_TABLES})
    cur = StatementLog()
    tables.recompute_marts(cur, [dt.date(2026, 3, 3), dt.date(2026, 3, 2)])
    first, *marts, uncache, drop = cur.statements
    assert first.startswith("CACHE TABLE `mart_sessions` OPTIONS ('storageLevel' 'MEMORY_AND_DISK') AS")
    # the day before the first date only for its sessions running into it; both dates whole
    assert "dt >= '2026-03-01' AND dt <= '2026-03-03'" in first and "datediff('2026-03-02'" in first
    assert "FROM `db1`.v_sessions" in first
    assert [m.split(" PARTITION")[0].split(".")[-1] + m.split("dt = ")[1][:12] for m in marts] == [
        f"{table}'{day}'" for day in ("2026-03-02", "2026-03-03") for table in MART_TABLES.values()
    ]
    assert all("FROM `mart_sessions`" in m and "v_sessions" not in m for m in marts)
    assert (uncache, drop) == ("UNCACHE TABLE IF EXISTS `mart_sessions`", "DROP VIEW IF EXISTS `mart_sessions`")


def test_a_failed_mart_still_frees_the_cached_sessions_and_fails_the_recompute():
    tables = HiveTables("db1", {t: f"hdfs://nn/lake/{t}" for t in LAKE_TABLES})
    cur = StatementLog(fail_on="mart_hourly")
    with pytest.raises(RuntimeError, match="Spark job failed"):
        tables.recompute_marts(cur, [dt.date(2026, 3, 2)])
    assert cur.statements[-2:] == ["UNCACHE TABLE IF EXISTS `mart_sessions`", "DROP VIEW IF EXISTS `mart_sessions`"]
    assert not any("mart_duration_hist" in s for s in cur.statements)  # stopped at the failure


def test_one_mart_of_one_date_reads_the_lake_directly():
    tables = HiveTables("db1", {t: f"hdfs://nn/lake/{t}" for t in LAKE_TABLES})
    cur = StatementLog()
    tables.recompute_marts(cur, [dt.date(2026, 3, 2)], ("channel_daily",))
    (stmt,) = cur.statements
    assert stmt.startswith("INSERT OVERWRITE TABLE `db1`.mart_channel_daily") and "FROM `db1`.v_sessions" in stmt


def test_catalog_records_split_with_the_contract_width():
    """The warehouse stages the producer's catalogs as they are (no trimming): the csv split gives the contract's
    columns, quoted names with commas and doubled quotes intact, and the first line of every record."""
    from iptv.catalogs import USER_COLUMNS

    producer_users = (
        '1,"Сазонов, Никандр",M,1982-01-29,Бавлы,2022-11-01\n2,"A ""B"" C",F,1980-02-15,Пинега,2020-05-26\n'
    )
    recs = list(csv_records(producer_users))
    assert [r[0] for r in recs] == [1, 2]
    assert [len(r[2]) for r in recs] == [len(USER_COLUMNS)] * 2
    assert recs[0][2][1] == "Сазонов, Никандр" and recs[1][2][1] == 'A "B" C'
    assert recs[1][1] == '2,"A ""B"" C",F,1980-02-15,Пинега,2020-05-26'


def test_session_records_keep_line_numbers_and_raw_text():
    text = 'a,b\n\n"x\ny",2\r\nlast'
    assert list(csv_records(text)) == [(1, "a,b", ["a", "b"]), (3, '"x\ny",2', ["x\ny", "2"]), (5, "last", ["last"])]


def test_one_line_records_are_physical_lines():
    """A dataset written with escaped line breaks (the quarantine): an unbalanced quote spoils its own line
    only, a lone CR ends a line as LF and CRLF do (as Hive reads the file), a field may pass 128 KiB."""
    text = 'bad,"open\nnext,1\r\n\nlone,cr\rq,"a ""b"", c"\n' + "long," + "x" * 200_000 + "\n"
    recs = list(csv_records(text, one_line=True))
    assert [(n, f) for n, _, f in recs[:5]] == [
        (1, ["bad", "open"]), (2, ["next", "1"]), (4, ["lone", "cr"]), (5, ["q", 'a "b", c']),
        (6, ["long", "x" * 200_000]),
    ]  # fmt: skip
    assert recs[0][1] == 'bad,"open' and len(recs) == 5
    assert len(list(csv_records('bad,"open\nnext,1\n'))) == 1  # the multi-line split: the quote runs on
    assert next(csv_records("y," + "y" * 200_000))[2] is None  # the multi-line split keeps the csv module's limit


SIMPLE_TEXTS = [
    "a,b,c,d,e,f\n",
    "a,b,c,d,e,f",  # no line break at the end
    "a,b,c,d,e,f\n\n\nshort,row\n  \n,,,,,\n\\.\n",  # empty lines, blanks only, empty fields, COPY's marker
    "x,\u00e9\ufffd\t,\\N,1,2,3,4\na,b,c,d,e,f\n",  # 7 fields, tab, backslashes, non-ASCII
    "y," + "y" * 200_000 + "\n",  # a field over the csv module's limit: its split only
    'q,"quoted",c,d,e,f\n',  # a quote: the csv module's split only
    "a,b,c,d,e,f\r\n",  # a carriage return: the csv module's split only
]


@pytest.mark.parametrize("text", SIMPLE_TEXTS)
@pytest.mark.parametrize("one_line", [False, True])
def test_the_simple_split_stages_the_lines_of_the_csv_module_or_declines(text, one_line):
    """The str.split staging of a text without quotes or carriage returns renders, byte for byte, what the csv
    module's split renders; any other text it declines (None)."""
    from iptv.warehouse.staging import csv_lines, simple_staging_lines, staging_rows

    simple = simple_staging_lines(text, 'dir/f"1.csv', 6, one_line=one_line)
    declines = '"' in text or "\r" in text or (not one_line and len(text) > 128 * 1024)
    assert (simple is None) == declines
    if simple is not None:
        assert "".join(simple.raw) == "".join(csv_lines(staging_rows(text, 'dir/f"1.csv', 6, one_line=one_line)))
        assert simple.typed == []


SID = "0123456789abcdef0123456789abcdef"
TS = "2026-03-02 10:00:00,2026-03-02 10:00:05"
#: Sessions records and whether each is canonical (staged typed): every field of the shape its check in
#: load/validate_sessions.sql wants, without leading zeros, and real timestamps.
CANONICAL_CASES = [
    (f"{SID},1,7,{TS},5", True),
    (f"{SID.upper()},0,999999999999999999,{TS},0", True),  # upper-case hex; 0; 18 digits
    (f"{SID},1,7,2024-02-29 23:59:59,0001-01-01 00:00:00,5", True),  # a leap day; year 1 (only later checks fail)
    (f"{SID},1,7,2026-03-02 10:00:05,2026-03-02 10:00:00,5", True),  # end before start: a check between fields
    (f"{SID},007,7,{TS},5", False),  # a leading zero: its text is not the integer's
    (f"{SID},1,7,{TS},05", False),
    (f"{SID},1,1234567890123456789,{TS},5", False),  # 19 digits
    (f"{SID},1,7,{TS},-5", False),
    (f"{SID},1,7,{TS},", False),  # no duration (derived in SQL)
    (f"{SID[:-1]},1,7,{TS},5", False),  # 31 hex digits
    (f"{SID[:-1]}g,1,7,{TS},5", False),
    (f" {SID},1,7,{TS},5", False),  # blanks are trimmed by the text path
    (f"{SID},1,\u0667,{TS},5", False),  # an Arabic-Indic digit: not [0-9]
    (f"{SID},1,7,2026-02-30 10:00:00,2026-03-02 10:00:05,5", False),  # 30 February
    (f"{SID},1,7,2025-02-29 10:00:00,2026-03-02 10:00:05,5", False),  # 29 February of a common year
    (f"{SID},1,7,2026-03-02 24:00:00,2026-03-02 10:00:05,5", False),
    (f"{SID},1,7,2026-03-02 10:00:60,2026-03-02 10:00:05,5", False),
    (f"{SID},1,7,0000-03-02 10:00:00,2026-03-02 10:00:05,5", False),
    (f"{SID},1,7,2026-03-02T10:00:00,2026-03-02 10:00:05,5", False),
    (f"{SID},1,7,{TS},5,extra", False),
]


@pytest.mark.parametrize(("line", "canonical"), CANONICAL_CASES)
def test_a_sessions_record_is_canonical_only_when_every_field_has_its_checked_shape(line, canonical):
    from iptv.warehouse.staging import CanonicalSessionRecord

    check = CanonicalSessionRecord()
    assert check(line) is canonical
    assert check(line) is canonical  # its timestamps' verdicts cached


def test_the_canonical_records_of_a_text_are_staged_typed_and_the_others_as_text():
    """With the canonical check, its records become typed lines (file, line number, the record as it is); every
    other record is staged as text exactly as without it, under its own line number."""
    from iptv.warehouse.staging import CanonicalSessionRecord, csv_lines, simple_staging_lines, staging_rows

    lines = [line for line, _ in CANONICAL_CASES]
    text = "\n".join(lines[:3] + [""] + lines[3:]) + "\n"  # an empty line: skipped, but counted
    numbered = [(n if n < 4 else n + 1, line, ok) for n, (line, ok) in enumerate(CANONICAL_CASES, start=1)]
    staged = simple_staging_lines(text, "f.csv", 6, typed=CanonicalSessionRecord())
    assert staged is not None
    assert staged.typed == [f'"f.csv","{n}",{line}\n' for n, line, ok in numbered if ok]
    others = "\n".join(line if not ok else "" for _, line, ok in numbered[:3]) + "\n\n"
    others += "\n".join(line if not ok else "" for _, line, ok in numbered[3:]) + "\n"
    assert "".join(staged.raw) == "".join(csv_lines(staging_rows(others, "f.csv", 6)))


# ------------------------------------------------------------------ NiFi processor SyncWarehouse (fake nifiapi)


class _Prop:
    def __init__(self, value):
        self.value = value

    def getValue(self):
        return self.value


class _Descriptor:
    def __init__(self, name, description="", required=False, default_value=None, validators=None, **more):
        self.name, self.default_value = name, default_value


class _StateMap:
    def __init__(self, data):
        self.data = data

    def toMap(self):
        return dict(self.data)


class _StateManager:
    def __init__(self):
        self.store: dict = {}
        self.saves = 0

    def getState(self, scope):
        return _StateMap(self.store.get(scope, {}))

    def setState(self, data, scope):
        self.store[scope] = dict(data)
        self.saves += 1


class _Context:
    def __init__(self, props):
        self.props = props
        self.sm = _StateManager()

    def getProperty(self, d):
        return _Prop(self.props.get(d.name, d.default_value))

    def getStateManager(self):
        return self.sm


@pytest.fixture
def processor_module(monkeypatch):
    import importlib
    import sys
    import types

    ns = types.SimpleNamespace
    fakes = {
        "nifiapi": types.ModuleType("nifiapi"),
        "nifiapi.componentstate": ns(Scope=ns(LOCAL="LOCAL", CLUSTER="CLUSTER")),
        "nifiapi.properties": ns(PropertyDescriptor=_Descriptor, StandardValidators=ns(NON_EMPTY_VALIDATOR=1)),
        "nifiapi.flowfilesource": ns(
            FlowFileSource=type("FlowFileSource", (), {"logger": None}),
            FlowFileSourceResult=lambda **kw: ns(**kw),
        ),
        "nifiapi.relationship": ns(Relationship=lambda name, description: ns(name=name)),
    }
    for name, mod in fakes.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.delitem(sys.modules, "iptv_warehouse.SyncWarehouse", raising=False)
    return importlib.import_module("iptv_warehouse.SyncWarehouse")


def test_processor_defaults_point_at_this_repository(processor_module):
    assert processor_module.DEFAULT_ROOT == str(REPO_ROOT)
    proc = processor_module.SyncWarehouse()
    assert [d.name for d in proc.getPropertyDescriptors()] == [
        "Project Root",
        "Config File",
        "Warehouse Schema",
        "Sync Targets",
    ]
    assert [r.name for r in proc.getRelationships()] == ["success", "failure"]
    deps = " ".join(processor_module.SyncWarehouse.ProcessorDetails.dependencies).lower()
    for pkg in ("pyhive", "thrift", "thrift-sasl", "pure-sasl", "psycopg2-binary", "hdfs", "pyyaml", "requests"):
        assert pkg in deps


def test_processor_syncs_with_nifi_state(processor_module, monkeypatch):
    calls = []
    caches: set[int] = set()

    def fake_sync(cfg, state, *, schema, cache, targets):
        assert targets == ("warehouse",)
        caches.add(id(cache))
        calls.append((dict(state), schema))
        if state:
            return lake_sync.SyncResult(), dict(state)  # idle
        res = lake_sync.SyncResult(dates=["2026-03-02"], hive_dates=["2026-03-02", "2026-03-03"], rows_loaded=5)
        return res, {"sessions/dt=2026-03-02": "1:10:abc"}

    monkeypatch.setattr(lake_sync, "sync", fake_sync)
    ctx = _Context({"Config File": "config/local.yaml", "Warehouse Schema": "iptv_dw_x", "Sync Targets": "warehouse"})
    proc = processor_module.SyncWarehouse()
    out = proc.create(ctx)
    assert out.relationship == "success"
    body = json.loads(out.contents)
    assert body["dates"] == ["2026-03-02"] and body["rows_loaded"] == 5 and body["synced_keys"] == 1
    assert out.attributes["iptv.sync.dates"] == "2026-03-02"
    assert ctx.sm.store["LOCAL"] == {"sessions/dt=2026-03-02": "1:10:abc"}
    assert proc.create(ctx) is None  # idle: nothing emitted, state not rewritten
    assert ctx.sm.saves == 1
    assert calls == [({}, "iptv_dw_x"), ({"sessions/dt=2026-03-02": "1:10:abc"}, "iptv_dw_x")]
    assert len(caches) == 1 and proc.listing_cache is not None  # one listing cache across the runs


def test_processor_routes_errors_to_failure(processor_module, monkeypatch):
    monkeypatch.setattr(
        lake_sync,
        "sync",
        lambda cfg, state, *, schema, cache, targets: (lake_sync.SyncResult(errors=["2026-03-02: boom"]), {}),
    )
    out = processor_module.SyncWarehouse().create(_Context({}))
    assert out.relationship == "failure" and out.attributes["iptv.sync.errors"] == "1"


def test_processor_keeps_state_in_memory_when_nifi_cannot_save(processor_module, monkeypatch):
    seen = []

    def fake_sync(cfg, state, *, schema, cache, targets):
        seen.append(dict(state))
        return (
            (lake_sync.SyncResult(), dict(state)) if state else (lake_sync.SyncResult(dates=["2026-03-02"]), {"k": "v"})
        )

    monkeypatch.setattr(lake_sync, "sync", fake_sync)
    ctx = _Context({})
    broken = ctx.sm.setState

    def failing(data, scope):
        raise RuntimeError("Cannot update journal file")

    ctx.sm.setState = failing
    proc = processor_module.SyncWarehouse()
    out = proc.create(ctx)
    assert out.relationship == "failure" and "state not saved" in json.loads(out.contents)["errors"][0]
    assert proc.create(ctx) is None  # idle and still failing: logged, nothing emitted
    ctx.sm.setState = broken  # NiFi recovered: the idle run saves the remembered state, emits nothing
    assert proc.create(ctx) is None
    assert seen == [{}, {"k": "v"}, {"k": "v"}] and ctx.sm.store["LOCAL"] == {"k": "v"}


def test_listing_cache_skips_only_settled_unchanged_directories():
    cache = lake_state.ListingCache()
    d = "/data/iptv/sessions/dt=2026-03-02"
    assert cache.get(d, 1_000_000) == (False, None)  # never listed
    cache.put(d, 1_000_000, "2:30:ab", listed_at=1_000.0 + lake_state.SETTLED_S + 1)
    assert cache.get(d, 1_000_000) == (True, "2:30:ab")
    assert cache.get(d, 1_000_001) == (False, None)  # a file created, renamed or deleted inside
    # listed too soon after its last change: a change in the same millisecond would not have moved the time
    cache.put(d, 1_000_000, "2:30:ab", listed_at=1_000.0 + lake_state.SETTLED_S - 1)
    assert cache.get(d, 1_000_000) == (False, None)
    cache.put(d, 1_000_000, None, listed_at=2_000.0)  # an empty directory is remembered as empty
    assert cache.get(d, 1_000_000) == (True, None)


def test_lake_listing_lists_only_the_directories_that_moved():
    """With a cache, a second listing does one LISTSTATUS per dataset and catalog plus one per dt= directory
    whose modification time moved; the result equals an uncached listing."""
    old = 1_000_000  # ms: long settled
    dirs = {kind: {"dt=2026-03-02": old, "dt=2026-03-03": old} for kind in lake_state.KINDS}
    calls: list[str] = []

    class Client:
        def list(self, path, status=True):
            calls.append(path)
            for kind, days in dirs.items():
                base = datasets.DATASETS[kind].directory(paths)
                if path == base:
                    return [(name, st(0, mtime, "DIRECTORY")) for name, mtime in days.items()]
                for name, mtime in days.items():
                    if path == f"{base}/{name}":
                        return [("part-1.csv", st(10 + mtime % 7, mtime))]
            return [("users.csv", st(5, 1))]

    paths = Config().hdfs.paths.as_dict()
    files = warehouse.LakeFiles(paths, client=Client())
    cache = lake_state.ListingCache()
    first = lake_sync.lake_listing(files, cache)
    n_first = len(calls)
    calls.clear()
    assert lake_sync.lake_listing(files, cache) == first
    assert len(calls) == len(lake_state.KINDS) + len(lake_state.CATALOGS) < n_first
    calls.clear()
    dirs["sessions"]["dt=2026-03-03"] = old + 5
    again = lake_sync.lake_listing(files, cache)
    sessions_dir = datasets.SESSIONS.directory(paths) + "/dt=2026-03-03"
    assert calls.count(sessions_dir) == 1 and len(calls) == len(lake_state.KINDS) + len(lake_state.CATALOGS) + 1
    assert again == lake_sync.lake_listing(files) and again != first
