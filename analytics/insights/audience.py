"""When subscribers watch: watch hours and views per day, viewers by hour of day, the weekday x hour heatmap."""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from analytics.insight import Insight, NoDataError
from analytics.insights.figures import count, new_figure


def daily_viewing(daily: pd.DataFrame) -> Insight:
    """Watch hours and views per date (``daily``: rows of mart_daily: dt, watch_hours, views, viewers)."""
    if daily.empty:
        raise NoDataError("mart_daily holds no date")
    d = daily.assign(dt=pd.to_datetime(daily["dt"]), watch_hours=daily["watch_hours"].astype(float))
    d = d.sort_values("dt").reset_index(drop=True)
    busiest = d.loc[d["watch_hours"].idxmax()]
    total_views = int(d["views"].sum())
    minutes_per_view = d["watch_hours"].sum() * 60 / total_views if total_views else 0.0

    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(d["dt"], d["watch_hours"], marker="o", color="tab:blue", label="watch hours")
    ax.set_ylabel("watch hours", color="tab:blue")
    ax.set_ylim(bottom=0)
    views_ax = ax.twinx()
    views_ax.plot(d["dt"], d["views"], marker="s", color="tab:orange", label="views")
    views_ax.set_ylabel("views (sessions)", color="tab:orange")
    views_ax.set_ylim(bottom=0)
    ax.set_title("Watch hours and views per day")
    fig.autofmt_xdate()

    sentence = (
        f"Over {len(d)} days ({d['dt'].iloc[0]:%d %b %Y} to {d['dt'].iloc[-1]:%d %b %Y}) subscribers watched "
        f"{d['watch_hours'].mean():,.1f} hours a day on average in {count(d['views'].mean())} views "
        f"({minutes_per_view:.1f} minutes per view); the busiest day was {busiest['dt']:%A %d %b} with "
        f"{busiest['watch_hours']:,.1f} hours."
    )
    table = d[["dt", "watch_hours", "views", "viewers"]].assign(dt=d["dt"].dt.date)
    return Insight("daily_viewing", "Daily watch hours and views", sentence, fig, table)


def by_hour(hourly: pd.DataFrame) -> pd.DataFrame:
    """Per clock hour 0..23 the mean over the dates of viewers and of watch minutes (``hourly``: mart_hourly)."""
    return (
        hourly.assign(viewers=hourly["viewers"].astype(float), watch_minutes=hourly["watch_minutes"].astype(float))
        .groupby("hour", as_index=False)
        .agg(avg_viewers=("viewers", "mean"), avg_watch_minutes=("watch_minutes", "mean"))
        .sort_values("hour")
        .reset_index(drop=True)
    )


def hour_of_day(hourly: pd.DataFrame) -> Insight:
    """Viewers by hour of day, averaged over the dates (``hourly``: rows of mart_hourly)."""
    if hourly.empty:
        raise NoDataError("mart_hourly holds no date")
    h = by_hour(hourly)
    peak = h.loc[h["avg_viewers"].idxmax()]
    quiet = h.loc[h["avg_viewers"].idxmin()]

    fig = new_figure()
    ax = fig.add_subplot()
    ax.bar(h["hour"], h["avg_viewers"], color="tab:blue")
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day")
    ax.set_ylabel("viewers (mean over the dates)")
    ax.set_title("Viewing by hour of day")

    ratio = (
        f", {peak['avg_viewers'] / quiet['avg_viewers']:.1f} times the quietest hour"
        if quiet["avg_viewers"] > 0
        else ", while the quietest hour has none"
    )
    sentence = (
        f"Viewing peaks at {int(peak['hour']):02d}:00 with {peak['avg_viewers']:,.1f} viewers on average{ratio} "
        f"({int(quiet['hour']):02d}:00, {quiet['avg_viewers']:,.1f} viewers)."
    )
    return Insight("hour_of_day", "Viewing by hour of day", sentence, fig, h)


WEEKDAYS = {i + 1: calendar.day_name[i] for i in range(7)}  # ISO: 1 = Monday .. 7 = Sunday
WEEKEND = (6, 7)


def weekday_hour_heatmap(weekday_hour: pd.DataFrame) -> Insight:
    """Mean viewers per weekday and hour (``weekday_hour``: rows of mart_weekday_hour); weekdays without a date
    in the history stay empty."""
    if weekday_hour.empty:
        raise NoDataError("mart_weekday_hour is empty")
    w = weekday_hour.assign(avg_viewers=weekday_hour["avg_viewers"].astype(float))
    grid = w.pivot(index="weekday", columns="hour", values="avg_viewers").reindex(index=range(1, 8), columns=range(24))
    peak = w.loc[w["avg_viewers"].idxmax()]

    fig = new_figure(height=4.2)
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(grid.to_numpy()), aspect="auto", cmap="viridis")
    ax.set_yticks(range(7), [WEEKDAYS[i][:3] for i in range(1, 8)])
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day")
    ax.set_title("Mean viewers by weekday and hour")
    fig.colorbar(image, ax=ax, label="viewers")

    sentence = (
        f"The busiest hour of the week is {WEEKDAYS[int(peak['weekday'])]} {int(peak['hour']):02d}:00 with "
        f"{peak['avg_viewers']:,.1f} viewers on average"
    )
    weekend = w.loc[w["weekday"].isin(WEEKEND), "avg_viewers"].mean()
    weekdays = w.loc[~w["weekday"].isin(WEEKEND), "avg_viewers"].mean()
    if pd.notna(weekend) and pd.notna(weekdays) and weekdays > 0:
        sentence += (
            f"; an hour of the weekend has {weekend:,.1f} viewers against {weekdays:,.1f} on weekdays "
            f"({(weekend / weekdays - 1) * 100:+.1f} %)"
        )
    table = grid.rename(index=WEEKDAYS).round(2)
    return Insight("weekday_hour", "Weekday x hour of day", sentence + ".", fig, table)
