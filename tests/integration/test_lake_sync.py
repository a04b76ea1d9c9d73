"""iptv.lake_sync on the real HDFS + Hive (Spark Thrift Server) + PostgreSQL: the first sync loads every date,
the Hive marts equal the Greenplum marts of the same names, an unchanged lake syncs nothing, a late file for an old
date re-syncs exactly that date (and the next), the marts then equal the DuckDB reference, and reloading a date
changes nothing. The programme guide: the first sync loads it (programme marts equal the reference, Hive's
v_programme_audience agrees with mart_programme), a corrected guide re-syncs its date alone (its bad rows
rejected by reason, the session marts unchanged). The quarantine: Greenplum's quarantine_daily equals the counts
of Hive's quarantine table per date and reason after the first sync and after a quarantine file is removed from
one date and added to another (only those dates re-sync, nothing else is loaded).

SyncWarehouse on the real NiFi: its first run syncs (marts equal the reference); with PostgreSQL or HiveServer2
stopped its runs go to failure and its state stays unadvanced until the engine is back; beside the command-line
sync on the same lake at once, the schema's sync lock serialises the two and both succeed.

Everything runs in a scratch HDFS area, a scratch Hive database and a scratch warehouse schema (removed at the
end). Few dates and small files: every Hive mart of a date is a Spark job."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import os
import random
import re
import signal
import uuid
from decimal import Decimal

import pytest
from oracle.marts import MART_COLUMNS, compute_marts, norm
from oracle.programmes import MART_COLUMNS as PROGRAMME_COLUMNS
from oracle.programmes import compute_programme_marts
from oracle.sample_lake import bad_guide_rows, write_quarantine, write_sample_lake
from oracle.sample_warehouse import fetch_rows

from iptv import db, hdfs_client, lake_sync
from iptv.config import REPO_ROOT, Config, with_overrides
from iptv.hive_client import connect

pytestmark = pytest.mark.integration

DATES = [dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)]
D = [d.isoformat() for d in DATES]
NEXT = (DATES[-1] + dt.timedelta(days=1)).isoformat()
MARTS = {
    "daily": ("mart_daily", MART_COLUMNS["mart_daily"], ["dt"]),
    "channel_daily": ("mart_channel_daily", MART_COLUMNS["mart_channel_daily"], ["dt", "channel_id"]),
    "hourly": ("mart_hourly", MART_COLUMNS["mart_hourly"], ["dt", "hour"]),
    "duration_hist": ("mart_duration_hist", MART_COLUMNS["mart_duration_hist"], ["dt", "bucket_lower_s"]),
}
SECONDS = {"watch_hours": 3600, "watch_minutes": 60}
# A late session of the first date (crossing midnight) and one that crosses the hour.
LATE = (
    "1a7e0000000000000000000000000001,3,5,2026-03-02 23:10:00,2026-03-03 01:20:00,7800\n"
    "1a7e0000000000000000000000000002,4,6,2026-03-02 08:59:00,2026-03-02 09:03:30,270\n"
)
# Rows the loader rejects and counts: a missing field, another date, a negative duration.
REJECTS = (
    "bad00000000000000000000000000001,,5,2026-03-02 10:00:00,2026-03-02 10:00:05,5\n"
    "bad00000000000000000000000000002,7,5,2026-03-05 10:00:00,2026-03-05 10:01:00,60\n"
    "bad00000000000000000000000000003,8,5,2026-03-02 11:00:00,2026-03-02 10:00:00,-3600\n"
)
MALFORMED = "garbage-without-fields\n"


def agree(hive_rows: list[tuple], gp_rows: list[tuple], cols: list[str]) -> None:
    """Counts exactly, watch time to the second, ratios within 1e-6 (Spark keeps fewer decimal digits)."""
    assert len(hive_rows) == len(gp_rows)
    for h, g in zip(hive_rows, gp_rows, strict=True):
        for col, x, y in zip(cols, map(norm, h), map(norm, g), strict=True):
            if col in SECONDS:
                assert round(x * SECONDS[col]) == round(y * SECONDS[col]), (col, h, g)
            elif isinstance(x, Decimal) and isinstance(y, Decimal):
                assert abs(x - y) <= Decimal("0.000001"), (col, h, g)
            else:
                assert x == y, (col, h, g)


def _upload_lake(cfg, root, base: str) -> None:
    """Copies the local sample lake under ``root`` to the scratch HDFS area ``base``."""
    for f in sorted(root.rglob("*.csv")):
        hdfs_client.write_bytes(cfg, base + "/" + str(f.relative_to(root)), f.read_bytes(), overwrite=True)


def _scratch_config(cfg: Config, base: str, database: str) -> Config:
    """``cfg`` with every lake directory under the scratch HDFS area ``base`` and the Hive database ``database``."""
    paths = {k: base + v for k, v in cfg.hdfs.paths.as_dict().items()}
    return with_overrides(cfg, {"hdfs.paths": paths, "hive.database": database})


def _drop_scratch(cfg, schema: str, base: str) -> None:
    """Removes the scratch Hive database, warehouse schema and HDFS area of a module's fixture."""
    try:
        conn = connect(cfg, database="default")
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {cfg.hive.database} CASCADE")
        conn.close()
        pg = db.connect(cfg, "loader")
        with pg, pg.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        pg.close()
    finally:
        hdfs_client.delete(cfg, base, recursive=True)


@pytest.fixture(scope="module")
def env(hive, hdfs, postgres, tmp_path_factory):
    tag = uuid.uuid4().hex[:10]
    base = f"/tmp/iptv-tests/lake-sync-{tag}"
    cfg = _scratch_config(hive, base, f"iptv_test_sync_{tag}")
    root = tmp_path_factory.mktemp("lake")
    files = write_sample_lake(
        root, hive.hdfs.paths.as_dict(), DATES, seed=7, sessions_per_day=40, n_users=30, quarantine=True
    )
    _upload_lake(cfg, root, base)
    schema = f"iptv_dw_test_sync_{tag}"
    yield {"cfg": cfg, "root": root, "files": files, "schema": schema, "base": base}
    _drop_scratch(cfg, schema, base)


def hive_marts(cfg) -> dict[str, list[tuple]]:
    conn = connect(cfg, database="default")
    cur = conn.cursor()
    out = {}
    for name, (mart, cols, keys) in MARTS.items():
        cur.execute(f"SELECT {', '.join(cols)} FROM {cfg.hive.database}.{mart} ORDER BY {', '.join(keys)}")
        out[name] = cur.fetchall()
    conn.close()
    return out


