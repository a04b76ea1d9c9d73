"""Forecast and classifier metrics on plain arrays (numpy; no model library).

Forecasts: MAE, WAPE (sum of absolute errors / sum of actuals), MASE (MAE scaled by the in-sample MAE of the
seasonal naive forecast of period ``season``), interval coverage (share of actuals inside [lo, hi]).
Classifiers: ROC-AUC and PR-AUC (average precision) from scikit-learn, Brier score.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def mae(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(yhat, float))))


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |y - yhat| / sum |y| (NaN when the actuals are all 0)."""
    y = np.asarray(y, float)
    denom = np.abs(y).sum()
    return float(np.abs(y - np.asarray(yhat, float)).sum() / denom) if denom > 0 else float("nan")


def seasonal_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast: mean |y_t - y_(t - season)| (NaN when too short or 0)."""
    train = np.asarray(train, float)
    if len(train) <= season:
        return float("nan")
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    return scale if scale > 0 else float("nan")


def mase(y: np.ndarray, yhat: np.ndarray, train: np.ndarray, season: int = 168) -> float:
    """Mean absolute scaled error: MAE / :func:`seasonal_scale` of the training series."""
    return mae(y, yhat) / seasonal_scale(train, season)


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of the actuals inside their interval, bounds included (NaN without intervals)."""
    y, lo, hi = (np.asarray(a, float) for a in (y, lo, hi))
    ok = ~(np.isnan(lo) | np.isnan(hi))
    return float(np.mean((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))) if ok.any() else float("nan")


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Brier score: mean squared difference between the 0/1 outcome and its probability."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def classifier_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier score and the positive rate of outcomes ``y`` (0/1)."""
    y = np.asarray(y, int)
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": brier(y, p),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "n": int(len(y)),
    }
