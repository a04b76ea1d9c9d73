"""The backtest's window cutting and scoring on a small hourly frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import backtest

pytestmark = pytest.mark.unit

T0 = pd.Timestamp("2025-03-03 00:00")


def frame(hours: int, ids=(0, 1)) -> pd.DataFrame:
    ds = pd.date_range(T0, periods=hours, freq="h")
    return pd.DataFrame(
        [(i, t, float(10 * (i + 1) + t.hour)) for i in ids for t in ds], columns=["unique_id", "ds", "y"]
    )


def test_cutoffs_end_at_the_last_hour_step_apart():
    ds = pd.date_range(T0, periods=24 * 10, freq="h")
    cuts = backtest.cutoffs(ds, n_windows=3, h=24, step=24, min_train=24)
    last = ds[-1]
    assert cuts == [last - pd.Timedelta(hours=72), last - pd.Timedelta(hours=48), last - pd.Timedelta(hours=24)]
    # the first cutoff is hour 167: 168 hours of training data, enough for 168 and not for 169
    assert backtest.cutoffs(ds, 3, 24, 24, min_train=168)[0] == T0 + pd.Timedelta(hours=167)
    with pytest.raises(ValueError, match="168 training hours"):
        backtest.cutoffs(ds, n_windows=3, h=24, step=24, min_train=169)


def test_split_takes_the_h_hours_after_the_cutoff():
    df = frame(48)
    train, test = backtest.split(df, T0 + pd.Timedelta(hours=23), 12)
    assert train["ds"].max() == T0 + pd.Timedelta(hours=23) and len(train) == 2 * 24
    assert test["ds"].min() == T0 + pd.Timedelta(hours=24) and test["ds"].max() == T0 + pd.Timedelta(hours=35)
    assert len(test) == 2 * 12


def _naive_and_shifted(train: pd.DataFrame, h: int) -> pd.DataFrame:
    """SeasonalNaive168 stand-in = the last value; 'good' = the truth of frame() (y = 10 (id + 1) + hour)."""
    last = train["ds"].max()
    rows = []
    for uid, g in train.groupby("unique_id"):
        for k in range(1, h + 1):
            t = last + pd.Timedelta(hours=k)
            rows.append((uid, t, g["y"].iloc[-1], 10.0 * (uid + 1) + t.hour))
    return pd.DataFrame(rows, columns=["unique_id", "ds", backtest.BASELINE, "good"])


def test_run_and_evaluate_score_each_model_against_the_baseline():
    df = frame(24 * 9)
    cv, scales = backtest.run(df, [_naive_and_shifted], n_windows=2, h=24, step=24, min_train=168)
    assert len(cv) == 2 * 2 * 24 and set(cv["cutoff"]) == set(backtest.cutoffs(df["ds"], 2, 24, 24, 168))
    assert len(scales) == 2 * 2
    scores = backtest.evaluate(cv, scales, total_id=0, top_ids=[1])
    assert scores["good"]["mae"] == 0 and scores["good"]["rel_mae"] == 0 and scores["good"]["wape"] == 0
    assert scores["good"]["top_channels_beating_baseline"] == 1.0
    # the baseline (last value = 10 (id + 1) + 23) misses by |hour - 23|: mean over 0..23 = 11.5
    assert scores[backtest.BASELINE]["mae"] == pytest.approx(11.5)
    assert scores[backtest.BASELINE]["rel_mae"] == 1.0 and scores[backtest.BASELINE]["coverage80"] is None
    assert backtest.choose(scores) == "good"
    assert backtest.model_names(cv) == [backtest.BASELINE, "good"]


def test_a_model_of_some_series_is_scored_on_those_and_not_chosen():
    cv = pd.DataFrame(
        {
            "unique_id": [0, 0, 1, 1],
            "ds": pd.date_range(T0, periods=2, freq="h").tolist() * 2,
            "y": [10.0, 10.0, 5.0, 5.0],
            backtest.BASELINE: [12.0, 12.0, 6.0, 6.0],
            "all": [11.0, 11.0, 6.0, 6.0],
            "part": [10.0, 10.0, np.nan, np.nan],
            "cutoff": T0,
        }
    )
    scales = pd.DataFrame({"unique_id": [0, 1], "cutoff": T0, "scale": [2.0, 1.0]})
    scores = backtest.evaluate(cv, scales)
    assert scores["part"]["series"] == 1 and scores["part"]["rel_mae"] == 0
    assert scores["all"]["rel_mae"] == pytest.approx(1.0 / 1.5)
    assert scores["all"]["mase"] == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert backtest.choose(scores) == "all"
