"""The dashboards tree (superset/) and the bundle/export logic of iptv.superset, without a Superset."""

from __future__ import annotations

import copy
import io
import zipfile

import pytest
import yaml

from iptv.config import Config, with_overrides
from iptv.superset import bundle, deploy

pytestmark = pytest.mark.unit

#: Chart types removed in Superset 5 (the legacy NVD3/others); the tree uses their ECharts/v2 successors.
LEGACY_VIZ = {"heatmap", "histogram", "line", "bar", "dist_bar", "area", "pie_legacy", "big_number_legacy"}
MART_BUCKETS = ["<1m", "1-5m", "5-15m", "15-30m", "30-60m", "1-2h", "2-4h", "4h+"]


@pytest.fixture(scope="module")
def tree():
    return bundle.load_tree()


def of_kind(tree, kind):
    return {a.path: a for a in tree.values() if a.kind == kind}


def test_tree_has_the_six_dashboards_with_a_date_filter_each_and_modern_charts(tree):
    dashboards = {a.name: a.data for a in of_kind(tree, "dashboards").values()}
    assert set(dashboards) == {
        "IPTV audience", "IPTV channels", "IPTV shows & series", "IPTV viewing durations", "IPTV pipeline health",
        "IPTV forecast",
    }  # fmt: skip
    for title, d in dashboards.items():
        filters = d["metadata"]["native_filter_configuration"]
        assert [f["filterType"] for f in filters].count("filter_time") == 1, title
        assert d["published"] is True
    names = {f["name"] for f in dashboards["IPTV shows & series"]["metadata"]["native_filter_configuration"]}
    assert {"Channel", "Genre"} <= names
    for chart in of_kind(tree, "charts").values():
        assert chart.data["viz_type"] not in LEGACY_VIZ, chart.path
        assert chart.data["viz_type"] == chart.data["params"]["viz_type"]


def test_every_chart_is_on_a_dashboard_and_every_uuid_is_explicit(tree):
    placed = {n["meta"]["uuid"] for d in of_kind(tree, "dashboards").values() for n in bundle.chart_nodes(d.data)}
    assert placed == {a.uuid for a in of_kind(tree, "charts").values()}
    for a in tree.values():
        assert len(a.uuid) == 36 and a.data["version"] == "1.0.0"


def test_tree_holds_no_password_and_uses_the_read_only_role(tree):
    (db,) = of_kind(tree, "databases").values()
    assert f"iptv_reader:{bundle.MASKED}@" in db.data["sqlalchemy_uri"]
    assert db.data["allow_dml"] is False and db.data["expose_in_sqllab"] is False
    broken = copy.deepcopy(tree)
    broken[db.uuid].data["sqlalchemy_uri"] = "postgresql+psycopg2://iptv_reader:secret@h:5433/iptv"
    with pytest.raises(bundle.TreeError, match="password"):
        bundle.check_references(broken)


def test_datasets_have_a_schema_and_temporal_dt(tree):
    for a in of_kind(tree, "datasets").values():
        assert a.data["schema"] == "iptv_dw", a.path
        dttm = {c["column_name"] for c in a.data["columns"] if c["is_dttm"]}
        assert a.data["main_dttm_col"] in dttm, a.path
    buckets = of_kind(tree, "datasets")["datasets/IPTV_warehouse/session_buckets.yaml"].data["sql"]
    assert [b for b in MART_BUCKETS if f"'{b}'" in buckets] == MART_BUCKETS


def test_physical_datasets_are_warehouse_tables_and_health_charts_the_quarantine(tree):
    from iptv import warehouse

    physical = {a.data["table_name"] for a in of_kind(tree, "datasets").values() if not a.data["sql"]}
    assert "quarantine_daily" in physical and physical <= set(warehouse.TABLES)
    (health,) = [a for a in of_kind(tree, "dashboards").values() if a.name == "IPTV pipeline health"]
    charts = {n["meta"]["sliceName"]: tree[n["meta"]["uuid"]].data for n in bundle.chart_nodes(health.data)}
    quarantine = charts["Quarantined events by reason and day"]
    assert quarantine["slice_name"] == "Quarantined events by reason and day"
    assert tree[quarantine["dataset_uuid"]].data["table_name"] == warehouse.QUARANTINE_TABLE
    assert quarantine["params"]["groupby"] == ["reason"] and quarantine["params"]["stack"] == "Stack"
    assert quarantine["params"]["x_axis"] == tree[quarantine["dataset_uuid"]].data["main_dttm_col"] == "dt"
    # the reconciliation's last run (scripts/reconcile.py --store): its gaps first
    reconcile = charts["Reconciliation: gaps first, then the figures compared (last run)"]
    assert tree[reconcile["dataset_uuid"]].data["table_name"] == warehouse.RECONCILE_TABLE
    assert reconcile["params"]["order_by_cols"][0] == '["gap", false]'
    assert {"gap", "subject", "detail"} <= set(reconcile["params"]["all_columns"])
    date_filter = health.data["metadata"]["native_filter_configuration"][0]
    assert date_filter["filterType"] == "filter_time" and date_filter["scope"]["excluded"] == []


