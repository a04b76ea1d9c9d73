"""The dashboards on the real Superset and warehouse (issue #13).

The session starts Superset (and PostgreSQL) if they are not running and deploys superset/ as `make demo` does.
An empty local warehouse (a fresh stack) gets the deterministic sample lake of the warehouse tests loaded into
iptv_dw for the module and emptied again at its end; a warehouse with data (after `make demo`) is used as it is.
Then: every chart's query runs and returns rows; the daily watch hours, top channel and duration histogram
charts give the marts' numbers; a redeploy changes nothing; an export of the instance equals the tree; a title
changed in the tree is on the instance after a deploy; the viewer is refused chart edits and SQL (403); and
headless Chromium (Debian's, driven by Selenium through /usr/bin/chromedriver: nothing downloads a browser) logs
in as the viewer, opens every dashboard, waits until each chart has rendered, asserts none shows an error and
saves a screenshot.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from oracle.sample_warehouse import fetch_rows, load_sample_warehouse

from iptv import db, warehouse
from iptv.superset import bundle, deploy, queries
from iptv.superset.client import SupersetClient, SupersetError

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
#: Where the full-size screenshots go.
SHOTS = Path(os.environ.get("SUPERSET_SCREENSHOTS", "/tmp/iptv-superset-screenshots"))
#: Set (to docs/) to refresh the README's small pictures of the dashboards.
README_SHOTS = os.environ.get("SUPERSET_README_SHOTS")


def _small_copy(shot: Path, target_dir: Path, width: int = 900) -> Path:
    """A small PNG of a screenshot for the README (scaled to ``width``, 128 colours)."""
    from PIL import Image

    target_dir.mkdir(parents=True, exist_ok=True)
    out = target_dir / shot.name
    with Image.open(shot) as img:
        small = img.convert("RGB").resize((width, round(img.height * width / img.width)), Image.LANCZOS)
        small.quantize(colors=128).save(out, optimize=True)
    return out


#: The tables the sample lake fills; used only when every one of them is empty, and emptied again afterwards.
SAMPLE_TABLES = ("fact_session", "dim_channel", "dim_user", "dim_programme", "mart_daily", "mart_channel_daily",
                 "mart_hourly", "mart_weekday_hour", "mart_duration_hist", "mart_programme", "mart_genre_hourly",
                 "load_rejects", "quarantine_daily", "forecast_hourly", "subscriber_scores",
                 "reconcile_results")  # fmt: skip
ANALYTICS_TABLES = ("forecast_hourly", "subscriber_scores")


def _counts(cfg) -> dict[str, int]:
    out = {}
    with db.connect(cfg, "reader") as conn, conn.cursor() as cur:
        for table in SAMPLE_TABLES:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"iptv_dw.{table}",))
            if cur.fetchone()[0]:
                cur.execute(f"SELECT COUNT(*) FROM iptv_dw.{table}")
                out[table] = cur.fetchone()[0]
            else:
                out[table] = 0
    return out


def _load_sample(cfg, tmp_root: Path) -> None:
    """The deterministic sample lake of the warehouse tests (14 days up to today) into an empty iptv_dw."""
    today = dt.date.today()
    dates = [today - dt.timedelta(days=i) for i in range(13, -1, -1)]
    load_sample_warehouse(cfg, warehouse.Warehouse(cfg), tmp_root, dates, seed=13, sessions_per_day=600,
                          n_users=150, n_channels=24, quarantine=True)  # fmt: skip
    log.info("loaded the sample lake (%d days) into the empty iptv_dw", len(dates))


def _fill_reconcile(cfg, lake_root: Path) -> None:
    """reconcile_results for the Pipeline health dashboard: the reconciliation's warehouse checks (sessions of the
    lake per date against fact_session and the marts) of the sample lake, stored as scripts/reconcile.py --store
    does. The Kafka checks need the live topic, which the sample never went through."""
    from iptv import reconcile as rc
    from iptv import reconcile_sources as sources

    sessions = lake_root / cfg.hdfs.paths.sessions.lstrip("/")
    counts = {
        dt.date.fromisoformat(d.name[3:]): sum(len(f.read_text().splitlines()) for f in d.glob("*.csv"))
        for d in sessions.glob("dt=*")
    }
    wh = warehouse.Warehouse(cfg)
    conn = db.connect(cfg, "loader")
    try:
        totals = sources.warehouse_totals(conn, wh, min(counts), max(counts))
        report = rc.reconcile_dates(sources.date_totals(counts, totals))
        target = sources.Target(topic="-", group="-", paths=cfg.hdfs.paths.as_dict(), schema=wh.schema)
        rows = sources.store(conn, wh, report, target, dt.datetime.now(dt.UTC))
    finally:
        conn.close()
    log.info("stored the sample's reconciliation: %s (%d rows)", rc.summary_line(report), rows)


def _fill_analytics(cfg) -> None:
    """forecast_hourly and subscriber_scores for the Forecast dashboard, from the warehouse through the analytics'
    own functions but without the backtest and the classifiers, which need more history than the sample's 14 days:
    SeasonalNaive(24) for the 7 days after the newest date, and as scores the subscribers' share of the last 7
    days with viewing (tomorrow) and of the last 14 without (inactivity), with k-means segments."""
    from analytics import db as adb
    from analytics.db import replace_rows
    from analytics.forecast import Settings, forecast_rows, hourly_frame, stats_forecaster
    from analytics.segments import fit_segments
    from analytics.subscribers import WINDOW, Activity

    reader = adb.WarehouseReader(cfg)
    try:
        until = reader.frame("last_date")["dt"].iloc[0]
        frames = {
            n: reader.frame(n, until=until, days=WINDOW)
            for n in ("hourly_total", "hourly_channel", "user_channel_daily", "user_profile")
        }
        users = reader.frame("users")
    finally:
        reader.close()
    created = dt.datetime.now().replace(microsecond=0)
    hourly = hourly_frame(frames["hourly_total"], frames["hourly_channel"])
    fc = stats_forecaster(Settings(), ("SeasonalNaive24",))(hourly, 168)
    replace_rows(cfg, "iptv_dw", "forecast_hourly", "clear_forecast", forecast_rows(fc, "SeasonalNaive24", created))
    dates = [until - dt.timedelta(days=i) for i in range(WINDOW - 1, -1, -1)]
    act = Activity(frames["user_channel_daily"], users, dates)
    f = act.features(WINDOW - 1)
    scores = f[["user_id"]].assign(
        scored_for=until + dt.timedelta(days=1), p_view_tomorrow=f["days_7"] / 7, p_inactive_7d=1 - f["days_14"] / 14,
        segment=f["user_id"].map(fit_segments(frames["user_profile"], f["user_id"], k=3).assignment),
        created_at=created,
    )  # fmt: skip
    replace_rows(cfg, "iptv_dw", "subscriber_scores", "clear_scores", scores)
    log.info("filled forecast_hourly (%d rows) and subscriber_scores (%d rows)", len(fc), len(scores))


def _empty_analytics(cfg) -> None:
    conn = db.connect(cfg, "loader")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f"iptv_dw.{t}" for t in ANALYTICS_TABLES))
    finally:
        conn.close()


def _empty_again(cfg) -> None:
    conn = db.connect(cfg, "loader")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f"iptv_dw.{t}" for t in SAMPLE_TABLES))
    finally:
        conn.close()
    log.info("emptied iptv_dw again (it held only the tests' sample)")


@pytest.fixture(scope="module")
def superset(platform_for_tests, tmp_path_factory):
    cfg = platform_for_tests.require("superset")
    counts = _counts(cfg)
    sample = not any(counts.values())
    if sample:
        if not cfg.postgres.managed:
            pytest.fail("the external warehouse has no data in iptv_dw: load it (make demo) before these tests")
        lake_root = tmp_path_factory.mktemp("superset-lake")
        _load_sample(cfg, lake_root)
        _fill_reconcile(cfg, lake_root)
    elif not counts["mart_daily"]:
        pytest.fail(f"iptv_dw holds catalogs but no sessions ({counts}); run `make demo` first")
    elif not counts["quarantine_daily"]:
        pytest.fail(
            "iptv_dw holds sessions but no quarantine counts: its dates were synced before quarantine_daily "
            "existed; run `scripts/sync_lake.py --reset` once (idempotent)"
        )
    elif not counts["reconcile_results"]:
        pytest.fail("iptv_dw holds no reconciliation: run `scripts/reconcile.py --store` (make demo does)")
    analytics = not all(_counts(cfg)[t] for t in ANALYTICS_TABLES)
    if analytics:  # the sample, or a demo's warehouse without `python -m analytics forecast` and `score`
        _fill_analytics(cfg)
    report = deploy.deploy(cfg)
    assert len(report.dashboards) == 6, report.dashboards
    yield cfg
    if sample:
        _empty_again(cfg)
    elif analytics:
        _empty_analytics(cfg)


@pytest.fixture(scope="module")
def admin(superset) -> SupersetClient:
    return deploy.connect(superset)


@pytest.fixture(scope="module")
def viewer(superset) -> SupersetClient:
    return deploy.connect(superset, viewer=True)


@pytest.fixture(scope="module")
def tree(superset) -> dict[str, bundle.Asset]:
    return bundle.load_tree()


def _chart(tree, path: str) -> bundle.Asset:
    return next(a for a in tree.values() if a.path == path)


def _run(admin, tree, chart: bundle.Asset) -> list[dict[str, Any]]:
    ds = tree[chart.data["dataset_uuid"]].data
    temporal = {c["column_name"] for c in ds["columns"] if c["is_dttm"]}
    ids = deploy.dataset_ids(admin, tree)
    result = admin.chart_data(queries.query_context(ids[chart.data["dataset_uuid"]], chart.data, temporal))
    return result["result"][0]["data"]


def _close(a: Any, b: Any) -> bool:
    return abs(float(a) - float(b)) < 1e-6


def test_every_chart_query_runs_and_returns_rows(admin, tree):
    charts = [a for a in tree.values() if a.kind == "charts"]
    empty = [a.path for a in charts if not _run(admin, tree, a)]
    assert not empty, f"charts without rows: {empty}"


def test_daily_watch_hours_chart_equals_mart_daily(superset, admin, tree):
    rows = _run(admin, tree, _chart(tree, "charts/audience_daily_watch_hours.yaml"))
    got = {dt.datetime.fromtimestamp(r["dt"] / 1000, dt.UTC).date(): r["watch_hours"] for r in rows}
    want = dict(
        fetch_rows(superset, "SELECT dt, watch_hours FROM iptv_dw.mart_daily "
                        "WHERE dt <= (SELECT MAX(dt) FROM iptv_dw.fact_session)")
    )  # fmt: skip
    assert got.keys() == want.keys()
    assert all(_close(got[d], want[d]) for d in want), (got, want)


def test_top_channel_chart_equals_mart_channel_daily(superset, admin, tree):
    rows = _run(admin, tree, _chart(tree, "charts/channels_top20.yaml"))
    want = fetch_rows(
        superset,
        "SELECT channel_name, SUM(watch_hours) FROM iptv_dw.mart_channel_daily "
        "GROUP BY channel_name ORDER BY 2 DESC LIMIT 20",
    )
    assert len(rows) == len(want) == min(20, len(want))
    assert [r["channel_name"] for r in rows][0] == want[0][0]
    assert {r["channel_name"]: r["watch_hours"] for r in rows}.keys() == {n for n, _ in want}
    assert all(_close(r["watch_hours"], dict(want)[r["channel_name"]]) for r in rows)


def test_duration_histogram_equals_mart_duration_hist(superset, admin, tree):
    rows = _run(admin, tree, _chart(tree, "charts/durations_hist.yaml"))
    got = {r["bucket"].split(". ", 1)[1]: r["sessions"] for r in rows}
    want = dict(fetch_rows(superset, "SELECT bucket_label, SUM(sessions) FROM iptv_dw.mart_duration_hist GROUP BY 1"))
    assert got == {k: int(v) for k, v in want.items()}
    assert sorted(got) == sorted(["<1m", "1-5m", "5-15m", "15-30m", "30-60m", "1-2h", "2-4h", "4h+"])
    assert [r["bucket"] for r in sorted(rows, key=lambda r: r["bucket"])][0] == "1. <1m"
    assert isinstance(next(iter(want.values())), int | Decimal)


def test_quarantine_chart_equals_quarantine_daily(superset, admin, tree):
    rows = _run(admin, tree, _chart(tree, "charts/health_quarantine.yaml"))
    got = {(dt.datetime.fromtimestamp(r["dt"] / 1000, dt.UTC).date(), r["reason"]): r["events"] for r in rows}
    table = fetch_rows(superset, "SELECT dt, reason, events FROM iptv_dw.quarantine_daily")
    want = {(d, reason): int(n) for d, reason, n in table}
    # More than one (date, reason) cell: on the sample several dates, on a demo one arrival date's reasons.
    assert got == want and len(got) > 1


def test_redeploy_changes_nothing_and_export_equals_the_tree(superset, tree, tmp_path):
    report = deploy.deploy(superset)
    assert report.changed == 0 and not report.imported, report.plan
    copy = tmp_path / "tree"
    shutil.copytree(bundle.TREE, copy, ignore=shutil.ignore_patterns("constraints.txt"))
    written = deploy.export(superset, copy)
    assert written == [], f"export differs from the tree in {written}"


def test_a_title_changed_in_the_tree_is_on_the_instance_after_a_deploy(superset, admin, tree, tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(bundle.TREE, copy)
    path = copy / "charts" / "audience_daily_views.yaml"
    data = yaml.safe_load(path.read_text())
    new_title = f"Daily views (renamed {int(time.time())})"
    data["slice_name"] = new_title
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    chart_id = deploy.chart_ids(admin, tree)[data["uuid"]]
    try:
        report = deploy.deploy(superset, root=copy, viewer=False)
        assert report.plan["update"] == ["charts/audience_daily_views.yaml"]
        assert admin.get(f"/api/v1/chart/{chart_id}")["result"]["slice_name"] == new_title
    finally:
        back = deploy.deploy(superset, viewer=False)
        assert back.plan["update"] == ["charts/audience_daily_views.yaml"]
    assert admin.get(f"/api/v1/chart/{chart_id}")["result"]["slice_name"] == data["slice_name"].split(" (")[0]


def test_viewer_sees_the_dashboards_but_may_not_edit_a_chart_or_run_sql(superset, admin, viewer, tree):
    titles = {r["dashboard_title"] for r in viewer.list_all("dashboard", ["dashboard_title"])}
    assert {a.name for a in tree.values() if a.kind == "dashboards"} <= titles
    chart_id = next(iter(deploy.chart_ids(admin, tree).values()))
    with pytest.raises(SupersetError) as put:
        viewer.put(f"/api/v1/chart/{chart_id}", {"slice_name": "hacked"})
    assert put.value.status == 403
    db_id = admin.list_all("database", ["id", "database_name"])
    db_id = next(d["id"] for d in db_id if d["database_name"] == superset.superset.database_name)
    with pytest.raises(SupersetError) as sql:
        viewer.post("/api/v1/sqllab/execute/", {"database_id": db_id, "sql": "SELECT 1", "runAsync": False})
    assert sql.value.status == 403
    ds_id = next(iter(deploy.dataset_ids(admin, tree).values()))
    with pytest.raises(SupersetError) as dset:
        viewer.put(f"/api/v1/dataset/{ds_id}", {"description": "hacked"})
    assert dset.value.status == 403
    assert admin.get(f"/api/v1/chart/{chart_id}")["result"]["slice_name"] != "hacked"


# ---------------------------------------------------------------------------------------------- the browser
RENDER_STATE_JS = """
const holders = Array.from(document.querySelectorAll('[data-test="dashboard-component-chart-holder"]'));
return holders.map(h => {
  const viz = h.querySelector('[data-test-viz-type]');
  return {
    name: viz ? viz.getAttribute('data-test-chart-name') : null,
    loading: !!h.querySelector('[data-test="loading-indicator"], .loading'),
    drawn: !!h.querySelector('canvas, svg, table, .header-line'),
    error: (Array.from(h.querySelectorAll('[role="alert"], .ant-alert-error, [data-test="error-message"]'))
              .map(e => e.innerText).join(' | ')) || null,
  };
});
"""


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are not installed: make bootstrap installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1200",
    ):
        opts.add_argument(arg)
    opts.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    yield driver
    driver.quit()


def _login(driver, url: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/login/")
    WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "username"))).send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The login redirect took over 30 s once at the end of a loaded full run.
    WebDriverWait(driver, 90).until(lambda d: "/login" not in d.current_url)


def test_viewer_opens_every_dashboard_and_every_chart_renders_without_error(superset, admin, tree, browser):
    creds = deploy.superset_credentials(superset)
    url = superset.superset.url.rstrip("/")
    _login(browser, url, superset.superset.viewer_user, creds["viewer_password"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    for title, link in deploy.dashboard_urls(superset, admin, tree).items():
        dashboard = next(a for a in tree.values() if a.kind == "dashboards" and a.name == title)
        expected = {n["meta"]["sliceName"] for n in bundle.chart_nodes(dashboard.data)}
        browser.get(link)
        deadline = time.monotonic() + 120
        while True:
            state = browser.execute_script(RENDER_STATE_JS)
            done = len(state) == len(expected) and all(s["drawn"] and not s["loading"] for s in state)
            if done or any(s["error"] for s in state) or time.monotonic() > deadline:
                break
            time.sleep(1)
        time.sleep(1.5)  # animations settle before the picture
        shot = SHOTS / f"superset-{dashboard.data['slug']}.png"
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1600, max(1200, min(int(height) + 40, 4000)))  # the whole dashboard
        time.sleep(1.5)
        state = browser.execute_script(RENDER_STATE_JS) if done else state
        browser.save_screenshot(str(shot))
        browser.set_window_size(1600, 1200)
        log.info("%s: %s", title, shot)
        if README_SHOTS:
            _small_copy(shot, Path(README_SHOTS))
        errors = {s["name"]: s["error"] for s in state if s["error"]}
        assert not errors, f"{title}: charts show errors: {errors} (screenshot {shot})"
        assert {s["name"] for s in state} == expected, f"{title}: charts on the page {state}"
        assert done, f"{title}: not every chart rendered within 120 s: {state} (screenshot {shot})"


def test_a_chart_edited_on_the_instance_is_exported_into_its_tree_file(superset, admin, tree, tmp_path):
    chart = _chart(tree, "charts/health_lag.yaml")
    chart_id = deploy.chart_ids(admin, tree)[chart.uuid]
    copy = tmp_path / "tree"
    shutil.copytree(bundle.TREE, copy)
    edited = f"Lag behind now, edited in the UI {int(time.time())}"
    admin.put(f"/api/v1/chart/{chart_id}", {"slice_name": edited})
    try:
        written = deploy.export(superset, copy)
        assert written == ["charts/health_lag.yaml"], written  # only the edited chart's file changes
        assert yaml.safe_load((copy / "charts" / "health_lag.yaml").read_text())["slice_name"] == edited
        assert deploy.deploy(superset, dry_run=True).plan["update"] == ["charts/health_lag.yaml"]
    finally:
        back = deploy.deploy(superset, viewer=False)
    assert back.plan["update"] == ["charts/health_lag.yaml"]
    assert admin.get(f"/api/v1/chart/{chart_id}")["result"]["slice_name"] == chart.data["slice_name"]