def gp_marts(cfg, schema) -> dict[str, list[tuple]]:
    conn = db.connect(cfg, "loader")
    out = {}
    with conn.cursor() as cur:
        for name, (mart, cols, keys) in MARTS.items():
            cur.execute(f"SELECT {', '.join(cols)} FROM {schema}.{mart} ORDER BY {', '.join(keys)}")
            out[name] = cur.fetchall()
        cur.execute(f"SELECT * FROM {schema}.mart_weekday_hour ORDER BY 1, 2")
        out["weekday_hour"] = cur.fetchall()
        cur.execute(f"SELECT count(*), sum(duration_s) FROM {schema}.fact_session")
        out["facts"] = cur.fetchall()
    conn.close()
    return out


def assert_hive_equals_gp(cfg, schema) -> dict[str, list[tuple]]:
    hv, gp = hive_marts(cfg), gp_marts(cfg, schema)
    for name, (_, cols, _) in MARTS.items():
        agree(hv[name], gp[name], cols)
    return gp


@pytest.fixture(scope="module")
def first(env):
    cfg = env["cfg"]
    steps = []
    res, state = lake_sync.sync(cfg, {}, schema=env["schema"], progress=lambda *a: steps.append(a))
    return res, state, steps


def test_first_sync_loads_all_dates(first, env):
    res, state, steps = first
    assert res.errors == []
    assert res.dates == D
    assert res.hive_dates == [*D, NEXT]
    assert res.dims
    n = sum(len(f.read_text().splitlines()) for f in env["files"]["sessions"].values())
    assert (res.rows_read, res.rows_loaded, res.rows_rejected) == (n, n, 0)
    assert sorted(state) == sorted(
        [f"sessions/dt={d}" for d in D]
        + [f"programmes/dt={d}" for d in D]
        + [f"quarantine/dt={D[0]}", f"quarantine/dt={D[1]}", "catalogs/channels", "catalogs/users"]
    )
    # the sample guide: one channel with a gap per date, no bad row
    assert res.programmes_rejected == {"gap": len(D)}
    assert res.programmes_loaded == sum(len(f.read_text().splitlines()) for f in env["files"]["programmes"].values())
    assert steps[-1] == ("done", len(D) + 1, len(D) + 1)


def test_hive_marts_equal_greenplum_marts(first, env):
    gp = assert_hive_equals_gp(env["cfg"], env["schema"])
    assert [r[0].isoformat() for r in gp["daily"]] == [*D, NEXT]


def hive_quarantine(cfg) -> dict[tuple[str, str], int]:
    """Hive's quarantine table counted per partition and reason."""
    conn = connect(cfg, database="default")
    cur = conn.cursor()
    cur.execute(f"SELECT dt, reason, COUNT(*) FROM {cfg.hive.database}.quarantine GROUP BY dt, reason")
    rows = cur.fetchall()
    conn.close()
    return {(str(d), reason): int(n) for d, reason, n in rows}


def gp_quarantine(cfg, schema) -> dict[tuple[str, str], int]:
    rows = fetch_rows(cfg, f"SELECT dt, reason, events FROM {schema}.quarantine_daily", "loader")
    assert len(rows) == len({(r[0], r[1]) for r in rows}), "one row per date and reason"
    return {(d.isoformat(), reason): int(n) for d, reason, n in rows}


def test_quarantine_counts_equal_hive_after_the_first_sync(first, env):
    res, _, _ = first
    want = {(d.isoformat(), reason): n for (d, reason), n in env["files"]["quarantine_counts"].items()}
    gp = gp_quarantine(env["cfg"], env["schema"])
    assert gp == hive_quarantine(env["cfg"])
    assert gp == want and {d for d, _ in gp} == set(D[:2])  # the last date has no quarantine: no rows
    by_reason: dict[str, int] = {}
    for (_, reason), n in want.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    assert res.quarantined == by_reason and f"quarantined={sum(by_reason.values())} " in res.summary()
    assert sum(1 for line in res.loads if line.startswith("quarantine dt=")) == 2


def test_unchanged_lake_syncs_nothing(first, env):
    _, state, _ = first
    res, state2 = lake_sync.sync(env["cfg"], state, schema=env["schema"])
    assert res.idle and res.dates == [] and res.errors == []
    assert state2 == state


@pytest.fixture(scope="module")
def late(first, env):
    """A late file for the first date, with a malformed file (its line is rejected, the date still syncs) and a
    file of rows the loader rejects (counted, quarantined); then the bad files are removed and the date syncs
    clean."""
    cfg, root = env["cfg"], env["root"]
    _, state, _ = first
    rel = f"{cfg.hdfs.paths.sessions}/dt={D[0]}"
    hdfs_client.write_text(cfg, f"{rel}/part-late.csv", LATE)
    hdfs_client.write_text(cfg, f"{rel}/part-rejects.csv", REJECTS)
    hdfs_client.write_text(cfg, f"{rel}/part-malformed.csv", MALFORMED)
    (root / env["files"]["sessions"][DATES[0]].parent / "part-late.csv").write_text(LATE)
    broken, state_broken = lake_sync.sync(cfg, state, schema=env["schema"])
    hdfs_client.delete(cfg, f"{rel}/part-malformed.csv")
    rejected, state_rejected = lake_sync.sync(cfg, state_broken, schema=env["schema"])
    rejects_after_rejected = _rejects(env)
    hdfs_client.delete(cfg, f"{rel}/part-rejects.csv")
    clean, state_clean = lake_sync.sync(cfg, state_rejected, schema=env["schema"])
    return {
        "state": state,
        "broken": (broken, state_broken),
        "rejected": rejected,
        "rejects_after_rejected": rejects_after_rejected,
        "clean": (clean, state_clean),
        "rejects_after_clean": _rejects(env),
    }


def _rejects(env) -> list[tuple]:
    conn = db.connect(env["cfg"], "loader")
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT dt, reason, raw_line FROM {env['schema']}.load_rejects WHERE dataset = 'sessions' "
                "ORDER BY source_file, line_no"
            )
            return cur.fetchall()
    finally:
        conn.close()


def test_malformed_file_is_rejected_not_failing_its_date(late):
    """Bad input never fails a date: the malformed line is a rejected row (wrong_field_count), the date syncs."""
    res, state = late["broken"]
    assert res.errors == [] and res.dates == [D[0]], res.errors
    assert res.rows_rejected == 4 and res.rows_loaded == res.rows_read - 4
    assert res.rejected == {"wrong_field_count": 1, "missing_field": 1, "other_date": 1, "negative_duration": 1}
    assert "wrong_field_count=1" in res.loads[0] and "(wrong_field_count=1, missing_field=1" in res.summary()
    assert state != late["state"] and state[f"sessions/dt={D[0]}"] != late["state"][f"sessions/dt={D[0]}"]


