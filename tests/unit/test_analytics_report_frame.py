"""The report's frame without a warehouse: the registry of insights and their queries, the files it writes, and
the exit code when the warehouse cannot be reached."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import socket

import pandas as pd
import pytest

from analytics import cli, insights, render, report
from analytics.db import SQL_SUBDIR
from analytics.insight import Insight, NoDataError
from analytics.insights.figures import new_figure
from iptv.config import REPO_ROOT, load_config, with_overrides

pytestmark = pytest.mark.unit


def _insight(key: str) -> Insight:
    fig = new_figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    return Insight(key, f"Title <{key}>", f"Sentence of {key} & more.", fig, pd.DataFrame({"x": [1.5, 2.0]}))


def test_every_query_of_an_insight_is_a_file():
    for builder in insights.BUILDERS:
        for query in builder.queries:
            assert (REPO_ROOT / "greenplum" / SQL_SUBDIR / f"{query}.sql").is_file(), (builder.key, query)
    assert len({b.key for b in insights.BUILDERS}) == len(insights.BUILDERS)


def test_register_appends_or_replaces(monkeypatch):
    monkeypatch.setattr(insights, "BUILDERS", list(insights.BUILDERS))
    n = len(insights.BUILDERS)
    insights.register(insights.InsightBuilder("segments", ("daily",), lambda d: _insight("segments")))
    assert [b.key for b in insights.BUILDERS][-1] == "segments" and len(insights.BUILDERS) == n + 1
    insights.register(insights.InsightBuilder("daily_viewing", ("daily",), lambda d: _insight("x")))
    assert len(insights.BUILDERS) == n + 1 and insights.BUILDERS[0].build(None).key == "x"


class _Frames:
    def __init__(self):
        self.asked: list[str] = []

    def get(self, name: str) -> pd.DataFrame:
        self.asked.append(name)
        return pd.DataFrame({"name": [name]})


def test_build_all_passes_the_frames_in_order_and_leaves_out_no_data():
    def two(a, b):
        return _insight(f"{a['name'][0]}+{b['name'][0]}")

    def empty(a):
        raise NoDataError("nothing here")

    frames = _Frames()
    built, skipped = report.build_all(
        frames, [insights.InsightBuilder("two", ("q1", "q2"), two), insights.InsightBuilder("e", ("q3",), empty)],
        progress=False,
    )  # fmt: skip
    assert [i.key for i in built] == ["q1+q2"]
    assert skipped == {"e": "nothing here"}
    assert frames.asked == ["q1", "q2", "q3"]


def test_report_files_are_self_contained(tmp_path):
    html_file = render.write_report(
        tmp_path, [_insight("a"), _insight("b")], {"c": "no guide"}, "Heading", dt.datetime(2026, 3, 2, 12, 0)
    )
    page = html_file.read_text(encoding="utf-8")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "b.png").is_file()
    assert page.count('src="data:image/png;base64,') == 2
    embedded = page.split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(embedded) == (tmp_path / "a.png").read_bytes()
    assert "http" not in page  # no external resource
    assert "Title &lt;a&gt;" in page and "Sentence of a &amp; more." in page and "no guide" in page
    meta = json.loads((tmp_path / "insights.json").read_text(encoding="utf-8"))
    assert [e["sentence"] for e in meta["insights"]] == ["Sentence of a & more.", "Sentence of b & more."]
    assert meta["skipped"] == {"c": "no guide"} and meta["insights"][0]["figure"] == "a.png"


def test_unreachable_warehouse_exits_3_with_one_line(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # closed again when the block ends: nobody listens there
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"iptv_reader": "x"}), encoding="utf-8")
    cfg = with_overrides(load_config(), {"postgres": {"port": closed_port, "credentials_file": str(creds)}})
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["--out", str(tmp_path / "out"), "--no-progress"])
    assert report.run(args, cfg) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith(f"analytics report: warehouse 127.0.0.1:{closed_port} unreachable: ")
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["report", "forecast", "score"])
def test_every_command_exits_3_with_one_line_when_the_warehouse_is_unreachable(command, tmp_path, capsys, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"iptv_reader": "x", "iptv_loader": "y"}), encoding="utf-8")
    monkeypatch.setenv("IPTV__POSTGRES__PORT", str(closed_port))
    monkeypatch.setenv("IPTV__POSTGRES__CREDENTIALS_FILE", str(creds))
    assert cli.main([command, "--out", str(tmp_path / "out"), "--no-progress"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"analytics {command}: " in err and f"port {closed_port} failed" in err
    assert err.count("\n") == 1 and "Traceback" not in err
