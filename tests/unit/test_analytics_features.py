"""Per-subscriber features and outcomes from hand-built daily rows; segments of hand-built profiles."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.scores import split_cutoffs
from analytics.segments import INACTIVE, fit_segments, segment_name
from analytics.subscribers import WINDOW, Activity

pytestmark = pytest.mark.unit

D0 = dt.date(2025, 3, 3)  # a Monday
DATES = [D0 + dt.timedelta(days=i) for i in range(21)]


def day(i: int) -> dt.date:
    return DATES[i]


@pytest.fixture
def act() -> Activity:
    rows = [
        # user 1: views every day on channel 5 (1 h), on days 10 and 13 also 30 min of channel 6
        *[(1, day(i), 5, 2, 3600) for i in range(21)],
        (1, day(10), 6, 1, 1800),
        (1, day(13), 6, 1, 1800),
        # user 2: views on days 0, 7 and 9 only
        (2, day(0), 7, 1, 600),
        (2, day(7), 7, 1, 600),
        (2, day(9), 8, 3, 1200),
        # user 3: signed up on day 15, views on day 16
        (3, day(16), 5, 1, 60),
        # a row outside the dates is ignored
        (2, D0 - dt.timedelta(days=1), 7, 1, 600),
    ]
    ucd = pd.DataFrame(rows, columns=["user_id", "dt", "channel_id", "sessions", "watch_s"])
    users = pd.DataFrame({"user_id": [3, 1, 2, 4], "signup_date": [day(15), dt.date(2020, 1, 1), D0, D0]})
    return Activity(ucd, users, DATES)


def test_features_at_a_cutoff(act):
    f = act.features(13).set_index("user_id")  # window: days 0..13
    one, two, four = f.loc[1], f.loc[2], f.loc[4]
    assert one["recency_days"] == 0 and one["viewed_today"] == 1
    assert (one["days_3"], one["days_7"], one["days_14"]) == (3, 7, 14)
    assert one["watch_h_7"] == pytest.approx(7 + 1.0) and one["watch_h_14"] == pytest.approx(14 + 1.0)
    assert one["sessions_14"] == 14 * 2 + 2
    assert one["fav_share"] == pytest.approx(14 / 15) and one["n_channels"] == 2
    assert one["tenure_days"] == (day(13) - dt.date(2020, 1, 1)).days
    assert one["trend"] == 0 and one["same_weekday"] == 2
    # user 2: last view on day 9 -> 4 days ago; days 0, 7, 9 in the window; days 7, 9 in the last 7 (7..13)
    assert two["recency_days"] == 4 and two["viewed_today"] == 0
    assert (two["days_3"], two["days_7"], two["days_14"]) == (0, 2, 3)
    assert two["trend"] == 2 - 1 and two["same_weekday"] == 2  # days 7 and 0 are the weekday of day 14
    assert two["fav_share"] == pytest.approx(1200 / 2400) and two["n_channels"] == 2
    assert two["rate_long"] == pytest.approx(3 / 14) and two["weekday_rate"] == pytest.approx(1.0)
    assert two["weekday_next"] == day(14).isoweekday()
    # user 4 never viewed
    assert four["recency_days"] == WINDOW and four["days_14"] == 0 and four["fav_share"] == 0
    with pytest.raises(ValueError):
        act.features(WINDOW - 2)


def test_outcomes_and_signed_up_subscribers(act):
    o = act.outcomes(13).set_index("user_id")
    assert o.loc[1, "view_next"] == 1 and o.loc[1, "inactive_7d"] == 0
    assert o.loc[2, "view_next"] == 0 and o.loc[2, "inactive_7d"] == 1
    assert o.loc[3, "inactive_7d"] == 0  # views on day 16
    assert np.isnan(act.outcomes(14)["inactive_7d"]).all()  # days 15..21: the history ends on day 20
    assert np.isnan(act.outcomes(20)["view_next"]).all()
    panel = act.panel([13, 16])
    assert set(panel[panel["cutoff"] == 13]["user_id"]) == {1, 2, 4}  # user 3 signs up on day 15
    assert set(panel[panel["cutoff"] == 16]["user_id"]) == {1, 2, 3, 4}
    three = act.features(16).set_index("user_id").loc[3]
    assert three["tenure_days"] == 1 and three["rate_long"] == pytest.approx(1 / 2)


def test_time_split_keeps_outcome_days_apart():
    train, test = split_cutoffs(35, lead=7, n_test=3)
    assert test == [25, 26, 27]  # the last cutoff with a 7-day outcome is day 27 (days 28..34)
    assert train == list(range(WINDOW - 1, 19))  # outcomes of cutoff 18 end on day 25, before test's 26
    train, test = split_cutoffs(35, lead=1, n_test=3)
    assert test == [31, 32, 33] and train[-1] == 31 - 1
    assert split_cutoffs(28, lead=7) == ([13], [20])  # 3 test cutoffs would leave no training one
    assert split_cutoffs(20, lead=7) == ([], [])


def test_segments_separate_morning_and_evening_viewers():
    rows = []
    for u in range(1, 21):
        hour, genre = (8, "news") if u <= 10 else (21, "film")
        for wd in range(1, 8):
            rows.append((u, wd, hour, genre, 3600 + u))
            rows.append((u, wd, (hour + 1) % 24, "series", 600))
    profile = pd.DataFrame(rows, columns=["user_id", "weekday", "hour", "genre", "watch_s"])
    seg = fit_segments(profile, pd.Series(range(1, 23)), k=2)
    assert seg.assignment.loc[21] == INACTIVE and seg.assignment.loc[22] == INACTIVE
    morning, evening = seg.assignment.loc[1], seg.assignment.loc[11]
    assert morning != evening
    assert set(seg.assignment.loc[1:10]) == {morning} and set(seg.assignment.loc[11:20]) == {evening}
    assert morning == "morning / news" and evening == "evening / film"
    assert seg.sizes[INACTIVE] == 2 and seg.sizes[morning] == 10
    assert seg.profiles.loc[morning].sum() == pytest.approx(1.0)
    flat = np.full(168, 1 / 168)
    assert segment_name(flat, pd.Series({"news": 0.1, "kids": 0.9})) == "night / kids"