def test_rejected_rows_are_counted(late, env):
    res = late["rejected"]
    assert res.errors == [] and res.dates == [D[0]]
    assert res.rows_rejected == 3 and res.rows_loaded == res.rows_read - 3
    assert "missing_field=1" in res.loads[0] and "other_date=1" in res.loads[0], res.loads
    # kept in the quarantine table until the file is fixed (checked after the clean sync below)
    assert sorted(r[1] for r in late["rejects_after_rejected"]) == ["missing_field", "negative_duration", "other_date"]
    assert {r[2] for r in late["rejects_after_rejected"]} == set(REJECTS.splitlines())


def test_late_file_resyncs_that_date_and_the_next(late, env):
    res, state = late["clean"]
    assert res.errors == []
    assert res.dates == [D[0]]
    assert res.hive_dates == D[:2]
    assert res.rows_rejected == 0 and res.rows_loaded == res.rows_read
    assert late["rejects_after_clean"] == []
    assert not res.dims
    idle, _ = lake_sync.sync(env["cfg"], state, schema=env["schema"])
    assert idle.idle


def assert_marts_equal_reference(gp: dict[str, list[tuple]], files: dict) -> None:
    """The warehouse marts ``gp`` (of :func:`gp_marts`) equal the DuckDB oracle over the local sample lake."""
    sessions = files["sessions"][DATES[0]].parent.parent
    ref = compute_marts(sessions, files["users"], files["channels"])
    for name, (mart, cols, keys) in MARTS.items():
        want = [tuple(r) for r in ref[mart].sort_values(keys)[cols].itertuples(index=False)]
        assert gp[name] == want, name


def test_after_late_file_marts_equal_reference_and_hive(late, env):
    assert_marts_equal_reference(assert_hive_equals_gp(env["cfg"], env["schema"]), env["files"])


def test_reloading_a_date_changes_nothing(late, env):
    cfg, schema = env["cfg"], env["schema"]
    _, state = late["clean"]
    before_gp, before_hive = gp_marts(cfg, schema), hive_marts(cfg)
    forgotten = {k: v for k, v in state.items() if k != f"sessions/dt={D[1]}"}
    res, state2 = lake_sync.sync(cfg, forgotten, schema=schema)
    assert res.errors == [] and res.dates == [D[1]] and res.hive_dates == D[1:]
    assert state2 == state
    assert gp_marts(cfg, schema) == before_gp
    assert hive_marts(cfg) == before_hive


# ------------------------------------------------------------------ the programme guide


def _programme_reference(env) -> dict:
    """The oracle's programme marts and rejects over the local mirror of the lake (kept equal to HDFS)."""
    files, cfg = env["files"], env["cfg"]
    sessions = files["sessions"][DATES[0]].parent.parent
    guide = files["programmes"][DATES[0]].parent.parent
    return compute_programme_marts(
        sessions, guide, files["users"], files["channels"], reach_min_seconds=cfg.marts.reach_min_seconds
    )


def _programme_marts(cfg, schema) -> dict[str, list[tuple]]:
    """Both programme marts, sorted in Python (the database's collation does not decide the order)."""
    return {
        mart: sorted(
            fetch_rows(cfg, f"SELECT {', '.join(cols)} FROM {schema}.{mart}", "loader"),
            key=lambda r: (r[0], r[1], r[2]),
        )
        for mart, cols in PROGRAMME_COLUMNS.items()
    }


def _expected_programme_marts(ref) -> dict[str, list[tuple]]:
    return {
        mart: sorted((tuple(r) for r in ref[mart][cols].itertuples(index=False)), key=lambda r: (r[0], r[1], r[2]))
        for mart, cols in PROGRAMME_COLUMNS.items()
    }


def test_programme_marts_equal_reference_after_the_syncs(late, env):
    """Every programme of the guide, also of the first date whose sessions changed late (a session crossing
    midnight counts toward the next date's programmes): counts exactly, watch time to the second."""
    got = _programme_marts(env["cfg"], env["schema"])
    want = _expected_programme_marts(_programme_reference(env))
    assert len(got["mart_programme"]) == sum(
        len(f.read_text().splitlines()) for f in env["files"]["programmes"].values()
    )
    assert got == want


def test_hive_programme_audience_agrees_with_greenplum(late, env):
    """v_programme_audience (a view: always current) against mart_programme: viewers exactly, watch time to the
    second, ratios within 1e-6."""
    cfg, schema = env["cfg"], env["schema"]
    conn = connect(cfg, database="default")
    cur = conn.cursor()
    cur.execute(
        f"SELECT dt, programme_id, viewers, watch_minutes, reach_pct, amr, rating_pct, atv_min "
        f"FROM {cfg.hive.database}.v_programme_audience"
    )
    hive_rows = sorted(cur.fetchall(), key=lambda r: (r[0], r[1]))
    conn.close()
    gp = sorted(
        fetch_rows(
            cfg,
            f"SELECT dt, programme_id, viewers, watch_minutes, reach_pct, amr, rating_pct, atv_min "
            f"FROM {schema}.mart_programme",
            "loader",
        ),
        key=lambda r: (r[0], r[1]),
    )
    agree(hive_rows, gp, ["dt", "programme_id", "viewers", "watch_minutes", "reach_pct", "amr", "rating_pct", "atv"])


@pytest.fixture(scope="module")
def corrected_guide(late, env):
    """Bad rows added to the guide of D[1] (sessions unchanged), synced; then removed again and synced."""
    cfg = env["cfg"]
    _, state = late["clean"]
    before = gp_marts(cfg, env["schema"])
    good_file = env["files"]["programmes"][DATES[1]]
    rows = bad_guide_rows(DATES[1], list(csv.reader(good_file.read_text().splitlines())))
    rel = f"{cfg.hdfs.paths.catalogs}/epg/dt={D[1]}/epg-{D[1]}-bad.csv"
    local_bad = good_file.parent / f"epg-{D[1]}-bad.csv"
    text = "".join(raw + "\n" for raw, _ in rows)
    hdfs_client.write_text(cfg, rel, text)
    local_bad.write_text(text)
    bad_res, bad_state = lake_sync.sync(cfg, state, schema=env["schema"])
    after_bad = gp_marts(cfg, env["schema"])
    programmes_bad = _programme_marts(cfg, env["schema"])
    ref_bad = _programme_reference(env)
    rejects_bad = fetch_rows(
        cfg,
        f"SELECT dt, source_file, line_no, reason, raw_line FROM {env['schema']}.load_rejects "
        f"WHERE dataset = 'programmes' AND dt = '{D[1]}'",
        "loader",
    )
    hdfs_client.delete(cfg, rel)
    local_bad.unlink()
    clean_res, clean_state = lake_sync.sync(cfg, bad_state, schema=env["schema"])
    return {
        "rows": rows,
        "before": before,
        "bad": (bad_res, bad_state, after_bad, programmes_bad, ref_bad, rejects_bad),
        "clean": (clean_res, clean_state, _programme_marts(cfg, env["schema"]), _programme_reference(env)),
        "state": state,
    }