def test_bundle_is_one_folder_with_metadata_and_the_address_of_the_config(tree):
    cfg = with_overrides(Config(), {"postgres.host": "gp.example", "postgres.port": 6000})
    inst = bundle.for_instance(tree, cfg)
    content = bundle.build_bundle(inst.values())
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        names = zf.namelist()
        assert {n.split("/")[0] for n in names} == {bundle.BUNDLE_ROOT}
        assert yaml.safe_load(zf.read(f"{bundle.BUNDLE_ROOT}/metadata.yaml"))["type"] == "assets"
        db = yaml.safe_load(zf.read(f"{bundle.BUNDLE_ROOT}/databases/IPTV_warehouse.yaml"))
    assert db["sqlalchemy_uri"] == f"postgresql+psycopg2://iptv_reader:{bundle.MASKED}@gp.example:6000/iptv"
    assert bundle.database_paths(inst.values()) == ["databases/IPTV_warehouse.yaml"]


def _as_export(tree, chart_id_offset=100):
    """The tree as an instance would export it: real chart ids, volatile params, keys of its own."""
    out = []
    for a in tree.values():
        data = copy.deepcopy(a.data)
        if a.kind == "charts":
            data["params"].update({"slice_id": 7, "datasource": "3__table", "dashboards": [1]})
            data["query_context"] = '{"x": 1}'
        if a.kind == "dashboards":
            for node in bundle.chart_nodes(data):
                node["meta"]["chartId"] += chart_id_offset
            for nf in data["metadata"]["native_filter_configuration"]:
                nf["scope"]["excluded"] = [i + chart_id_offset for i in nf["scope"]["excluded"]]
            data["metadata"]["chart_configuration"] = {"1": {}}
        if a.kind == "datasets":
            data["columns"] = list(reversed(data["columns"]))
            data["extra_key_of_the_instance"] = 1
        name = f"{a.kind}/{a.name}_{len(out)}.yaml" if a.kind != "datasets" else a.path
        out.append((name, data))
    return out


def test_export_normalises_back_to_the_tree_and_a_redeploy_changes_nothing(tree):
    actual = bundle.normalise_export(_as_export(tree), tree)
    assert {u: a.path for u, a in actual.items()} == {u: a.path for u, a in tree.items()}
    plan = bundle.changes(tree, actual)
    assert plan["create"] == plan["update"] == [] and len(plan["unchanged"]) == len(tree)
    again = bundle.normalise_export([(a.path, a.data) for a in actual.values()], tree)
    assert {u: a.data for u, a in again.items()} == {u: a.data for u, a in actual.items()}


def test_a_changed_title_is_an_update_and_a_missing_object_a_create(tree):
    actual = bundle.normalise_export(_as_export(tree), tree)
    chart = next(a for a in actual.values() if a.path == "charts/audience_daily_watch_hours.yaml")
    chart.data["slice_name"] = "edited in the UI"
    del actual[next(a.uuid for a in tree.values() if a.path == "charts/health_lag.yaml")]
    plan = bundle.changes(tree, actual)
    assert plan["update"] == ["charts/audience_daily_watch_hours.yaml"]
    assert plan["create"] == ["charts/health_lag.yaml"]


def test_the_deploy_puts_the_configured_schema_in_the_datasets_and_the_export_puts_the_tree_s_back(tree):
    cfg = with_overrides(Config(), {"postgres.schema": "dw_other"})
    inst = bundle.for_instance(tree, cfg)
    datasets = [u for u, a in tree.items() if a.kind == "datasets"]
    virtual = [u for u in datasets if tree[u].data["sql"]]
    assert len(virtual) == 10 and len(datasets) == 17
    for u in datasets:
        assert inst[u].data["schema"] == "dw_other", tree[u].path
        sql = inst[u].data["sql"] or ""
        assert "iptv_dw" not in sql and sql.count("dw_other.") == (tree[u].data["sql"] or "").count("iptv_dw."), sql
    assert (
        "FROM dw_other.fact_session"
        in inst[next(u for u in virtual if "fact_session" in tree[u].data["sql"])].data["sql"]
    )
    for a in tree.values():  # nothing else changes but the database's address
        if a.kind in ("charts", "dashboards"):
            assert inst[a.uuid].data == a.data
    # the instance exports what was deployed: the plan is empty, the tree form equals the tree
    export = _as_export(inst)
    assert bundle.changes(inst, bundle.normalise_export(export, tree)) == {
        "create": [], "update": [], "unchanged": sorted(a.path for a in tree.values()),
    }  # fmt: skip
    back = bundle.normalise_export(export, tree, keep_address=True, schema="dw_other")
    assert bundle.changes(tree, back)["unchanged"] == sorted(a.path for a in tree.values())
    assert [(back[u].data["schema"], back[u].data["sql"]) for u in datasets] == [
        (tree[u].data["schema"], tree[u].data["sql"]) for u in datasets
    ]
    # the default schema deploys the tree's datasets as they are
    default = bundle.for_instance(tree, Config())
    assert all(default[u].data == tree[u].data for u in datasets)


