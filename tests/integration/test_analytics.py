"""``python -m analytics forecast`` and ``score`` on a real warehouse: a few hundred simulated subscribers x 28
days written as the lake's files and loaded by iptv.warehouse into a scratch schema (dropped at the end), so
the real iptv_dw is never touched. Small models (--fast) keep it quick."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from oracle.sample_warehouse import drop_schema, fetch_rows, load_lake
from oracle.simulated_lake import write_simulated_lake

from analytics import cli
from iptv import warehouse

pytestmark = pytest.mark.integration

FIRST = dt.date(2025, 9, 1)
DAYS = 28
USERS = 300
MODELS = {"MSTL", "SeasonalNaive24", "SeasonalNaive168", "SeasonalWindowAverage", "LightGBM"}


@pytest.fixture(scope="module")
def loaded(postgres, tmp_path_factory):
    cfg = postgres
    wh = warehouse.Warehouse(cfg, schema=f"iptv_dw_test_analytics_{uuid.uuid4().hex[:8]}")
    root = tmp_path_factory.mktemp("analytics-lake")
    dates = write_simulated_lake(root, cfg.hdfs.paths.as_dict(), FIRST, DAYS, USERS, seed=3, guide_files=False)
    load_lake(cfg, wh, root, dates)
    yield cfg, wh, dates
    drop_schema(cfg, wh)


def _argv(wh, dates, out) -> list[str]:
    return ["--schema", wh.schema, "--out", str(out), "--until", dates[-1].isoformat(),
            "--days", str(DAYS), "--fast", "--no-progress"]  # fmt: skip


def test_forecast_writes_the_coming_hours_and_the_backtest(loaded, tmp_path):
    cfg, wh, dates = loaded
    assert cli.run_command("forecast", _argv(wh, dates, tmp_path), cfg) == 0
    report = json.loads((tmp_path / "backtest.json").read_text())
    assert report["windows"] == 7 and report["horizon_h"] == 24 and report["step_h"] == 24
    assert len(report["cutoffs"]) == 7 and report["cutoffs"][-1].startswith(f"{dates[-2]}T23:00")
    assert set(report["models"]) == MODELS and report["chosen"] in MODELS - {"MSTL"}  # MSTL: only some series
    assert report["chosen_total"] in MODELS
    for name, m in report["models"].items():
        assert {"mase", "wape", "mae", "rel_mae", "coverage80", "coverage95", "total_rel_mae"} <= set(m), name
        assert m["wape"] > 0 and m["mae"] > 0
    assert report["models"]["SeasonalNaive168"]["rel_mae"] == 1.0
    assert 0 < report["models"]["LightGBM"]["coverage80"] <= report["models"]["LightGBM"]["coverage95"] <= 1

    tomorrow = dates[-1] + dt.timedelta(days=1)
    total = fetch_rows(cfg, f"SELECT dt, hour, model, yhat, lo80, hi80, lo95, hi95 FROM {wh.schema}.forecast_hourly "
                       "WHERE channel_id = 0 ORDER BY dt, hour")  # fmt: skip
    assert len(total) == 168  # the 7 days after the history, hour by hour
    assert (total[0][0], total[0][1]) == (tomorrow, 0)
    assert (total[-1][0], total[-1][1]) == (tomorrow + dt.timedelta(days=6), 23)
    assert {r[2] for r in total} == {report["chosen_total"]}
    for _, _, _, yhat, lo80, hi80, lo95, hi95 in total:
        assert 0 <= lo95 <= lo80 <= yhat <= hi80 <= hi95
    evening = {r[1]: r[3] for r in total[:24]}
    assert evening[20] > 2 * evening[4]  # prime time against the night minimum
    channels = fetch_rows(cfg, f"SELECT COUNT(DISTINCT channel_id), COUNT(*) FROM {wh.schema}.forecast_hourly")[0]
    models = fetch_rows(cfg, f"SELECT DISTINCT model FROM {wh.schema}.forecast_hourly WHERE channel_id <> 0")
    assert models == [(report["chosen"],)]
    seen = fetch_rows(cfg, f"SELECT COUNT(DISTINCT channel_id) FROM {wh.schema}.fact_session")[0][0]
    assert channels == (seen + 1, (seen + 1) * 168)


def test_score_writes_every_subscriber(loaded, tmp_path):
    cfg, wh, dates = loaded
    assert cli.run_command("score", _argv(wh, dates, tmp_path), cfg) == 0
    report = json.loads((tmp_path / "scores.json").read_text())
    for target in ("view_next", "inactive_7d"):
        ev = report["evaluation"][target]
        assert {"roc_auc", "pr_auc", "brier", "positive_rate"} <= set(ev["model"]) and ev["model"]["n"] > 0
        assert set(ev["baseline"]) == set(ev["model"])
    assert report["evaluation"]["view_next"]["model"]["roc_auc"] > 0.6
    rows = fetch_rows(cfg, f"SELECT user_id, scored_for, p_view_tomorrow, p_inactive_7d, segment "
                      f"FROM {wh.schema}.subscriber_scores")  # fmt: skip
    signed_up = fetch_rows(cfg, f"SELECT COUNT(*) FROM {wh.schema}.dim_user WHERE signup_date <= '{dates[-1]}'")[0][0]
    assert len(rows) == signed_up == report["subscribers"] and 0 < signed_up <= USERS
    assert {r[1] for r in rows} == {dates[-1] + dt.timedelta(days=1)}
    assert all(0 <= r[2] <= 1 and 0 <= r[3] <= 1 for r in rows)
    segments = {r[4] for r in rows}
    assert len(segments - {"inactive"}) == 5 and set(report["segments"]) == segments