def test_corrected_guide_resyncs_its_date_alone(corrected_guide):
    res, state, *_ = corrected_guide["bad"]
    assert res.errors == [] and res.dates == [D[1]] and res.hive_dates == []  # no Hive mart: the sessions are the same
    assert res.rows_read == 0 and len(res.loads) == 1 and res.loads[0].startswith(f"guide dt={D[1]}")
    want = {}
    for _, why in corrected_guide["rows"]:
        want[why] = want.get(why, 0) + 1
    assert res.programmes_rejected == {**want, "gap": 1}
    assert state[f"programmes/dt={D[1]}"] != corrected_guide["state"][f"programmes/dt={D[1]}"]


def test_bad_guide_rows_are_rejected_and_the_session_marts_unchanged(corrected_guide):
    _, _, after_bad, programmes_bad, ref_bad, rejects_bad = corrected_guide["bad"]
    assert after_bad == corrected_guide["before"]  # every session mart (and fact_session) as it was
    assert programmes_bad == _expected_programme_marts(ref_bad)
    want = [(r.dt, r.reason, r.raw_line) for r in ref_bad["rejects"] if r.dt == DATES[1]]
    assert sorted((r[0], r[3], r[4]) for r in rejects_bad) == sorted(want)
    assert {r[3] for r in rejects_bad} == {why for _, why in corrected_guide["rows"]} | {"gap"}
    assert all(r[1].endswith((f"epg-{D[1]}-bad.csv", f"epg-{D[1]}.csv")) for r in rejects_bad)


def test_fixing_the_guide_clears_its_rejects(corrected_guide, env):
    res, state, programmes, ref = corrected_guide["clean"]
    assert res.errors == [] and res.dates == [D[1]] and res.programmes_rejected == {"gap": 1}
    assert state == corrected_guide["state"]  # the same files as before the bad rows
    assert programmes == _expected_programme_marts(ref)
    rejects = fetch_rows(
        env["cfg"],
        f"SELECT reason FROM {env['schema']}.load_rejects WHERE dataset = 'programmes' AND dt = '{D[1]}'",
        "loader",
    )
    assert rejects == [("gap",)]


# ------------------------------------------------------------------ the quarantine changing


@pytest.fixture(scope="module")
def quarantine_moved(corrected_guide, env):
    """D[0]'s quarantine file removed, one written to D[2] (clean so far), synced; then D[1]'s quarantine key
    forgotten and synced again (a reload)."""
    cfg, root = env["cfg"], env["root"]
    _, state = corrected_guide["clean"][:2]
    before = gp_marts(cfg, env["schema"])
    hdfs_client.delete(cfg, f"{cfg.hdfs.paths.quarantine}/dt={D[0]}/part-00000.csv")
    local = root / "moved"
    f, counts = write_quarantine(local, cfg.hdfs.paths.as_dict(), DATES[2], random.Random(11))
    hdfs_client.write_bytes(cfg, f"{cfg.hdfs.paths.quarantine}/dt={D[2]}/part-00000.csv", f.read_bytes())
    res, state2 = lake_sync.sync(cfg, state, schema=env["schema"])
    after = {
        "gp": gp_quarantine(cfg, env["schema"]), "hive": hive_quarantine(cfg), "marts": gp_marts(cfg, env["schema"]),
    }  # fmt: skip
    forgotten = {k: v for k, v in state2.items() if k != f"quarantine/dt={D[1]}"}
    reload, state3 = lake_sync.sync(cfg, forgotten, schema=env["schema"])
    return {
        "res": res, "state": state2, "after": after, "counts": counts, "before_marts": before,
        "reload": reload, "reload_state": state3, "reload_gp": gp_quarantine(cfg, env["schema"]),
    }  # fmt: skip


def test_a_moved_quarantine_resyncs_its_dates_alone_and_equals_hive(quarantine_moved, env):
    m = quarantine_moved
    res, after = m["res"], m["after"]
    assert res.errors == [] and res.dates == [D[0], D[2]] and res.hive_dates == [] and res.rows_read == 0
    assert [line.split(" files=")[0] for line in res.loads] == [f"quarantine dt={D[0]}", f"quarantine dt={D[2]}"]
    assert after["gp"] == after["hive"]
    assert {d for d, _ in after["gp"]} == {D[1], D[2]}  # D[0] emptied
    assert {reason: n for (d, reason), n in after["gp"].items() if d == D[2]} == m["counts"]
    want_d1 = {(d.isoformat(), r): n for (d, r), n in env["files"]["quarantine_counts"].items() if d == DATES[1]}
    assert {k: v for k, v in after["gp"].items() if k[0] == D[1]} == want_d1
    assert after["marts"] == m["before_marts"]  # nothing but the quarantine counts changed


def test_reloading_a_quarantine_date_changes_nothing(quarantine_moved):
    m = quarantine_moved
    assert m["reload"].errors == [] and m["reload"].dates == [D[1]]
    assert m["reload_state"] == m["state"] and m["reload_gp"] == m["after"]["gp"]


# ------------------------------------------------------------------ the NiFi processor on the real NiFi

#: Seconds to wait for the processor's first summary (NiFi builds its venv and pip-installs PyHive etc. first).
NIFI_TIMEOUT = 900


def _nifi_lake(cfg: Config, tmp_path_factory, name: str, dates: list[dt.date] = DATES[:1]):
    """A lake of ``dates`` in its own scratch HDFS area, and a config file pointing at it, a scratch Hive
    database and the real PostgreSQL (the processor gets a scratch schema); removed again after the yield.
    ``stack_cfg`` is the stack's own config (``cfg``), to stop and start its services with."""
    import yaml

    tag = uuid.uuid4().hex[:10]
    base = f"/tmp/iptv-tests/lake-sync-{name}-{tag}"
    scratch = _scratch_config(cfg, base, f"iptv_test_{name}_{tag}")
    root = tmp_path_factory.mktemp(f"{name}-lake")
    files = write_sample_lake(root, cfg.hdfs.paths.as_dict(), dates, seed=3, sessions_per_day=30, n_users=20)
    _upload_lake(scratch, root, base)
    config_file = root / "config.yaml"
    config_file.write_text(yaml.safe_dump(scratch.as_dict()), encoding="utf-8")
    schema = f"iptv_dw_test_{name}_{tag}"
    yield {"cfg": scratch, "stack_cfg": cfg, "config_file": str(config_file), "schema": schema, "files": files}
    _drop_scratch(scratch, schema, base)


