"""``python -m analytics forecast``: hourly viewers (distinct subscribers per clock hour) for all channels
together (``channel_id`` 0) and for every channel watched in the history, 24 h and 7 days ahead with 80 % and
95 % intervals; daily watch hours and viewers 14 days ahead.

Models: statsforecast's MSTL (seasons 24 and 168 h; on the total and the 10 busiest channels only, as it takes
about 0.3 s a series and fit) and a global mlforecast + LightGBM model over all series
(each series standardised; lags of 1-14 days, hour and weekday), against SeasonalNaive(24), SeasonalNaive(168)
and SeasonalWindowAverage (the mean of the same hour of the last weeks). LightGBM's intervals are split
conformal: the absolute errors on the calibration days before the cutoff, divided by sqrt(max(forecast, 1))
(counts vary like a Poisson variable) and by the series' mean of that ratio, pooled over all series, give the
quantiles that widen each forecast;
SeasonalWindowAverage, which has no intervals of its own, gets them the same way.

A rolling-origin backtest (analytics/backtest.py; default 7 windows of 24 h, every 24 h) scores each model
(MASE with season 168, WAPE, MAE relative to SeasonalNaive(168), interval coverage) into ``backtest.json``; the
model with the lowest MAE relative to SeasonalNaive(168) over every series then forecasts the next 7 days from
the whole history, the total by the model best on the total (``chosen_total``), and the rows replace
``iptv_dw.forecast_hourly`` (written as the loader role). Outputs in ``--out``: backtest.json,
forecast_hourly.csv, forecast_daily.csv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics import backtest
from iptv.config import Config

log = logging.getLogger(__name__)

TOTAL_ID = 0
LEVELS = backtest.LEVELS
HORIZON_DAY, HORIZON_WEEK, HORIZON_DAILY = 24, 168, 14
STATS_MODELS = ("MSTL", "SeasonalNaive24", "SeasonalNaive168", "SeasonalWindowAverage")
LGBM = "LightGBM"
SWA = "SeasonalWindowAverage"
TOP_CHANNELS = 50


@dataclass(frozen=True)
class Settings:
    """Model sizes: ``fast`` for tests (fewer trees, one calibration day)."""

    n_estimators: int = 120
    learning_rate: float = 0.1
    num_leaves: int = 31
    calibration_days: int = 3
    swa_weeks: int = 3
    #: MSTL (about 0.3 s a series and fit) runs on the total and the most watched channels only.
    mstl_series: int = 11
    n_jobs: int = 2

    @classmethod
    def fast(cls) -> Settings:
        return cls(n_estimators=40, num_leaves=15, calibration_days=2, swa_weeks=2, mstl_series=6)


# ------------------------------------------------------------------------------------------ data


def hourly_frame(total: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """The long frame (unique_id, ds, y) of hourly viewers: the total (unique_id 0; ``total`` has dt, hour,
    viewers) and every channel of ``channels`` (dt, hour, channel_id, viewers), 0 in the hours of the total's
    range that have no row of that channel."""
    stamps = pd.to_datetime(total["dt"]) + pd.to_timedelta(total["hour"].astype(int), unit="h")
    grid = pd.DatetimeIndex(sorted(stamps.unique()))
    parts = [pd.DataFrame({"unique_id": TOTAL_ID, "ds": stamps.to_numpy(), "y": total["viewers"].astype(float)})]
    if len(channels):
        ch = channels.assign(ds=pd.to_datetime(channels["dt"]) + pd.to_timedelta(channels["hour"].astype(int), "h"))
        wide = ch.pivot_table(index="ds", columns="channel_id", values="viewers", aggfunc="sum")
        wide = wide.reindex(grid).fillna(0.0)
        long = wide.stack().rename("y").reset_index()
        long.columns = ["ds", "unique_id", "y"]
        parts.append(long[["unique_id", "ds", "y"]])
    out = pd.concat(parts, ignore_index=True)
    out["unique_id"] = out["unique_id"].astype(np.int64)
    out["y"] = out["y"].astype(float)
    return out.sort_values(["unique_id", "ds"], ignore_index=True)


def top_channels(df: pd.DataFrame, n: int = TOP_CHANNELS) -> list[int]:
    """The ``n`` channels with the most viewer-hours in the frame (the total excluded)."""
    sums = df[df["unique_id"] != TOTAL_ID].groupby("unique_id")["y"].sum()
    return [int(c) for c in sums.sort_values(ascending=False).index[:n]]


# ------------------------------------------------------------------------------------------ models


def stats_forecaster(settings: Settings, models: tuple[str, ...] = STATS_MODELS) -> backtest.Forecaster:
    """statsforecast's models of ``models`` as one forecaster: the seasonal naive models and MSTL with their
    own intervals, SeasonalWindowAverage (which has none) with split conformal ones."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, SeasonalNaive, SeasonalWindowAverage

    def sf(model: Any, df: pd.DataFrame, h: int, level: list[int] | None) -> pd.DataFrame:
        return StatsForecast(models=[model], freq="h", n_jobs=settings.n_jobs).forecast(df=df, h=h, level=level)

    swa = conformal(
        lambda df, h: sf(SeasonalWindowAverage(168, settings.swa_weeks, alias=SWA), df, h, None), SWA, settings
    )
    made: dict[str, backtest.Forecaster] = {
        "SeasonalNaive24": lambda df, h: sf(SeasonalNaive(24, alias="SeasonalNaive24"), df, h, list(LEVELS)),
        "SeasonalNaive168": lambda df, h: sf(SeasonalNaive(168, alias="SeasonalNaive168"), df, h, list(LEVELS)),
        SWA: swa,
        "MSTL": lambda df, h: sf(
            MSTL(season_length=[24, 168], alias="MSTL"), _busiest(df, settings.mstl_series), h, list(LEVELS)
        ),
    }

    def forecast(train: pd.DataFrame, h: int) -> pd.DataFrame:
        out = None
        for name in models:
            fc = made[name](train, h)
            out = fc if out is None else out.merge(fc, on=["unique_id", "ds"], how="outer")
        return out

    return forecast