def test_a_schema_rename_that_could_not_be_undone_is_refused(tree):
    broken = copy.deepcopy(tree)
    u = next(u for u, a in tree.items() if a.kind == "datasets" and a.data["sql"])
    broken[u].data["sql"] += " UNION ALL SELECT * FROM dw_other.x"
    with pytest.raises(bundle.TreeError, match="dw_other"):
        bundle.for_instance(broken, with_overrides(Config(), {"postgres.schema": "dw_other"}))
    with pytest.raises(bundle.TreeError, match="postgres.schema"):
        bundle.for_instance(tree, with_overrides(Config(), {"postgres.schema": "DW; drop"}))
    ds = {"schema": "iptv_dw", "sql": "SELECT a.iptv_dw, x_iptv_dw.t FROM iptv_dw.t JOIN iptv_dw .u ON TRUE"}
    assert bundle.rename_schema(ds, "iptv_dw", "dw2")["sql"] == (
        "SELECT a.iptv_dw, x_iptv_dw.t FROM dw2.t JOIN iptv_dw .u ON TRUE"
    )
    assert bundle.rename_schema({"schema": "public", "sql": "SELECT 1 FROM iptv_dw.t"}, "iptv_dw", "dw2") == {
        "schema": "public", "sql": "SELECT 1 FROM iptv_dw.t",
    }  # fmt: skip


def test_write_tree_round_trips(tree, tmp_path):
    bundle.write_tree(tree, tmp_path)
    again = bundle.load_tree(tmp_path)
    assert {u: a.data for u, a in again.items()} == {u: a.data for u, a in tree.items()}
    assert bundle.write_tree(again, tmp_path) == []


def test_viewer_gets_reads_and_filter_state_but_no_writes_explore_or_sql_lab():
    gamma = [
        {"id": 1, "permission_name": "can_read", "view_menu_name": "Chart"},
        {"id": 2, "permission_name": "can_write", "view_menu_name": "Chart"},
        {"id": 3, "permission_name": "can_write", "view_menu_name": "Dashboard"},
        {"id": 4, "permission_name": "can_write", "view_menu_name": "DashboardFilterStateRestApi"},
        {"id": 5, "permission_name": "can_explore", "view_menu_name": "Superset"},
        {"id": 6, "permission_name": "can_export_streaming_csv", "view_menu_name": "SQLLab"},
        {"id": 7, "permission_name": "can_dashboard", "view_menu_name": "Superset"},
        {"id": 8, "permission_name": "can_write", "view_menu_name": "Dataset"},
    ]
    pvms = [
        {"id": 50, "permission": {"name": "datasource_access"}, "view_menu": {"name": "[IPTV warehouse].[m](id:3)"}},
        {"id": 51, "permission": {"name": "datasource_access"}, "view_menu": {"name": "[other].[x](id:4)"}},
        {"id": 52, "permission": {"name": "datasource_access"}, "view_menu": {"name": "[other].[x](id:33)"}},
    ]
    assert deploy.viewer_permissions(gamma, pvms, {3}) == {1, 4, 7, 50}


def test_every_chart_of_the_tree_has_a_data_query(tree):
    from iptv.superset import queries

    for chart in of_kind(tree, "charts").values():
        ds = tree[chart.data["dataset_uuid"]].data
        temporal = {c["column_name"] for c in ds["columns"] if c["is_dttm"]}
        body = queries.query_context(42, chart.data, temporal)
        (q,) = body["queries"]
        assert body["datasource"] == {"id": 42, "type": "table"}
        assert q["columns"] or q["metrics"], chart.path
        names = {c["column_name"] for c in ds["columns"]} | {m["metric_name"] for m in ds["metrics"]}
        for item in [*q["columns"], *q["metrics"]]:
            name = item["sqlExpression"] if isinstance(item, dict) else item
            assert name in names, f"{chart.path}: {name} is not a column or metric of its dataset"