@pytest.fixture(scope="module")
def nifi_env(nifi, hive, hdfs, postgres, tmp_path_factory):
    yield from _nifi_lake(hive, tmp_path_factory, "nifi")


@pytest.fixture()
def outage_env(nifi, hive, hdfs, postgres, tmp_path_factory):
    yield from _nifi_lake(hive, tmp_path_factory, "outage")


@pytest.fixture()
def shared_env(nifi, hive, hdfs, postgres, tmp_path_factory):
    yield from _nifi_lake(hive, tmp_path_factory, "shared", DATES[:2])


def _sync_warehouse_type():
    """SyncWarehouse's processor type of the version in the source file (NiFi keeps earlier versions it loaded,
    and discovers a new one after a while)."""
    import time

    import nipyapi

    src = (REPO_ROOT / "nifi/python-processors/iptv_warehouse/SyncWarehouse.py").read_text(encoding="utf-8")
    version = re.search(r'version = "([^"]+)"', src).group(1)
    deadline = time.monotonic() + 180
    while True:
        types = [
            t
            for t in nipyapi.canvas.list_all_processor_types().processor_types
            if t.type.endswith("SyncWarehouse") and t.bundle.version == version
        ]
        if types or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert types, f"SyncWarehouse {version} is not offered by NiFi (python-processors directory not scanned?)"
    return types[0]


@contextlib.contextmanager
def sync_warehouse_in_nifi(lake: dict):
    """A scratch process group with one SyncWarehouse (every 5 s, on the scratch lake and schema of ``lake``),
    its success and failure connections to a funnel; yields (processor, success, failure), not yet started.
    The group is removed afterwards."""
    import time

    import nipyapi

    from iptv.nifi.client import login

    login(lake["cfg"])
    kind = _sync_warehouse_type()
    root = nipyapi.canvas.get_process_group(nipyapi.canvas.get_root_pg_id(), "id")
    pg = nipyapi.canvas.create_process_group(root, f"test-sync-warehouse-{uuid.uuid4().hex[:8]}", (0, 600))
    try:
        proc = nipyapi.canvas.create_processor(pg, kind, (0, 0), name="SyncWarehouse")
        config = nipyapi.nifi.ProcessorConfigDTO(
            properties={"Config File": lake["config_file"], "Warehouse Schema": lake["schema"]},
            scheduling_period="5 sec",
        )
        proc = nipyapi.canvas.update_processor(proc, config)
        deadline = time.monotonic() + NIFI_TIMEOUT
        while not proc.component.relationships and time.monotonic() < deadline:
            time.sleep(3)
            proc = nipyapi.canvas.get_processor(proc.id, "id")
        assert proc.component.relationships, f"not initialised: {proc.component.validation_errors}"
        funnel = nipyapi.canvas.create_funnel(pg.id, (400, 0))
        ok = nipyapi.canvas.create_connection(proc, funnel, ["success"])
        failed = nipyapi.canvas.create_connection(proc, funnel, ["failure"])
        yield proc, ok, failed
    finally:
        nipyapi.canvas.schedule_process_group(pg.id, False)
        for c in nipyapi.canvas.list_all_connections(pg.id):
            nipyapi.canvas.purge_connection(c.id)
        nipyapi.canvas.delete_process_group(nipyapi.canvas.get_process_group(pg.id, "id"), force=True)


def next_summary(ok, failed) -> tuple[str, dict]:
    """The relationship and JSON body of the first summary FlowFile queued on ``ok`` or ``failed``."""
    import json
    import time

    import nipyapi

    deadline = time.monotonic() + NIFI_TIMEOUT
    while time.monotonic() < deadline:
        for rel, conn in (("success", ok), ("failure", failed)):
            files = nipyapi.canvas.list_flowfiles(conn, limit=5)
            if files:
                content = nipyapi.canvas.get_flowfile_content(conn.id, files[0].uuid, decode="text")
                return rel, json.loads(content if isinstance(content, str) else content.decode("utf-8"))
        time.sleep(3)
    pytest.fail(f"no summary: {[b.message for b in nipyapi.canvas.get_bulletin_board(limit=5) or []]}")


def sync_state(proc) -> dict[str, str]:
    """The processor's LOCAL state in NiFi."""
    import nipyapi

    state = nipyapi.nifi.ProcessorsApi().get_state2(proc.id).component_state.local_state.state or []
    return {e.key: e.value for e in state}


def test_sync_warehouse_processor_in_nifi(nifi_env):
    """SyncWarehouse on the real NiFi: its first run syncs the date and emits a JSON summary to success,
    keeps the sync state in NiFi's LOCAL state, and the warehouse's marts equal the DuckDB reference over the same
    files (and the Hive marts of the same names)."""
    import time

    import nipyapi

    with sync_warehouse_in_nifi(nifi_env) as (proc, ok, failed):
        nipyapi.canvas.schedule_processor(proc, True)
        rel, body = next_summary(ok, failed)
        assert body["dates"] == [D[0]] and body["dims"], body
        state_errors = [e for e in body["errors"] if e.startswith("NiFi state not saved")]
        assert not state_errors, (
            "the sync worked but NiFi's local state provider refused setState: its write-ahead journal is "
            "poisoned (nifi-app.log: 'UTFDataFormatException: encoded string ... too long' = some processor "
            f"stored a state value over 64 KB): {state_errors[0][:300]}"
        )
        assert body["errors"] == [], body
        assert rel == "success"
        time.sleep(12)  # more runs: idle, nothing more emitted
        assert len(nipyapi.canvas.list_flowfiles(ok, limit=5)) == 1
        nipyapi.canvas.schedule_processor(proc, False)
        assert set(sync_state(proc)) >= {f"sessions/dt={D[0]}", "catalogs/users", "catalogs/channels"}
    gp = assert_hive_equals_gp(nifi_env["cfg"], nifi_env["schema"])
    assert [r[0].isoformat() for r in gp["daily"]][:1] == [D[0]]
    assert_marts_equal_reference(gp, nifi_env["files"])