def conformal(point: backtest.Forecaster, model: str, settings: Settings) -> backtest.Forecaster:
    """``point`` (a forecaster of column ``model`` without intervals) with split conformal intervals: the
    forecast of the last ``settings.calibration_days`` days before the cutoff, made without them, gives the
    scores of :func:`conformal_quantiles`, scaled per series by :func:`series_scale`."""

    def forecast(train: pd.DataFrame, h: int) -> pd.DataFrame:
        cal_hours = settings.calibration_days * 24
        cut = train["ds"].max() - pd.Timedelta(hours=cal_hours)
        fit_part, cal_part = train[train["ds"] <= cut], train[train["ds"] > cut]
        cal = point(fit_part, cal_hours).merge(cal_part, on=["unique_id", "ds"])
        yhat = np.maximum(cal[model].to_numpy(), 0.0)
        scale = series_scale(cal["unique_id"], cal["y"].to_numpy(), yhat)
        q = conformal_quantiles(cal["y"].to_numpy(), yhat, cal["unique_id"].map(scale).to_numpy())
        fc = point(train, h)
        fc[model] = np.maximum(fc[model], 0.0)
        return with_intervals(fc, model, q, fc["unique_id"].map(scale).fillna(1.0).to_numpy())

    return forecast


def series_scale(ids: pd.Series, y: np.ndarray, yhat: np.ndarray) -> pd.Series:
    """Per series, the mean of |y - yhat| / sqrt(max(yhat, 1)) over its calibration points (at least 0.1): how
    far its errors exceed a Poisson count's, so that a smooth total and a noisy small channel both get
    intervals of their own width."""
    norm = np.abs(y - yhat) / np.sqrt(np.maximum(yhat, 1.0))
    return pd.Series(norm, index=ids.to_numpy()).groupby(level=0).mean().clip(lower=0.1)


