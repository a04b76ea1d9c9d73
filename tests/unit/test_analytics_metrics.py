"""Forecast and classifier metrics on small arrays with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics import metrics
from analytics.forecast import conformal_quantiles, series_scale, with_intervals

pytestmark = pytest.mark.unit


def test_mae_and_wape():
    y, yhat = np.array([10.0, 20.0, 30.0, 40.0]), np.array([12.0, 18.0, 33.0, 40.0])
    assert metrics.mae(y, yhat) == pytest.approx((2 + 2 + 3 + 0) / 4)
    assert metrics.wape(y, yhat) == pytest.approx(7 / 100)
    assert math.isnan(metrics.wape(np.zeros(3), np.ones(3)))


def test_mase_scales_by_the_in_sample_seasonal_naive_error():
    # season 2: |3-1| + |4-2| + |7-3| + |6-4| = 10 over 4 differences -> scale 2.5
    train = np.array([1.0, 2.0, 3.0, 4.0, 7.0, 6.0])
    assert metrics.seasonal_scale(train, 2) == pytest.approx(2.5)
    y, yhat = np.array([5.0, 5.0]), np.array([6.0, 2.0])  # MAE 2
    assert metrics.mase(y, yhat, train, season=2) == pytest.approx(2 / 2.5)
    assert math.isnan(metrics.seasonal_scale(np.ones(10), 2))  # a flat series has no scale
    assert math.isnan(metrics.seasonal_scale(train, 6))  # too short


def test_coverage_counts_the_bounds_as_inside_and_skips_missing_intervals():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    lo = np.array([0.0, 2.0, 3.5, np.nan, 4.0])
    hi = np.array([1.0, 3.0, 4.0, np.nan, 6.0])
    assert metrics.coverage(y, lo, hi) == pytest.approx(3 / 4)
    assert math.isnan(metrics.coverage(y, np.full(5, np.nan), np.full(5, np.nan)))


def test_brier_and_classifier_scores():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4])
    assert metrics.brier(y, p) == pytest.approx((0.01 + 0.04 + 0.16 + 0.16) / 4)
    s = metrics.classifier_scores(y, p)
    assert s["roc_auc"] == 1.0 and s["pr_auc"] == 1.0 and s["positive_rate"] == 0.5 and s["n"] == 4
    assert metrics.classifier_scores(y, 1 - p)["roc_auc"] == 0.0


def test_conformal_quantiles_and_bounds():
    yhat = np.full(9, 4.0)  # sqrt(4) = 2: scores are |error| / 2
    y = yhat + np.array([2.0, -4, 6, -8, 10, -12, 14, -16, 18])
    q = conformal_quantiles(y, yhat, levels=(80,))
    # scores 1..9; ceil(10 * 0.8) = 8 -> the 8th smallest
    assert q == {80: 8.0}
    fc = with_intervals(pd.DataFrame({"m": [4.0, 0.25]}), "m", {80: 1.5})
    assert fc["m-lo-80"].tolist() == [1.0, 0.0]  # 4 - 1.5 * 2; never below 0
    assert fc["m-hi-80"].tolist() == [7.0, 1.75]  # width uses sqrt(max(yhat, 1)) = 1
    wide = with_intervals(pd.DataFrame({"m": [4.0]}), "m", {80: 1.5}, np.array([2.0]))
    assert wide["m-hi-80"].tolist() == [10.0]  # 4 + 1.5 * 2 * 2
    # scaled scores: errors twice as large on a series of scale 2 give the same quantile
    assert conformal_quantiles(2 * y - yhat, yhat, np.full(9, 2.0), levels=(80,)) == {80: 8.0}


def test_series_scale_is_the_mean_normalised_error_per_series():
    ids = pd.Series([1, 1, 2, 2])
    scale = series_scale(ids, np.array([5.0, 3.0, 9.0, 9.0]), np.array([4.0, 4.0, 9.0, 9.0]))
    assert scale.loc[1] == pytest.approx(0.5)  # |1| / 2 and |1| / 2
    assert scale.loc[2] == pytest.approx(0.1)  # no error: the floor