def _run_once(proc, ok, failed) -> tuple[str, dict, dict[str, str]]:
    """SyncWarehouse scheduled until its next summary: (relationship, JSON summary, the sync state after it)."""
    import nipyapi

    nipyapi.canvas.schedule_processor(proc, True)
    rel, body = next_summary(ok, failed)
    nipyapi.canvas.schedule_processor(proc, False)
    return rel, body, sync_state(proc)


def sync_warehouse_with_engine_down(lake: dict, engine: str) -> tuple[tuple, tuple]:
    """SyncWarehouse on the real NiFi run with the stack service ``engine`` stopped, then, the service up again
    and the queues emptied, run once more: the (relationship, summary, sync state) of each. The service is
    restarted with the stack's own config (the scratch one would move e.g. Hive's warehouse directory into the
    scratch area)."""
    import nipyapi

    from local_stack import control, service

    cfg = lake["stack_cfg"]
    svc = service(engine, cfg)
    with sync_warehouse_in_nifi(lake) as (proc, ok, failed):
        svc.stop()
        try:
            assert not svc.running()
            down = _run_once(proc, ok, failed)
        finally:
            control.up(cfg, [engine])
        for conn in (ok, failed):
            nipyapi.canvas.purge_connection(conn.id)
        back = _run_once(proc, ok, failed)
    return down, back


def assert_recovered(lake: dict, back: tuple) -> None:
    """The run after the outage synced the date to success, with no error, into NiFi's state; the marts equal
    Hive's and the DuckDB reference (a step the outage left done is redone idempotently)."""
    rel, body, synced = back
    assert (rel, body["dates"], body["errors"]) == ("success", [D[0]], []), body
    assert set(synced) >= {f"sessions/dt={D[0]}", "catalogs/users", "catalogs/channels"}
    gp = assert_hive_equals_gp(lake["cfg"], lake["schema"])
    assert [r[0].isoformat() for r in gp["daily"]][:1] == [D[0]]
    assert_marts_equal_reference(gp, lake["files"])


def test_sync_warehouse_in_nifi_with_postgres_down_retries_after(outage_env):
    """SyncWarehouse on the real NiFi with PostgreSQL stopped: its runs go to failure naming the warehouse
    error (the sync lock cannot be taken, so nothing is tried, not even Hive's registrations), the sync state keeps
    no key of the date or the catalogs (nothing counts as synced); once PostgreSQL is back, the next run syncs the
    date to success and the marts equal the DuckDB reference."""
    (rel, body, synced), back = sync_warehouse_with_engine_down(outage_env, "postgres")
    assert rel == "failure", body
    assert body["dates"] == [] and not body["dims"], body
    assert len(body["errors"]) == 1, body["errors"]
    assert body["errors"][0].startswith(f"sync lock of {outage_env['schema']} (nothing synced"), body["errors"]
    assert re.search(r"connect|refused|server", body["errors"][0], re.I), body["errors"]
    assert not [k for k in synced if k.startswith(("sessions/", "programmes/", "catalogs/"))], synced
    assert_recovered(outage_env, back)


def test_sync_warehouse_in_nifi_with_hive_down_retries_after(outage_env):
    """SyncWarehouse on the real NiFi with HiveServer2 (the Spark Thrift Server) stopped: its runs go to failure
    naming the date and the Hive connection, the sync state keeps no key of the date (the catalogs, loaded into
    Greenplum alone, may count); once Hive is back, the next run syncs the date to success and the marts equal
    the DuckDB reference and Hive's marts."""
    cfg = outage_env["cfg"]
    (rel, body, synced), back = sync_warehouse_with_engine_down(outage_env, "hive")
    assert rel == "failure", body
    assert body["dates"] == [] and body["hive_dates"] == [], body
    date_errors = [e for e in body["errors"] if e.startswith(f"{D[0]} ")]
    assert date_errors, body["errors"]
    assert all(re.search(rf"connect.*{cfg.hive.port}", e, re.I) for e in date_errors), date_errors
    assert not [k for k in synced if k.startswith(("sessions/", "programmes/"))], synced
    assert_recovered(outage_env, back)
    conn = connect(cfg, database="default")
    cur = conn.cursor()
    cur.execute("SET spark.sql.warehouse.dir")
    (_, warehouse_dir), *_ = cur.fetchall()
    conn.close()
    stack_hdfs = outage_env["stack_cfg"].hdfs
    assert warehouse_dir == stack_hdfs.default_fs.rstrip("/") + stack_hdfs.paths.warehouse  # restarted as it was


#: Sessions waiting for the sync lock held by the backend {holder} (pg_locks: the same advisory key, not granted).
_LOCK_WAITERS = """
SELECT count(*) FROM pg_locks w JOIN pg_locks h USING (locktype, database, classid, objid, objsubid)
WHERE h.pid = {holder} AND h.granted AND h.locktype = 'advisory' AND NOT w.granted
"""


@contextlib.contextmanager
def holding_the_sync_lock(lake: dict):
    """The sync lock of ``lake``'s schema taken by the test itself (greenplum/sync_lock.sql, as a sync takes it);
    yields a function counting the syncs waiting for it, released (its connection closed) by calling
    ``release`` or at the end."""
    from iptv.warehouse import Warehouse

    holder = db.connect(lake["cfg"], "loader")
    watcher = db.connect(lake["cfg"], "loader")
    watcher.autocommit = True
    try:
        with holder, holder.cursor() as cur:
            cur.execute(
                Warehouse(lake["cfg"], schema=lake["schema"]).sql("sync_lock.sql", lock_timeout_ms=10000, lock_key=2)
            )
        pid = holder.get_backend_pid()

        def waiting() -> int:
            with watcher.cursor() as cur:
                cur.execute(_LOCK_WAITERS.format(holder=int(pid)))
                return cur.fetchone()[0]

        yield waiting, holder.close
    finally:
        holder.close()
        watcher.close()


