"""``python -m analytics report`` against a real warehouse: the sample lake loaded by the pipeline's loader into
a throw-away schema (dropped at the end, so iptv_dw is never touched). The files are written, every insight is
built, and its numbers equal the marts' (and, for the switches, a recount from fact_session); the notebooks
execute without error."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import jupytext
import nbclient
import pandas as pd
import pytest
from oracle.sample_warehouse import drop_schema, load_sample_warehouse

from analytics import insights, report
from analytics.insights import concentration
from iptv import db, warehouse
from iptv.config import REPO_ROOT

pytestmark = pytest.mark.integration

# Four weeks from Monday 2 March 2026: every weekday four times.
DATES = [dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(28)]
NOTEBOOKS = sorted((REPO_ROOT / "analytics" / "notebooks").glob("*.py"))


@pytest.fixture(scope="module")
def sample(postgres, tmp_path_factory):
    wh = warehouse.Warehouse(postgres, schema=f"iptv_dw_test_report_{os.getpid()}")
    load_sample_warehouse(postgres, wh, tmp_path_factory.mktemp("lake"), DATES, seed=13, sessions_per_day=600,
                          n_users=150, n_channels=24)  # fmt: skip
    yield postgres, wh
    drop_schema(postgres, wh)


def _rows(cfg, sql: str) -> pd.DataFrame:
    conn = db.connect(cfg, "loader")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cli_run(sample, tmp_path_factory):
    cfg, wh = sample
    out = tmp_path_factory.mktemp("report")
    proc = subprocess.run(
        [sys.executable, "-m", "analytics", "report", "--schema", wh.schema, "--out", str(out), "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "insights.json").read_text(encoding="utf-8"))
    return out, proc.stdout, {e["key"]: e["sentence"] for e in meta["insights"]}


def test_report_writes_every_insight(cli_run):
    out, stdout, sentences = cli_run
    keys = [b.key for b in insights.BUILDERS]
    assert list(sentences) == keys
    for key in keys:
        assert (out / f"{key}.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(keys)
    assert f"report: {len(keys)} insights over 29 days" in stdout  # 28 dates and the midnight crossers' day


def test_sentences_state_the_marts_numbers(sample, cli_run):
    cfg, wh = sample
    _, _, sentences = cli_run
    daily = _rows(cfg, f"SELECT dt, watch_hours, sessions FROM {wh.table('mart_daily')}")
    mean_hours = float(daily["watch_hours"].astype(float).mean())
    assert f"subscribers watched {mean_hours:,.1f} hours a day" in sentences["daily_viewing"]
    channels = _rows(
        cfg,
        f"SELECT channel_id, SUM(watch_hours) AS h FROM {wh.table('mart_channel_daily')} GROUP BY channel_id "
        "ORDER BY h DESC",
    )
    hours = channels["h"].astype(float)
    assert f"channels take {hours.head(6).sum() / hours.sum() * 100:.1f} % of all" in sentences["channel_share"]
    assert f"Gini coefficient of watch hours is {concentration.gini(hours):.2f}" in sentences["concentration"]
    peak = _rows(cfg, f"SELECT * FROM {wh.table('mart_weekday_hour')} ORDER BY avg_viewers DESC LIMIT 1").iloc[0]
    assert f"with {float(peak['avg_viewers']):,.1f} viewers on average" in sentences["weekday_hour"]


def test_switches_equal_a_recount_from_the_sessions(sample):
    cfg, wh = sample
    built = report.collect(cfg, wh.schema, progress=False)
    flow = next(i for i in built.insights if i.key == "audience_flow")
    s = _rows(
        cfg,
        f"SELECT user_id, channel_id, time_start, time_end, session_id FROM {wh.table('fact_session')} "
        "ORDER BY user_id, time_start, time_end, session_id",
    )
    prev = s.groupby("user_id").shift(1)
    gap_s = (s["time_start"] - prev["time_end"]).dt.total_seconds().clip(lower=0)
    close = prev["channel_id"].notna() & (gap_s < 300)
    switched = close & (prev["channel_id"] != s["channel_id"])
    pairs = pd.DataFrame({"f": prev["channel_id"][switched].astype(int), "t": s["channel_id"][switched]})
    top = pairs.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    assert flow.sentence.startswith(f"{int(close.sum()):,} sessions started less than 5 minutes")
    assert f"of all {int(switched.sum()):,})" in flow.sentence
    assert flow.table["switches"].tolist() == top.head(len(flow.table)).tolist()


def test_loyalty_equals_average_audience_over_reach(sample):
    cfg, wh = sample
    built = report.collect(cfg, wh.schema, progress=False)
    table = next(i for i in built.insights if i.key == "loyalty").table
    days = f"(SELECT COUNT(DISTINCT dt) FROM {wh.table('mart_channel_daily')})"
    expected = _rows(
        cfg,
        f"""SELECT m.channel_id, SUM(m.watch_hours) / (24 * {days}) / r.reach AS loyalty
            FROM {wh.table("mart_channel_daily")} m
            JOIN (SELECT channel_id, COUNT(DISTINCT user_id) AS reach FROM {wh.table("fact_session")}
                  GROUP BY channel_id) r ON r.channel_id = m.channel_id
            GROUP BY m.channel_id, r.reach ORDER BY loyalty DESC, m.channel_id""",
    )
    assert table["loyalty"].tolist() == pytest.approx(expected["loyalty"].astype(float).head(len(table)).tolist())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(sample, path, monkeypatch):
    _, wh = sample
    monkeypatch.setenv("ANALYTICS_SCHEMA", wh.schema)
    notebook = jupytext.read(path)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert outputs and not [o for o in outputs if o.get("output_type") == "error"]
    if path.name == "insights.py":  # every insight's figure
        assert sum("image/png" in o.get("data", {}) for o in outputs) == len(insights.BUILDERS)
