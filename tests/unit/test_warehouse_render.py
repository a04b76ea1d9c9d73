"""The SQL renderer (iptv.sql) and its use for every .sql file: placeholders by kind, quoting per dialect, the
Greenplum switch, comments, statement splitting; the real hive/ and greenplum/ files render on every dialect."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from iptv import hive_tables, sql, warehouse
from iptv.config import REPO_ROOT, Config, ConfigError, with_overrides
from iptv.sql import Ident, Raw

pytestmark = pytest.mark.unit

CFG = with_overrides(
    Config(), {"postgres": {"dialect": "greenplum", "reader_user": "iptv_reader", "loader_user": "iptv_loader"}}
)
#: psql script of the stack (psql variables, \gexec), not rendered by iptv.sql: see the module doc.
NOT_RENDERED = {REPO_ROOT / "greenplum" / "roles.sql"}


# ------------------------------------------------------------------------------------------ the renderer


def test_markers_rendered_for_greenplum_and_dropped_elsewhere():
    text = "CREATE TABLE t (x int)\n/*@greenplum DISTRIBUTED BY (x) */;\n"
    assert sql.render(text, "greenplum") == "CREATE TABLE t (x int)\nDISTRIBUTED BY (x);\n"
    assert sql.render(text, "postgres") == "CREATE TABLE t (x int)\n;\n"
    assert sql.render(text, "hive") == "CREATE TABLE t (x int)\n;\n"


def test_placeholder_kinds():
    values = {"t": Ident("my tab"), "d": dt.date(2026, 3, 2), "n": 5, "x": Decimal("1.50"), "f": Raw("a + b")}
    out = sql.render("SELECT {{ f }}, {{n}}, {{ x }} FROM {{ t }} WHERE dt = {{ d }}", "postgres", values)
    assert out == "SELECT a + b, 5, 1.50 FROM \"my tab\" WHERE dt = '2026-03-02'"
    assert sql.render("SELECT {{ t }}", "hive", values) == "SELECT `my tab`"
    other = {"a": None, "b": True, "c": dt.datetime(2026, 1, 2, 3)}
    assert sql.render("{{ a }} {{ b }} {{ c }}", "postgres", other) == "NULL TRUE '2026-01-02 03:00:00'"


def test_literals_are_escaped_per_dialect():
    s = "O'Neil \\ x"
    assert sql.quote_literal(s, "postgres") == "E'O''Neil \\\\ x'"
    assert sql.quote_literal("O'Neil", "postgres") == "'O''Neil'"
    assert sql.quote_literal(s, "hive") == "'O\\'Neil \\\\ x'"
    assert sql.quote_ident('a"b', "postgres") == '"a""b"'
    assert sql.quote_ident("a`b", "hive") == "`a``b`"
    with pytest.raises(ValueError):
        sql.quote_literal("a\x00b", "postgres")
    with pytest.raises(TypeError):
        sql.quote_literal(object(), "postgres")
    with pytest.raises(ValueError):
        sql.render("SELECT 1", "oracle")


def test_placeholder_errors():
    with pytest.raises(KeyError, match="nobody"):
        sql.render("GRANT x TO {{ nobody }}", "postgres")
    with pytest.raises(ValueError, match="inside quotes"):
        sql.render("WHERE dt = '{{ dt }}'", "hive", {"dt": "2026-03-02"})
    with pytest.raises(ValueError, match="malformed"):
        sql.render("WHERE dt = {{ dt-1 }}", "hive", {"dt": "2026-03-02"})


def test_comments_are_removed_before_placeholders_are_filled():
    text = "-- {{ undefined }} in a comment\nSELECT /* {{ nor_here }} */ {{ a }} -- ; not a statement end\n"
    assert sql.render(text, "hive", {"a": 1}) == "\nSELECT   1 \n"
    # comment markers and semicolons inside quotes are data
    assert sql.render("SELECT '--x', \"/*y*/\", `a;b`", "hive") == "SELECT '--x', \"/*y*/\", `a;b`"


def test_quotes_of_each_dialect():
    # Hive: backslash escapes; PostgreSQL: doubled quotes, backslash only in E'' strings, $$ bodies are code.
    assert sql.split_statements("SELECT 'a\\';b'; SELECT 2", "hive") == ["SELECT 'a\\';b'", "SELECT 2"]
    assert sql.split_statements("SELECT 'a\\'; SELECT 'b'", "postgres") == ["SELECT 'a\\'", "SELECT 'b'"]
    assert sql.split_statements("SELECT 'it''s; fine'; SELECT 2", "postgres") == ["SELECT 'it''s; fine'", "SELECT 2"]
    body = "DO $$ BEGIN IF {{ s }} = 'x' THEN NULL; END IF; END $$;"
    assert sql.render(body, "postgres", {"s": "a"}) == "DO $$ BEGIN IF 'a' = 'x' THEN NULL; END IF; END $$;"
    assert sql.split_statements(sql.render(body, "postgres", {"s": "a"}) + " SELECT 1", "postgres") == [
        "DO $$ BEGIN IF 'a' = 'x' THEN NULL; END IF; END $$",
        "SELECT 1",
    ]


def test_split_statements_drops_empty_ones():
    assert sql.split_statements(";\n; SELECT 1 ;\n\n", "hive") == ["SELECT 1"]


# ------------------------------------------------------------------------------------------ the real files


def _sql_files():
    return sorted(p for d in ("hive", "greenplum") for p in (REPO_ROOT / d).rglob("*.sql") if p not in NOT_RENDERED)


def test_every_file_uses_the_one_convention():
    old = re.compile(r"\$\{|%\(\w+\)s|:'\w+'|:\"\w+\"|\biptv_dw\.")
    for path in _sql_files():
        text = path.read_text(encoding="utf-8")
        assert not old.search(text), f"{path}: another placeholder syntax or a hard-wired schema"


def test_every_greenplum_file_renders_on_both_dialects():
    day = dt.date(2026, 3, 2)
    for path in sorted(warehouse.SQL_DIR.rglob("*.sql")):
        if path in NOT_RENDERED:
            continue
        for dialect in warehouse.DIALECTS:
            wh = warehouse.Warehouse(with_overrides(CFG, {"postgres.dialect": dialect}))
            # until / days: the history window of greenplum/analytics/*.sql; lock_timeout_ms: sync_lock.sql;
            # since: reports/sessions_ended_since.sql; the rest: greenplum/reconcile/*.sql
            reconcile_values = {
                "date_from": day,
                "date_to": day,
                "checked_at": "2026-03-02 10:00:00",
                "check_name": "sent",
                "subject": "partition 0",
                "expected": 1,
                "found": 1,
                "gap": None,
                "detail": None,
            }
            out = wh.sql(
                str(path.relative_to(warehouse.SQL_DIR)),
                dt=day,
                table=Ident("stg_x"),
                table_name="mart_daily",
                until=day,
                days=35,
                lock_timeout_ms=1000,
                lock_key=2,
                since="2026-03-02 20:00:00",
                **reconcile_values,
            )
            assert "@greenplum" not in out and "{{" not in out and "--" not in out, path


def test_every_hive_file_renders(cfg):
    tables = hive_tables.HiveTables.from_config(cfg)
    values = {**tables.values(dt.date(2026, 3, 2)), "table": Ident("t"), "location": "hdfs://nn/x"}
    values.update(first_dt=dt.date(2026, 3, 2), last_dt=dt.date(2026, 3, 3))  # hive/marts/cache_sessions.sql
    for path in sorted((REPO_ROOT / "hive").rglob("*.sql")):
        statements = sql.file_statements(path, "hive", values)
        assert statements and all("{{" not in s and "--" not in s for s in statements), path


# ------------------------------------------------------------------------------------------ Greenplum files


def test_ddl_per_dialect():
    gp = warehouse.Warehouse(CFG).sql("ddl.sql")
    pg = warehouse.Warehouse(with_overrides(CFG, {"postgres.dialect": "postgres"})).sql("ddl.sql")
    assert "DISTRIBUTED" not in pg and "appendoptimized" not in pg
    assert gp.count("DISTRIBUTED") == pg.count("CREATE TABLE") == len(warehouse.TABLES) == 22
    fact = re.search(r'CREATE TABLE IF NOT EXISTS "iptv_dw"\.fact_session .*?;', gp, re.DOTALL).group(0)
    assert "WITH (appendoptimized=true" in fact and "DISTRIBUTED BY (session_id)" in fact
    assert "table_schema = 'iptv_dw'" in pg  # the DO block's literal


def test_identifiers_and_schema():
    wh = warehouse.Warehouse(CFG, schema="iptv_dw_test")
    sql_text = wh.sql("grants.sql")
    assert 'GRANT SELECT ON ALL TABLES IN SCHEMA "iptv_dw_test" TO "iptv_reader"' in sql_text
    assert "iptv_dw " not in sql_text and '"iptv_dw"' not in sql_text
    assert wh.sql("schema_exists.sql").strip() == "SELECT 1 FROM pg_namespace WHERE nspname = 'iptv_dw_test';"
    assert "WHERE dt = CAST('2026-03-02' AS DATE)" in wh.sql("load/count_sessions.sql", dt=dt.date(2026, 3, 2))
    assert wh.sql("load/copy_stage.sql", table=Ident("stg_user")).strip() == (
        'COPY "stg_user" FROM STDIN WITH (FORMAT csv)'
    )
    with pytest.raises(ValueError):
        warehouse.Warehouse(CFG, schema="bad; name")


def test_unknown_dialect_is_a_config_error():
    with pytest.raises(ConfigError):
        warehouse.Warehouse(with_overrides(CFG, {"postgres.dialect": "oracle"}))


# ------------------------------------------------------------------------------------------ Hive files


def test_hive_values(cfg):
    v = hive_tables.sql_values(cfg, "2026-03-01")
    assert v["dt"] == dt.date(2026, 3, 1) and v["min_dt"] == dt.date(2026, 2, 28)
    assert v["database"] == Ident(cfg.hive.database)
    base = cfg.hdfs.default_fs.rstrip("/")
    assert v["sessions_location"] == base + cfg.hdfs.paths.sessions.rstrip("/")
    assert v["viewing_events_partition"] == base + cfg.hdfs.paths.viewing_events.rstrip("/") + "/dt=2026-03-01"
    assert v["users_location"] == base + cfg.hdfs.paths.catalogs.rstrip("/") + "/users"
    assert "dt" not in hive_tables.sql_values(cfg)


def test_hive_register_partitions_rendered(cfg):
    tables = hive_tables.HiveTables("db1", {t: f"hdfs://nn:8020/lake/{t}" for t in hive_tables.LAKE_TABLES})
    stmts = tables.statements("register_partitions.sql", "2026-03-02")
    assert stmts[1] == (
        "ALTER TABLE `db1`.sessions ADD IF NOT EXISTS PARTITION (dt='2026-03-02')\n"
        "LOCATION 'hdfs://nn:8020/lake/sessions/dt=2026-03-02'"
    )