def test_command_line_sync_beside_sync_warehouse_in_nifi(shared_env, tmp_path):
    """scripts/sync_lake.py started together with NiFi's SyncWarehouse on the same lake and warehouse schema,
    each with an empty state of its own, so both sync every date. The test holds the schema's sync lock until
    both wait for it, then lets them go at the same instant: the lock serialises them (two Hive jobs writing the
    same mart table at once collide in Spark's _temporary directory of the table), so both succeed with no
    error, each syncs every date, and the marts hold each session once: equal to the DuckDB reference and to
    Hive's marts. Without the lock neither waits, both run at once and at least the wait below fails."""
    import json
    import subprocess
    import sys
    import time

    import nipyapi

    cmd = [sys.executable, str(REPO_ROOT / "scripts" / "sync_lake.py"), "--config", shared_env["config_file"]]
    cmd += ["--schema", shared_env["schema"], "--state", str(tmp_path / "state.json"), "--json", "--no-progress"]
    every = D[:2]
    with (
        holding_the_sync_lock(shared_env) as (waiting, release),
        sync_warehouse_in_nifi(shared_env) as (
            proc,
            ok,
            failed,
        ),
    ):
        nipyapi.canvas.schedule_processor(proc, True)
        cli = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        waiters = waiting()
        while waiters < 2 and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            waiters = waiting()
        release()
        rel, body = next_summary(ok, failed)
        nipyapi.canvas.schedule_processor(proc, False)
        out, err = cli.communicate()
        by_cli = json.loads(out.splitlines()[-1])
        print(
            f"waiting for the lock: {waiters}; NiFi {rel} {body['dates']} {body['errors']}; command line exit "
            f"{cli.returncode} {by_cli['dates']} {by_cli['errors']}"
        )
        assert (rel, body["errors"]) == ("success", []), body
        assert (cli.returncode, by_cli["errors"]) == (0, []), (by_cli, err[-2000:])
        assert body["dates"] == every and by_cli["dates"] == every, (body, by_cli)
        assert waiters == 2, "the two syncs did not both wait for the sync lock"
    gp = assert_hive_equals_gp(shared_env["cfg"], shared_env["schema"])
    assert gp["facts"][0][0] == sum(len(f.read_text().splitlines()) for f in shared_env["files"]["sessions"].values())
    assert [r[0].isoformat() for r in gp["daily"]][:2] == every
    assert_marts_equal_reference(gp, shared_env["files"])


# ---------------------------------------------------------------------------------------------- engine kills
# kill -9 of an engine in the middle of a sync (the fault matrix of docs/reliability.md): the sync reports the
# dates it could not finish, keeps them unsynced, and the next sync once the engine is back finishes exactly them,
# with marts equal to the DuckDB reference and to Hive's. The engines are started again with the stack's own config
# (``stack_cfg``), never the scratch one.


@pytest.fixture()
def kill_env(hive, hdfs, postgres, tmp_path_factory):
    tag = uuid.uuid4().hex[:10]
    base = f"/tmp/iptv-tests/lake-sync-kill-{tag}"
    cfg = _scratch_config(hive, base, f"iptv_test_kill_{tag}")
    root = tmp_path_factory.mktemp("kill-lake")
    files = write_sample_lake(root, hive.hdfs.paths.as_dict(), DATES, seed=11, sessions_per_day=40, n_users=30)
    _upload_lake(cfg, root, base)
    schema = f"iptv_dw_test_kill_{tag}"
    yield {"cfg": cfg, "stack_cfg": hive, "files": files, "schema": schema}
    _drop_scratch(cfg, schema, base)


def _kill_group_9(cfg: Config, name: str) -> float:
    """kill -9 of every process of service ``name`` (its process group: PostgreSQL's postmaster and backends, the
    Thrift server's JVM, NiFi's JVM and Python workers), as a crash of its host would; returns the monotonic time
    of the kill."""
    import time

    from local_stack import service

    svc = service(name, cfg)
    (pid,) = svc.pids().values()
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while svc.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not svc.running(), f"{name} still alive after SIGKILL"
    return time.monotonic()


@contextlib.contextmanager
def facts_locked(cfg: Config, schema: str, table: str = "fact_session", mode: str = "SHARE ROW EXCLUSIVE"):
    """Hold a lock on ``schema``.fact_session that conflicts with the loader's (load/lock.sql), so that a load
    waits inside its transaction (or on another ``table`` in another ``mode``, to hold it at a later step);
    yields ``wait_blocked(timeout)``, which returns once some session waits for it."""
    import time

    holder, watcher = db.connect(cfg, "loader"), db.connect(cfg, "loader")
    watcher.autocommit = True

    def wait_blocked(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with watcher.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (holder.get_backend_pid(),),
                )
                if cur.fetchone()[0]:
                    return
                time.sleep(0.1)
        pytest.fail(f"no load waited for the lock on {schema}.{table} within {timeout:.0f} s")

    try:
        holder.cursor().execute(f"LOCK TABLE {schema}.{table} IN {mode} MODE")
        yield wait_blocked
    finally:
        for c in (holder, watcher):
            with contextlib.suppress(Exception):
                c.close()


def _first_date_synced(cfg: Config, schema: str) -> tuple[dict[str, str], dict[str, str]]:
    """Sync the catalogs and the first date only (the lake's listing cut down to them); returns the full
    listing and the state."""
    listing = lake_sync.list_lake(cfg)
    first = {k: v for k, v in listing.items() if k.startswith("catalogs/") or k.endswith(f"dt={D[0]}")}
    res, state = lake_sync.sync(cfg, {}, schema=schema, listing=first)
    assert (res.dates, res.errors) == ([D[0]], []), res
    return listing, state


def _resync_after(kill_env, listing, state, res, killed_at: float, name: str) -> None:
    """After the killed sync ``res``: its unfinished dates are not in ``state``; the engine is started again and
    the next sync finishes exactly those dates; the marts equal the reference and Hive's."""
    import time

    from local_stack import control

    cfg, schema = kill_env["cfg"], kill_env["schema"]
    later = [d for d in D[1:] if d not in res.dates]
    assert res.errors and later, res
    assert not [k for k in state if any(k.endswith(f"dt={d}") for d in later)], state
    control.up(kill_env["stack_cfg"], [name])
    print(f"{name} killed mid-sync, back in {time.monotonic() - killed_at:.0f} s; unfinished: {later}")
    again, state = lake_sync.sync(cfg, state, schema=schema, listing=listing)
    assert (again.dates, again.errors) == (later, []), again
    assert state == dict(listing)
    assert_marts_equal_reference(assert_hive_equals_gp(cfg, schema), kill_env["files"])


def test_kill_of_postgres_during_a_load_then_the_next_sync_finishes_it(kill_env):
    """PostgreSQL killed (postmaster and backends, kill -9) while a load waits inside its transaction for a lock
    the test holds: that date and the next fail with the connection error, and stay unsynced; nothing of them is
    half loaded once PostgreSQL is back, and the next sync loads exactly them."""
    import threading

    cfg, schema = kill_env["cfg"], kill_env["schema"]
    listing, state = _first_date_synced(cfg, schema)
    out: dict = {}

    def run_sync() -> None:
        out["res"], out["state"] = lake_sync.sync(cfg, state, schema=schema, listing=listing)

    sync = threading.Thread(target=run_sync)
    with facts_locked(cfg, schema) as wait_blocked:
        sync.start()
        wait_blocked(120)
        killed_at = _kill_group_9(kill_env["stack_cfg"], "postgres")
    sync.join(timeout=300)
    assert not sync.is_alive(), "the sync hung after PostgreSQL died"
    res = out["res"]
    assert any(re.search(r"server closed|terminat|connect|refused", e, re.I) for e in res.errors), res.errors
    _resync_after(kill_env, listing, out["state"], res, killed_at, "postgres")


