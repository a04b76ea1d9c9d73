"""The dialect switch and placeholders of the warehouse SQL (iptv.warehouse.render_sql), on the real files."""

from __future__ import annotations

import re

import pytest

from iptv import warehouse as W

pytestmark = pytest.mark.unit

CFG = {"postgres": {"dialect": "greenplum", "reader_user": "iptv_reader", "loader_user": "iptv_loader"}}


def test_markers_rendered_for_greenplum_and_dropped_for_postgres():
    text = "CREATE TABLE t (x int)\n/*@greenplum DISTRIBUTED BY (x) */;\n"
    assert W.render_sql(text, "greenplum") == "CREATE TABLE t (x int)\nDISTRIBUTED BY (x);\n"
    assert W.render_sql(text, "postgres") == "CREATE TABLE t (x int)\n;\n"


def test_ddl_per_dialect():
    def code(sql: str) -> str:
        return re.sub(r"--[^\n]*", "", sql)

    gp = code(W.Warehouse(CFG).sql("ddl.sql"))
    pg = code(W.Warehouse({"postgres": {**CFG["postgres"], "dialect": "postgres"}}).sql("ddl.sql"))
    assert "@greenplum" not in gp and "@greenplum" not in pg
    assert "DISTRIBUTED" not in pg and "appendoptimized" not in pg
    assert gp.count("DISTRIBUTED") == pg.count("CREATE TABLE") == 9  # 8 + load_rejects
    fact = re.search(r"CREATE TABLE IF NOT EXISTS iptv_dw\.fact_session .*?;", gp, re.DOTALL).group(0)
    assert "WITH (appendoptimized=true" in fact and "DISTRIBUTED BY (session_id)" in fact


def test_identifiers_and_schema():
    sql = W.Warehouse(CFG, schema="iptv_dw_test").sql("grants.sql")
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA iptv_dw_test TO "iptv_reader"' in sql
    assert "{{" not in sql and "iptv_dw " not in sql
    with pytest.raises(KeyError):
        W.render_sql("GRANT x TO {{nobody}}", "postgres")
    with pytest.raises(ValueError):
        W.Warehouse(CFG, schema="bad; name")


def test_unknown_dialect_is_a_config_error():
    with pytest.raises(W.ConfigError):
        W.Warehouse({"postgres": {**CFG["postgres"], "dialect": "oracle"}})


def test_every_sql_file_renders_on_both_dialects():
    for path in sorted(W.SQL_DIR.rglob("*.sql")):
        if path.name == "roles.sql":  # psql script of the stack, not rendered by the loader
            continue
        for dialect in W.DIALECTS:
            cfg = {"postgres": {**CFG["postgres"], "dialect": dialect}}
            out = W.Warehouse(cfg).sql(str(path.relative_to(W.SQL_DIR)))
            assert "@greenplum" not in out and "{{" not in out, path


def test_hive_params(cfg):
    p = W.hive_sql_params(cfg, "2026-03-01")
    assert p["dt"] == "2026-03-01" and p["min_dt"] == "2026-02-28"
    assert p["hdfs_base"].startswith("hdfs://") and p["sessions_path"] == cfg["hdfs"]["paths"]["sessions"]