def _busiest(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """The rows of the total and of the n - 1 channels with the most viewer-hours."""
    return df[df["unique_id"].isin([TOTAL_ID, *top_channels(df, n - 1)])]


def conformal_quantiles(
    y: np.ndarray, yhat: np.ndarray, scale: np.ndarray | float = 1.0, levels: tuple[int, ...] = LEVELS
) -> dict[int, float]:
    """Split conformal: per level, the quantile of |y - yhat| / (sqrt(max(yhat, 1)) x scale) over the
    calibration points (with the finite-sample correction ceil((n + 1) * level) / n)."""
    score = np.sort(np.abs(np.asarray(y, float) - yhat) / (np.sqrt(np.maximum(yhat, 1.0)) * scale))
    n = len(score)
    out = {}
    for level in levels:
        k = min(n - 1, int(np.ceil((n + 1) * level / 100)) - 1)
        out[level] = float(score[max(k, 0)])
    return out


def with_intervals(fc: pd.DataFrame, model: str, q: dict[int, float], scale: np.ndarray | float = 1.0) -> pd.DataFrame:
    """``fc`` with the conformal bounds of ``model``: yhat -/+ q x sqrt(max(yhat, 1)) x scale (never below 0:
    viewers are counts)."""
    fc = fc.copy()
    width = np.sqrt(np.maximum(fc[model].to_numpy(), 1.0)) * scale
    for level, qq in q.items():
        fc[f"{model}-lo-{level}"] = np.maximum(fc[model] - qq * width, 0.0)
        fc[f"{model}-hi-{level}"] = fc[model] + qq * width
    return fc


def lgbm_forecaster(settings: Settings) -> backtest.Forecaster:
    """The global mlforecast + LightGBM model over all series (each standardised; lags of 1, 2, 7 and 14 days,
    the mean of the last day, of the same hour of the last 7 days and of the last weeks; hour and weekday),
    with split conformal intervals (:func:`conformal`)."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean
    from mlforecast.target_transforms import LocalStandardScaler

    def model() -> MLForecast:
        reg = lgb.LGBMRegressor(
            n_estimators=settings.n_estimators,
            learning_rate=settings.learning_rate,
            num_leaves=settings.num_leaves,
            min_child_samples=40,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            max_bin=63,
            n_jobs=2,
            verbose=-1,
            random_state=0,
        )
        return MLForecast(
            models={LGBM: reg},
            freq="h",
            lags=[24, 48, 168, 336],
            lag_transforms={
                24: [RollingMean(window_size=24), SeasonalRollingMean(24, 7, min_samples=1)],
                168: [SeasonalRollingMean(168, settings.swa_weeks, min_samples=1)],
            },
            date_features=["hour", "dayofweek"],
            target_transforms=[LocalStandardScaler()],
            num_threads=1,
        )

    def point(train: pd.DataFrame, h: int) -> pd.DataFrame:
        # A series' size (log of its mean) as a static feature: the standardised series look alike, and the
        # smooth total must not be forecast like a noisy small channel.
        level = np.log1p(train.groupby("unique_id")["y"].transform("mean"))
        data = train[["unique_id", "ds", "y"]].assign(level=level)
        # dropna=False: the early hours (without the long lags) still train; LightGBM takes the gaps.
        return model().fit(data, static_features=["level"], dropna=False).predict(h)

    return conformal(point, LGBM, settings)


def daily_forecast(daily: pd.DataFrame, h: int = HORIZON_DAILY) -> pd.DataFrame:
    """Daily watch hours and viewers ``h`` days ahead (AutoETS with a weekly season, 80 % / 95 % intervals):
    columns metric, ds, yhat, lo80, hi80, lo95, hi95."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    long = pd.concat(
        [
            pd.DataFrame({"unique_id": m, "ds": pd.to_datetime(daily["dt"]), "y": daily[m].astype(float)})
            for m in ("watch_hours", "viewers")
        ]
    )
    fc = StatsForecast(models=[AutoETS(season_length=7, alias="ets")], freq="D").forecast(
        df=long, h=h, level=list(LEVELS)
    )
    return _bounds_frame(fc, "ets").rename(columns={"unique_id": "metric"})


def _bounds_frame(fc: pd.DataFrame, model: str) -> pd.DataFrame:
    out = pd.DataFrame({"unique_id": fc["unique_id"], "ds": fc["ds"], "yhat": fc[model]})
    for level in LEVELS:
        out[f"lo{level}"] = fc.get(f"{model}-lo-{level}")
        out[f"hi{level}"] = fc.get(f"{model}-hi-{level}")
    return out


def forecast_rows(fc: pd.DataFrame, model: str, created_at: dt.datetime) -> pd.DataFrame:
    """The rows of forecast_hourly from a forecast frame of ``model`` (unique_id = channel_id, 0 = all)."""
    b = _bounds_frame(fc, model)
    ds = pd.to_datetime(b["ds"])
    return pd.DataFrame(
        {
            "dt": ds.dt.date,
            "hour": ds.dt.hour.astype(np.int16),
            "channel_id": b["unique_id"].astype(np.int64),
            "model": model,
            "yhat": b["yhat"].astype(float),
            **{c: b[c].astype(float) for c in ("lo80", "hi80", "lo95", "hi95")},
            "created_at": created_at,
        }
    )


# ------------------------------------------------------------------------------------------ the command