def test_kill_of_hiveserver2_during_a_sync_then_the_next_sync_finishes_it(kill_env):
    """The Thrift server (HiveServer2) killed with kill -9 once the second date's sessions are in the warehouse,
    while its Hive marts are being recomputed: the dates from there fail with Hive's error and stay unsynced; the
    next sync once it is back redoes exactly them (the warehouse reload is idempotent)."""
    import threading
    import time

    cfg, schema = kill_env["cfg"], kill_env["schema"]
    listing, state = _first_date_synced(cfg, schema)
    killed: list[float] = []

    def kill_when_loaded() -> None:
        reader = db.connect(cfg, "loader")
        reader.autocommit = True
        deadline = time.monotonic() + 120
        with reader.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute(f"SELECT count(*) FROM {schema}.fact_session WHERE time_start::date = %s", (D[1],))
                if cur.fetchone()[0]:
                    break
                time.sleep(0.05)
        reader.close()
        killed.append(_kill_group_9(kill_env["stack_cfg"], "hive"))

    def progress(step: str, _i: int, _n: int) -> None:
        if step == D[1]:
            threading.Thread(target=kill_when_loaded).start()

    res, state = lake_sync.sync(cfg, state, schema=schema, listing=listing, progress=progress)
    deadline = time.monotonic() + 150
    while not killed and time.monotonic() < deadline:
        time.sleep(0.5)
    assert killed, "HiveServer2 was not killed"
    assert D[1] not in res.dates, res
    _resync_after(kill_env, listing, state, res, killed[0], "hive")


def test_kill_of_nifi_during_a_sync_warehouse_run_then_its_next_run_finishes_it(outage_env):
    """SyncWarehouse on the real NiFi, its run waiting inside the warehouse for a lock the test holds; NiFi is
    killed (kill -9 of its JVM and Python workers) and started again: the processor resumes by itself, its state
    was never advanced by the killed run, and its next run syncs the date to success with marts equal to the
    DuckDB reference and Hive's."""
    import time

    import nipyapi

    from local_stack import control

    cfg, schema = outage_env["cfg"], outage_env["schema"]
    engines = lake_sync.Engines(cfg, schema)
    engines.warehouse()  # the schema exists, so that the test can lock its facts
    engines.close()
    with sync_warehouse_in_nifi(outage_env) as (proc, ok, failed):
        with facts_locked(cfg, schema) as wait_blocked:
            nipyapi.canvas.schedule_processor(proc, True)
            wait_blocked(NIFI_TIMEOUT)
            time.sleep(2)  # NiFi writes the processor's running state to its flow definition
            killed_at = _kill_group_9(outage_env["stack_cfg"], "nifi")
        control.up(outage_env["stack_cfg"], ["nifi"])
        print(f"NiFi killed during a sync, back in {time.monotonic() - killed_at:.0f} s")
        assert not sync_state(proc).get(f"sessions/dt={D[0]}"), sync_state(proc)
        rel, body = next_summary(ok, failed)
        nipyapi.canvas.schedule_processor(proc, False)
        back = (rel, body, sync_state(proc))
    assert_recovered(outage_env, back)


@pytest.fixture()
def cli_env(hive, hdfs, postgres, tmp_path_factory):
    yield from _nifi_lake(hive, tmp_path_factory, "cli", DATES[:1])


def test_kill_of_the_sync_mid_append_then_each_file_is_loaded_once(cli_env, tmp_path):
    """scripts/sync_lake.py killed with kill -9 while it appends a new file: the file's rows and ledger row were
    written inside the load's transaction, which the test holds at its last step (a lock on mart_weekday_hour);
    the kill rolls it all back. The next run appends the file exactly once (the facts grow by its rows, marts
    equal the DuckDB reference and Hive's); a run that forgot its state (a crash after the commit, before the
    state was saved) finds every file in the ledger and loads nothing."""
    import json
    import subprocess
    import sys
    import time

    cfg, schema = cli_env["cfg"], cli_env["schema"]
    cmd = [sys.executable, str(REPO_ROOT / "scripts" / "sync_lake.py"), "--config", cli_env["config_file"]]
    cmd += ["--schema", schema, "--state", str(tmp_path / "state.json"), "--json", "--no-progress"]

    def run(*extra: str) -> dict:
        out = subprocess.run([*cmd, *extra], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.splitlines()[-1])

    def facts() -> tuple[int, int]:
        rows = fetch_rows(cfg, f"SELECT (SELECT count(*) FROM {schema}.fact_session), "
                          f"(SELECT count(*) FROM {schema}.loaded_file)", "loader")  # fmt: skip
        return rows[0]

    def sessions_load(res: dict) -> str:
        return next(line for line in res["loads"] if line.startswith("dt="))

    first = run()
    assert first["dates"] == D[:1] and " whole " in sessions_load(first), first
    before = facts()
    hdfs_client.write_text(cfg, f"{cfg.hdfs.paths.sessions}/dt={D[0]}/part-late.csv", LATE)
    (cli_env["files"]["sessions"][DATES[0]].parent / "part-late.csv").write_text(LATE)
    with facts_locked(cfg, schema, "mart_weekday_hour", "ACCESS EXCLUSIVE") as wait_blocked:
        killed = subprocess.Popen(cmd, cwd=REPO_ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        wait_blocked(300)
        os.killpg(killed.pid, signal.SIGKILL)
        assert killed.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while facts() != before and time.monotonic() < deadline:
        time.sleep(0.2)  # the killed load's backend rolls back once it finds its client gone
    assert facts() == before, "the killed load left rows behind"
    again = run()
    assert again["dates"] == D[:1] and again["errors"] == [], again
    assert "appended files=1 read=2 loaded=2" in sessions_load(again), again["loads"]
    assert facts() == (before[0] + 2, before[1] + 1)
    forgot = run("--reset")
    assert forgot["errors"] == [] and " unchanged files=0 " in sessions_load(forgot), forgot["loads"]
    assert facts() == (before[0] + 2, before[1] + 1)
    assert_marts_equal_reference(assert_hive_equals_gp(cfg, schema), cli_env["files"])
