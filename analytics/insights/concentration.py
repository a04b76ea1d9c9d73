"""How concentrated viewing is: Lorenz curves and Gini coefficients over channels and over subscribers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.insight import Insight, NoDataError
from analytics.insights.channels import channel_totals
from analytics.insights.figures import count, new_figure, pct


def gini(values: Sequence[float] | np.ndarray | pd.Series) -> float:
    """The Gini coefficient of non-negative ``values``: 0 when all are equal, (n - 1) / n when one holds all.
    With the values sorted ascending, G = 2 * sum(i * x_i) / (n * sum(x)) - (n + 1) / n, i = 1..n."""
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(2 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n)


def lorenz(values: Sequence[float] | np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve of ``values``: the cumulative share of the population (poorest first) and of the total,
    both from 0 to 1, n + 1 points starting at (0, 0)."""
    x = np.sort(np.asarray(values, dtype=float))
    total = x.sum()
    population = np.arange(len(x) + 1) / max(len(x), 1)
    held = np.concatenate([[0.0], np.cumsum(x) / total]) if total else population
    return population, held


def top_share(values: Sequence[float] | np.ndarray | pd.Series, k: int) -> float:
    """The share of the total held by the ``k`` largest values."""
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    total = x.sum()
    return float(x[:k].sum() / total) if total else 0.0


def concentration_table(channel_hours: pd.Series, subscriber_hours: pd.Series) -> pd.DataFrame:
    """Gini and the top share over channels (top 10 channels) and subscribers (top 10 % of them)."""
    rows = []
    for over, hours, k, top in (
        ("channels", channel_hours, min(10, len(channel_hours)), "top 10 channels"),
        ("subscribers", subscriber_hours, math.ceil(len(subscriber_hours) / 10), "top 10 % of subscribers"),
    ):
        rows.append(
            {"over": over, "n": len(hours), "gini": gini(hours), "top": top, "top_k": k,
             "top_share": top_share(hours, k), "none_share": float((hours <= 0).mean()) if len(hours) else 0.0}
        )  # fmt: skip
    return pd.DataFrame(rows)


def concentration(channel_daily: pd.DataFrame, subscriber_watch: pd.DataFrame) -> Insight:
    """Lorenz curves of watch hours over channels (mart_channel_daily) and over subscribers (every subscriber of
    dim_user, those who never watched with 0)."""
    if subscriber_watch.empty:
        raise NoDataError("no subscriber")
    channel_hours = channel_totals(channel_daily)["watch_hours"]
    subscriber_hours = subscriber_watch["watch_hours"].astype(float)
    table = concentration_table(channel_hours, subscriber_hours)

    fig = new_figure(width=6.5, height=5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="equal viewing")
    for hours, row in zip((channel_hours, subscriber_hours), table.itertuples(), strict=True):
        ax.plot(*lorenz(hours), label=f"{row.over} (Gini {row.gini:.2f})")
    ax.set_xlabel("share of channels / subscribers, least watching first")
    ax.set_ylabel("share of watch hours")
    ax.set_title("Concentration of viewing (Lorenz curves)")
    ax.legend(loc="upper left")

    ch, sub = table.iloc[0], table.iloc[1]
    sentence = (
        f"Over the {count(ch['n'])} channels the Gini coefficient of watch hours is {ch['gini']:.2f} and the "
        f"top {ch['top_k']} take {pct(ch['top_share'])} of all watch time; over the {count(sub['n'])} subscribers "
        f"it is {sub['gini']:.2f}: the top 10 % ({count(sub['top_k'])}) watch {pct(sub['top_share'])} and "
        f"{pct(sub['none_share'])} never watched."
    )
    return Insight("concentration", "Concentration of viewing", sentence, fig, table)
