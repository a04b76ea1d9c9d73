"""Rolling-origin backtest of hourly forecasters on long frames (``unique_id``, ``ds``, ``y``; the statsforecast
layout), and its scores per model.

Window cutting: the last window's test hours end at the last timestamp; each earlier window's cutoff (its last
training hour) lies ``step`` hours before the next one's. A forecaster is a function ``(train, h) -> frame``
with ``unique_id``, ``ds`` and one column per model, plus ``<model>-lo-<level>`` / ``<model>-hi-<level>``
columns where it gives intervals (the statsforecast / mlforecast naming).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from analytics import metrics

Forecaster = Callable[[pd.DataFrame, int], pd.DataFrame]
#: The reference of the relative MAE and of "beats the baseline".
BASELINE = "SeasonalNaive168"
LEVELS = (80, 95)


def cutoffs(ds: Sequence[pd.Timestamp] | pd.Series, n_windows: int, h: int, step: int, min_train: int) -> list:
    """The ``n_windows`` cutoffs (last training timestamp) of hourly stamps ``ds``, oldest first; each window
    needs at least ``min_train`` hours of training data before its cutoff (ValueError otherwise)."""
    stamps = pd.DatetimeIndex(sorted(set(pd.to_datetime(pd.Series(ds)))))
    if n_windows < 1 or h < 1 or step < 1:
        raise ValueError("n_windows, h and step must be positive")
    last = stamps[-1]
    out = [last - pd.Timedelta(hours=h + (n_windows - 1 - i) * step) for i in range(n_windows)]
    have = int((stamps <= out[0]).sum())
    if have < min_train:
        raise ValueError(
            f"{n_windows} windows of {h} h every {step} h leave {have} training hours before the first cutoff; "
            f"{min_train} needed (use fewer windows or a longer history)"
        )
    return out


def split(df: pd.DataFrame, cutoff: pd.Timestamp, h: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows up to ``cutoff``, the ``h`` test hours after it)."""
    end = cutoff + pd.Timedelta(hours=h)
    return df[df["ds"] <= cutoff], df[(df["ds"] > cutoff) & (df["ds"] <= end)]


def run(
    df: pd.DataFrame,
    forecasters: Sequence[Forecaster],
    n_windows: int = 7,
    h: int = 24,
    step: int = 24,
    min_train: int = 2 * 168,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast every window with every forecaster. Returns (the forecasts joined to the actuals, one row per
    series, window and hour with a ``cutoff`` column; the in-sample seasonal scale per series and window)."""
    rows, scales = [], []
    for cutoff in cutoffs(df["ds"], n_windows, h, step, min_train):
        train, test = split(df, cutoff, h)
        joined = test[["unique_id", "ds", "y"]]
        for forecast in forecasters:
            fc = forecast(train, h)
            joined = joined.merge(fc, on=["unique_id", "ds"], how="left")
        rows.append(joined.assign(cutoff=cutoff))
        scale = train.groupby("unique_id")["y"].apply(lambda y: metrics.seasonal_scale(y.to_numpy(), 168))
        scales.append(scale.rename("scale").reset_index().assign(cutoff=cutoff))
        if progress:
            progress(f"window {cutoff:%Y-%m-%d %H:%M}")
    return pd.concat(rows, ignore_index=True), pd.concat(scales, ignore_index=True)


def model_names(cv: pd.DataFrame) -> list[str]:
    """The models of a backtest frame (the columns that are neither keys nor interval bounds)."""
    keys = {"unique_id", "ds", "y", "cutoff"}
    return [c for c in cv.columns if c not in keys and "-lo-" not in c and "-hi-" not in c]


def _series_mae(cv: pd.DataFrame, model: str) -> pd.Series:
    return (cv[model] - cv["y"]).abs().groupby(cv["unique_id"]).mean()


def evaluate(cv: pd.DataFrame, scales: pd.DataFrame, total_id: int = 0, top_ids: Sequence[int] = ()) -> dict:
    """Scores per model: over all series (MASE averaged over the series and windows with a seasonal scale,
    WAPE, MAE, MAE relative to the baseline, 80 % / 95 % interval coverage), on the total series (``total_id``),
    and the share of ``top_ids`` series whose MAE is at least 10 % below the baseline's."""
    out: dict[str, dict] = {}
    everything = cv
    for model in model_names(everything):
        # A model that forecasts only some series is scored on those (and so is the baseline it is set against).
        cv = everything[everything[model].notna()]
        with_scale = cv.merge(scales, on=["unique_id", "cutoff"], how="left")
        base_all = metrics.mae(cv["y"], cv[BASELINE])
        total = cv[cv["unique_id"] == total_id]
        base_total = metrics.mae(total["y"], total[BASELINE]) if len(total) else float("nan")
        top = cv[cv["unique_id"].isin(list(top_ids))]
        base_top = _series_mae(top, BASELINE) if len(top) else None
        err = (with_scale[model] - with_scale["y"]).abs()
        per_window = err.groupby([with_scale["unique_id"], with_scale["cutoff"]]).mean()
        scale = with_scale.groupby(["unique_id", "cutoff"])["scale"].first()
        mase = (per_window / scale).replace([np.inf, -np.inf], np.nan)
        scores = {
            "series": int(cv["unique_id"].nunique()),
            "mase": float(mase.mean()),
            "wape": metrics.wape(cv["y"], cv[model]),
            "mae": metrics.mae(cv["y"], cv[model]),
            "rel_mae": metrics.mae(cv["y"], cv[model]) / base_all if base_all > 0 else float("nan"),
        }
        for level in LEVELS:
            lo, hi = f"{model}-lo-{level}", f"{model}-hi-{level}"
            scores[f"coverage{level}"] = metrics.coverage(cv["y"], cv[lo], cv[hi]) if lo in cv else None
        if len(total):
            scores["total_mae"] = metrics.mae(total["y"], total[model])
            scores["total_rel_mae"] = scores["total_mae"] / base_total if base_total > 0 else float("nan")
        if base_top is not None:
            rel = _series_mae(top, model) / base_top.replace(0, np.nan)
            scores["top_channels_beating_baseline"] = float((rel <= 0.9).mean())
            scores["top_channels"] = int(len(rel))
        out[model] = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in scores.items()}
    return out


def choose(scores: dict[str, dict]) -> str:
    """Among the models that forecast every series, the one with the lowest MAE relative to the baseline
    (ties: the first)."""
    most = max(s["series"] for s in scores.values())
    full = [m for m in scores if scores[m]["series"] == most]
    return min(full, key=lambda m: scores[m]["rel_mae"] if scores[m]["rel_mae"] is not None else np.inf)


def choose_total(scores: dict[str, dict]) -> str:
    """The model with the lowest MAE relative to the baseline on the total series (ties: the first)."""
    return min(
        scores, key=lambda m: scores[m].get("total_rel_mae") if scores[m].get("total_rel_mae") is not None else np.inf
    )
