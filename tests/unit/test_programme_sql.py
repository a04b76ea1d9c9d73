"""The programme guide's SQL as rendered: the reach threshold comes from config marts.reach_min_seconds into both
the Greenplum mart and the Hive view; the guide's table, partition and rejects follow the dataset definition."""

from __future__ import annotations

import datetime as dt

import pytest

from iptv import warehouse
from iptv.config import Config, ConfigError, with_overrides
from iptv.hive_tables import LAKE_TABLES, HiveTables
from iptv.warehouse.loads import PROGRAMME_REJECT_REASONS

pytestmark = pytest.mark.unit

DAY = dt.date(2026, 3, 2)


def test_reach_threshold_comes_from_the_config():
    cfg = with_overrides(Config(), {"marts.reach_min_seconds": 90})
    sql = " ".join(warehouse.Warehouse(cfg).sql("marts/programme.sql", dt=DAY).split())
    assert "COALESCE(w.watch_s, 0) + pu.watch_s >= 90 AND NOT" in sql
    assert "COALESCE(w.watch_s, 0) + pu.watch_s >= 60 AND NOT" in " ".join(
        warehouse.Warehouse(Config()).sql("marts/programme.sql", dt=DAY).split()
    )
    views = " ".join(" ".join(HiveTables.from_config(cfg).statements("views.sql")).split())
    assert "WHEN watch_s >= 90 THEN 1" in views and "v_programme_audience" in views
    with pytest.raises(ConfigError, match="marts.reach_min_seconds"):
        warehouse.Warehouse(with_overrides(Config(), {"marts.reach_min_seconds": -1}))


def test_the_guide_is_a_partitioned_hive_table_and_registered_per_date():
    tables = HiveTables("db1", {t: f"hdfs://nn:8020/lake/{t}" for t in LAKE_TABLES})
    stmts = tables.statements("register_partitions.sql", DAY)
    assert stmts[-1] == (
        "ALTER TABLE `db1`.programmes ADD IF NOT EXISTS PARTITION (dt='2026-03-02')\n"
        "LOCATION 'hdfs://nn:8020/lake/programmes/dt=2026-03-02'"
    )
    assert "programmes" in LAKE_TABLES
    assert HiveTables.from_config(Config()).locations["programmes"].endswith("/data/iptv/catalogs/epg")


def test_every_reject_reason_of_the_guide_is_in_its_validation():
    sql = warehouse.Warehouse(Config()).sql("load/validate_programmes.sql", dt=DAY)
    for reason in PROGRAMME_REJECT_REASONS:
        assert f"'{reason}'" in sql, reason
    replace = warehouse.Warehouse(Config()).sql("load/replace_programme_rejects.sql", dt=DAY)
    assert "dataset = 'programmes'" in replace and "'gap'" in replace
    sessions = warehouse.Warehouse(Config()).sql("load/clear_sessions.sql", dt=DAY)
    assert "load_rejects WHERE dt = CAST('2026-03-02' AS DATE) AND dataset = 'sessions'" in sessions


def test_programme_marts_are_date_marts():
    assert warehouse.DATE_MARTS == (*warehouse.SESSION_MARTS, *warehouse.PROGRAMME_MARTS)
    assert {f"mart_{m}" for m in warehouse.DATE_MARTS} <= set(warehouse.MART_TABLES)
    assert "dim_programme" in warehouse.TABLES