def models_for(settings: Settings, chosen: str | None = None) -> list[backtest.Forecaster]:
    """The forecasters (all models, or only the one that gives ``chosen``)."""
    if chosen == LGBM:
        return [lgbm_forecaster(settings)]
    if chosen in STATS_MODELS:
        return [stats_forecaster(settings, (chosen,))]
    return [stats_forecaster(settings), lgbm_forecaster(settings)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from analytics.db import add_history_arguments

    add_history_arguments(p, "forecast_hourly")
    p.add_argument("--windows", type=int, default=7, help="backtest windows of 24 h (default %(default)s)")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from tqdm import tqdm

    from analytics import db

    t0 = time.monotonic()
    settings = Settings.fast() if args.fast else Settings()
    until, frames = db.read_history(cfg, args, ("hourly_total", "hourly_channel", "daily_total"))
    if until is None:
        print("analytics forecast: fact_session is empty")
        return 1
    daily = frames["daily_total"]
    df = hourly_frame(frames["hourly_total"], frames["hourly_channel"])
    n_series = df["unique_id"].nunique()
    log.info("history %s: %d series x %d hours", until, n_series, len(df) // max(n_series, 1))

    bar = tqdm(total=args.windows + 2, desc="forecast", disable=True if args.no_progress else None, leave=False)
    try:
        cv, scales = backtest.run(df, models_for(settings), n_windows=args.windows, progress=lambda _: bar.update(1))
    except ValueError as exc:
        bar.close()
        print(f"analytics forecast: {exc}")
        return 1
    scores = backtest.evaluate(cv, scales, total_id=TOTAL_ID, top_ids=top_channels(df))
    chosen, chosen_total = backtest.choose(scores), backtest.choose_total(scores)
    created = dt.datetime.now().replace(microsecond=0)
    fc = models_for(settings, chosen)[0](df, HORIZON_WEEK)
    rows = forecast_rows(fc, chosen, created)
    if chosen_total != chosen:
        # The total is its own kind of series (smooth, large): it gets the model that forecast it best.
        total_fc = models_for(settings, chosen_total)[0](df, HORIZON_WEEK)
        rows = pd.concat(
            [
                rows[rows["channel_id"] != TOTAL_ID],
                forecast_rows(total_fc[total_fc["unique_id"] == TOTAL_ID], chosen_total, created),
            ],
            ignore_index=True,
        )
    bar.update(1)
    days_fc = daily_forecast(daily) if len(daily) >= 14 else pd.DataFrame()
    bar.update(1)
    bar.close()

    out = db.results_dir(args, cfg)
    report = backtest_report(scores, chosen, cv, until, args, n_series)
    report["chosen_total"] = chosen_total
    (out / "backtest.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    rows.to_csv(out / "forecast_hourly.csv", index=False)
    days_fc.to_csv(out / "forecast_daily.csv", index=False)
    if not args.no_write:
        db.replace_rows(cfg, args.schema, "forecast_hourly", "clear_forecast", rows)
    print(summary(report, len(rows), time.monotonic() - t0, out, not args.no_write))
    return 0


def backtest_report(
    scores: dict, chosen: str, cv: pd.DataFrame, until: dt.date, args: argparse.Namespace, n_series: int
) -> dict[str, Any]:
    """The content of backtest.json."""
    return {
        "history_until": until.isoformat(),
        "history_days": args.days,
        "series": n_series,
        "windows": args.windows,
        "horizon_h": HORIZON_DAY,
        "step_h": HORIZON_DAY,
        "cutoffs": [c.isoformat() for c in sorted(cv["cutoff"].unique().astype("datetime64[s]").tolist())],
        "baseline": backtest.BASELINE,
        "mase_season": 168,
        "chosen": chosen,
        "models": scores,
    }


def summary(report: dict, n_rows: int, elapsed: float, out: Path, wrote: bool) -> str:
    """A table of the backtest scores and one line of what was written."""
    lines = [f"backtest: {report['windows']} windows x {report['horizon_h']} h, {report['series']} series"]
    lines.append(f"{'model':24} {'MASE':>6} {'WAPE':>6} {'relMAE':>7} {'total':>7} {'cov80':>6} {'cov95':>6}")
    fmt: Callable[[Any], str] = lambda v: "    -" if v is None else f"{v:.3f}"  # noqa: E731
    for name, s in report["models"].items():
        mark = " *" if name == report["chosen"] else ""
        lines.append(
            f"{name + mark:24} {fmt(s['mase']):>6} {fmt(s['wape']):>6} {fmt(s['rel_mae']):>7} "
            f"{fmt(s.get('total_rel_mae')):>7} {fmt(s['coverage80']):>6} {fmt(s['coverage95']):>6}"
        )
    target = "forecast_hourly" if wrote else "(not written)"
    lines.append(
        f"{report['chosen']} (total: {report['chosen_total']}): {n_rows} rows -> {target}; files in {out}/ "
        f"({elapsed:.1f} s)"
    )
    return "\n".join(lines)
