"""The report's insights on small hand-made frames: every number a sentence states is computed here by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.insight import NoDataError
from analytics.insights import audience, channels, concentration, flow, programmes
from analytics.insights.figures import counted, pct

pytestmark = pytest.mark.unit

D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)  # Mon, Tue, Wed


# ------------------------------------------------------------------------------------------ concentration


def test_gini_of_known_vectors():
    assert concentration.gini([1, 2, 3, 4]) == pytest.approx(0.25)  # 2 * 30 / (4 * 10) - 5 / 4
    assert concentration.gini([0, 0, 0, 1]) == pytest.approx(0.75)  # (n - 1) / n: one holds all
    assert concentration.gini([5, 5, 5]) == pytest.approx(0.0)
    assert concentration.gini([]) == 0.0
    assert concentration.gini([0, 0]) == 0.0


def test_lorenz_curve_and_top_share():
    x, y = concentration.lorenz([3, 1])
    assert x.tolist() == [0.0, 0.5, 1.0]
    assert y.tolist() == [0.0, 0.25, 1.0]
    assert concentration.top_share([1, 2, 3, 4], 2) == pytest.approx(0.7)


def test_concentration_over_channels_and_subscribers():
    channel_daily = pd.DataFrame(
        {"dt": [D1, D1, D2], "channel_id": [1, 2, 1], "channel_name": ["A", "B", "A"],
         "watch_hours": [10.0, 30.0, 20.0], "views": [1, 1, 1], "viewers": [1, 1, 1]}
    )  # fmt: skip
    # 20 subscribers: one watched 10 h, one 5 h, 18 never: top 10 % = the top 2 = all.
    subscribers = pd.DataFrame({"user_id": range(20), "watch_hours": [10.0, 5.0] + [0.0] * 18, "views": 0})
    insight = concentration.concentration(channel_daily, subscribers)
    ch, sub = insight.table.iloc[0], insight.table.iloc[1]
    assert (ch["n"], ch["top_k"], ch["top_share"]) == (2, 2, 1.0)
    assert ch["gini"] == pytest.approx(concentration.gini([30, 30]))  # A: 10 + 20, B: 30
    assert (sub["n"], sub["top_k"], sub["top_share"], sub["none_share"]) == (20, 2, 1.0, 0.9)
    assert "over the 20 subscribers" in insight.sentence and "90.0 % never watched" in insight.sentence


# ------------------------------------------------------------------------------------------ audience


def test_daily_viewing_means_and_busiest_day():
    daily = pd.DataFrame(
        {"dt": [D1, D2, D3], "watch_hours": [10.0, 20.0, 30.0], "views": [10, 20, 30], "viewers": [5, 6, 7]}
    )
    s = audience.daily_viewing(daily).sentence
    # 20 h and 20 views a day; 60 h * 60 / 60 views = 60 minutes per view; Wednesday holds the 30 h.
    assert "Over 3 days (02 Mar 2026 to 04 Mar 2026)" in s
    assert "20.0 hours a day on average in 20 views (60.0 minutes per view)" in s
    assert "busiest day was Wednesday 04 Mar with 30.0 hours" in s


def test_hour_of_day_averages_over_dates():
    hourly = pd.DataFrame(
        {"dt": [D1, D1, D2, D2], "hour": [0, 1, 0, 1], "viewers": [2, 10, 4, 20], "watch_minutes": [1.0, 2, 3, 4]}
    )
    insight = audience.hour_of_day(hourly)
    assert insight.table["avg_viewers"].tolist() == [3.0, 15.0]
    assert insight.table["avg_watch_minutes"].tolist() == [2.0, 3.0]
    assert "peaks at 01:00 with 15.0 viewers on average, 5.0 times the quietest hour (00:00, 3.0" in insight.sentence


def test_weekday_hour_peak_and_weekend_against_weekdays():
    wh = pd.DataFrame({"weekday": [1, 1, 6, 7], "hour": [20, 21, 20, 20], "avg_viewers": [10.0, 30.0, 60.0, 40.0]})
    insight = audience.weekday_hour_heatmap(wh)
    # Weekend 50 against weekdays 20: +150 %.
    assert "busiest hour of the week is Saturday 20:00 with 60.0 viewers" in insight.sentence
    assert "50.0 viewers against 20.0 on weekdays (+150.0 %)" in insight.sentence
    assert insight.table.shape == (7, 24)
    assert np.isnan(insight.table.loc["Tuesday", 0])


# ------------------------------------------------------------------------------------------ channels


def _channel_daily(hours: list[float], views: list[int] | None = None) -> pd.DataFrame:
    n = len(hours)
    return pd.DataFrame(
        {"dt": [D1] * n, "channel_id": range(1, n + 1), "channel_name": [f"C{i}" for i in range(1, n + 1)],
         "watch_hours": hours, "views": views or [1] * n, "viewers": [1] * n}
    )  # fmt: skip


def test_top_six_and_others():
    shares = channels.top_share(_channel_daily([8, 7, 6, 5, 4, 3, 2, 1]))
    assert shares["label"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6", "Others"]
    assert shares["watch_hours"].tolist() == [8, 7, 6, 5, 4, 3, 3]
    assert shares["share"].sum() == pytest.approx(1.0)
    s = channels.channel_share(_channel_daily([8, 7, 6, 5, 4, 3, 2, 1])).sentence
    # 33 of 36 hours; C1 8 of 36; the other 2 channels 3 of 36.
    assert "take 91.7 % of all watch time, C1 alone 22.2 %; the other 2 channels share the remaining 8.3 %" in s


def test_channel_totals_sum_the_dates():
    frame = pd.concat([_channel_daily([1.0, 2.0]), _channel_daily([3.0, 0.5]).assign(dt=D2)])
    totals = channels.channel_totals(frame)
    assert totals[["channel_id", "watch_hours", "views", "days"]].values.tolist() == [[1, 4.0, 2, 2], [2, 2.5, 2, 2]]


def test_least_watched_per_view():
    insight = channels.least_watched(_channel_daily([2.0, 3.0], views=[4, 2]))
    # C1: 2 h / 4 views = 30 min; C2: 3 h / 2 = 90 min; all: 5 h / 6 views = 50 min.
    assert insight.table["label"].tolist() == ["C1", "C2"]
    assert insight.table["hours_per_view"].tolist() == [0.5, 1.5]
    assert "C1 holds its viewers the shortest: 30.0 minutes per view over 4 views, against 50.0 minutes" in (
        insight.sentence
    )


def test_loyalty_is_average_audience_over_reach():
    two_days = pd.concat([_channel_daily([24.0, 6.0, 1.0]), _channel_daily([24.0, 6.0, 0.0]).assign(dt=D2)])
    reach = pd.DataFrame({"channel_id": [1, 2, 3], "reach": [4, 2, 0], "universe": [10, 10, 10]})
    loyal = channels.channel_loyalty(two_days, reach)
    # 48 h over 48 h: 1 viewer at an average moment, / 4 reached = 0.25; 12 h / 48 h = 0.25 viewers / 2 = 0.125.
    # Channel 3 reached nobody: left out.
    assert loyal["channel_id"].tolist() == [1, 2]
    assert loyal["avg_audience"].tolist() == [1.0, 0.25]
    assert loyal["loyalty"].tolist() == [0.25, 0.125]
    assert loyal["reach_share"].tolist() == [0.4, 0.2]
    s = channels.loyalty(two_days, reach).sentence
    assert "C1 has the most loyal audience: at an average moment it holds 1.00 viewers, 25.0 % of the 4" in s
    assert "the median channel keeps 18.8 %" in s  # (0.25 + 0.125) / 2


# ------------------------------------------------------------------------------------------ audience flow


def _gaps(rows: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["from_channel_id", "to_channel_id", "gap_min", "pairs"])
    return frame.assign(
        from_channel_name="ch" + frame["from_channel_id"].astype(str),
        to_channel_name="ch" + frame["to_channel_id"].astype(str),
    )


def test_a_4_min_gap_is_a_switch_a_6_min_gap_is_not():
    # One subscriber: channel 1, 4 min later channel 2, 6 min later channel 3, at once channel 3 again, exactly
    # 5 min later channel 1.
    gaps = _gaps([(1, 2, 4, 1), (2, 3, 6, 1), (3, 3, 0, 1), (3, 1, 5, 1)])
    switches = flow.channel_switches(gaps)
    assert switches[["from_channel_id", "to_channel_id", "switches"]].values.tolist() == [[1, 2, 1]]
    s = flow.audience_flow(gaps).sentence
    # Two sessions start < 5 min after the previous one (4 min and 0 min), one of them on another channel.
    assert s.startswith("2 sessions started less than 5 minutes after")
    assert "50.0 % of them on another channel; the largest flow is ch1 to ch2 with 1 switch (100.0 % of all 1)" in s
    assert s.endswith("the reverse has 0.")


def test_switch_matrix_and_top_flows():
    gaps = _gaps([(1, 2, 0, 5), (2, 1, 1, 2), (1, 3, 2, 1), (3, 4, 0, 1), (1, 2, 3, 1)])
    switches = flow.channel_switches(gaps)
    top_two = switches[["from_label", "to_label", "switches"]].values.tolist()[:2]
    assert top_two == [["ch1", "ch2", 6], ["ch2", "ch1", 2]]
    matrix = flow.switch_matrix(switches, top=3)
    # Volume in + out: ch1 6 + 1 + 2 = 9, ch2 6 + 2 = 8, ch3 1 + 1 = 2, ch4 1.
    assert list(matrix.index) == ["ch1", "ch2", "ch3"] == list(matrix.columns)
    assert matrix.loc["ch1", "ch2"] == 6 and matrix.loc["ch2", "ch1"] == 2 and matrix.loc["ch1", "ch3"] == 1
    assert int(matrix.to_numpy().sum()) == 9
    s = flow.audience_flow(gaps).sentence
    assert "the largest flow is ch1 to ch2 with 6 switches (60.0 % of all 10), the reverse has 2." in s


def test_no_switch_is_no_data():
    with pytest.raises(NoDataError):
        flow.audience_flow(_gaps([(1, 1, 0, 3), (1, 2, 7, 1)]))


# ------------------------------------------------------------------------------------------ programmes


def test_genre_durations_longest_and_shortest_median():
    frame = pd.DataFrame(
        {"genre": ["news", "film"], "sessions": [10, 5], "mean_s": [600.0, 3600.0], "p25_s": [60.0, 1200.0],
         "p50_s": [300.0, 2400.0], "p75_s": [900.0, 4800.0], "p90_s": [1200.0, 7200.0]}
    )  # fmt: skip
    insight = programmes.genre_durations(frame)
    assert insight.table["genre"].tolist() == ["film", "news"]
    assert insight.table["p50_min"].tolist() == [40.0, 5.0]
    assert insight.sentence == (
        "Sessions that start in film last longest, a median of 40.0 minutes (mean 60.0), and those in news "
        "shortest, 5.0 minutes (mean 10.0), over 15 sessions that started in a programme of the guide."
    )


def test_top_programmes_by_watch_time():
    frame = pd.DataFrame(
        {"title": ["A", "B", "C"], "channel_id": [1, 2, 3], "channel_name": ["One", None, "Three"],
         "genre": ["news", "film", "kids"], "airings": [2, 1, 3], "watch_minutes": [120.0, 600.0, 480.0],
         "avg_viewers": [3.0, 10.0, 4.0], "max_viewers": [4, 10, 6], "avg_amr": [1.0, 5.0, 2.5]}
    )  # fmt: skip
    insight = programmes.top_programmes(frame, n=2)
    assert insight.table["title"].tolist() == ["B", "C"]
    # B: 600 min = 10 h; top 2 = 1080 of 1200 minutes.
    assert insight.sentence.startswith("B on channel 2 earned the most watch time: 10.0 hours over 1 airing, 5.00")
    assert "the top 2 of 3 programmes hold 90.0 % of the watch time" in insight.sentence


def test_series_keep_their_audience_from_episode_to_episode():
    episodes = pd.DataFrame(
        {"series_id": ["A", "A", "A", "B", "B", "C"], "episode": [3, 1, 2, 7, 8, 1],
         "avg_viewers": [6.0, 10.0, 8.0, 4.0, 4.0, 9.0]}
    )  # fmt: skip
    r = programmes.episode_retention(episodes)
    # C has one episode: left out. A: 10, 8, 6; B: 4, 4.
    assert r["series_id"].tolist() == ["A", "A", "A", "B", "B"]
    assert r["index"].tolist() == [1, 2, 3, 1, 2]
    assert r["keep"].round(6).tolist()[1:3] == [0.8, 0.75] and r["keep"].tolist()[4] == 1.0
    assert r["of_first"].round(6).tolist() == [1.0, 0.8, 0.6, 1.0, 1.0]
    s = programmes.series_retention(episodes).sentence
    # Median keep of 0.8, 0.75, 1.0; the curve goes to episode 2 (two series), median of 0.8 and 1.0.
    assert "Across 2 series with at least two episodes, an episode keeps a median 80.0 %" in s
    assert "by episode 2 the median series has 90.0 % of its first episode's" in s
    assert "B keeps its audience best (100.0 % per episode), A worst (77.5 %)" in s


@pytest.mark.parametrize(
    "build",
    [
        lambda: audience.daily_viewing(pd.DataFrame(columns=["dt", "watch_hours", "views", "viewers"])),
        lambda: channels.channel_share(pd.DataFrame(columns=["dt", "channel_id", "channel_name", "watch_hours"])),
        lambda: programmes.series_retention(pd.DataFrame({"series_id": ["A"], "episode": [1], "avg_viewers": [3.0]})),
        lambda: programmes.genre_durations(pd.DataFrame(columns=["genre", "sessions", *programmes._QUANTILES])),
    ],
)
def test_no_data_is_said(build):
    with pytest.raises(NoDataError):
        build()


def test_small_shares_keep_two_decimals():
    assert (pct(0.4567), pct(0.00027), pct(0.0), pct(1.0)) == ("45.7 %", "0.03 %", "0.0 %", "100.0 %")
    assert (counted(1, "airing"), counted(2000, "airing"), counted(3, "switch", "switches")) == (
        "1 airing",
        "2,000 airings",
        "3 switches",
    )
