"""Which channels are watched, and how: the top channels' share, the least watched per view, loyalty."""

from __future__ import annotations

import pandas as pd

from analytics.insight import Insight, NoDataError
from analytics.insights.figures import count, new_figure, pct

OTHERS = "Others"


def channel_totals(channel_daily: pd.DataFrame) -> pd.DataFrame:
    """Per channel over all dates of ``channel_daily`` (rows of mart_channel_daily): name, watch hours, views,
    the dates with a viewer, and ``label`` (the name, else ``channel <id>``); most watched first."""
    if channel_daily.empty:
        raise NoDataError("mart_channel_daily is empty")
    c = channel_daily.assign(watch_hours=channel_daily["watch_hours"].astype(float))
    totals = c.groupby("channel_id", as_index=False).agg(
        channel_name=("channel_name", "last"),
        watch_hours=("watch_hours", "sum"),
        views=("views", "sum"),
        days=("dt", "nunique"),
    )
    totals["label"] = totals["channel_name"].where(
        totals["channel_name"].notna(), "channel " + totals["channel_id"].astype(str)
    )
    return totals.sort_values(["watch_hours", "channel_id"], ascending=[False, True]).reset_index(drop=True)


def top_share(channel_daily: pd.DataFrame, top: int = 6) -> pd.DataFrame:
    """The ``top`` most watched channels and one row ``Others`` for the rest: watch hours and share (0..1)."""
    totals = channel_totals(channel_daily)
    head = totals.head(top)[["label", "watch_hours"]]
    rest = totals["watch_hours"].iloc[top:].sum()
    if len(totals) > top:
        head = pd.concat([head, pd.DataFrame({"label": [OTHERS], "watch_hours": [rest]})], ignore_index=True)
    total = totals["watch_hours"].sum()
    return head.assign(share=head["watch_hours"] / total if total else 0.0)


def channel_share(channel_daily: pd.DataFrame, top: int = 6) -> Insight:
    """The share of all watch time of the ``top`` most watched channels, the others as one slice."""
    shares = top_share(channel_daily, top)
    named = shares[shares["label"] != OTHERS]
    others = shares.loc[shares["label"] == OTHERS, "share"]
    n_others = len(channel_totals(channel_daily)) - len(named)

    fig = new_figure()
    ax = fig.add_subplot()
    ax.pie(shares["share"], labels=shares["label"], autopct="%1.1f%%", startangle=90, counterclock=False)
    ax.set_title(f"Share of watch time: top {len(named)} channels and the others")

    sentence = (
        f"The {len(named)} most watched channels take {pct(named['share'].sum())} of all watch time, "
        f"{named['label'].iloc[0]} alone {pct(named['share'].iloc[0])}"
    )
    if n_others:
        sentence += f"; the other {n_others} channels share the remaining {pct(others.iloc[0])}"
    return Insight("channel_share", "Top channels' share of watch time", sentence + ".", fig, shares)


def least_watched(channel_daily: pd.DataFrame, n: int = 10) -> Insight:
    """The ``n`` channels with the fewest watch hours per view (channels with at least one view)."""
    totals = channel_totals(channel_daily)
    viewed = totals[totals["views"] > 0]
    if viewed.empty:
        raise NoDataError("no channel has a view")
    per_view = viewed.assign(hours_per_view=viewed["watch_hours"] / viewed["views"])
    bottom = per_view.sort_values(["hours_per_view", "channel_id"]).head(n).reset_index(drop=True)
    overall = totals["watch_hours"].sum() / totals["views"].sum()

    fig = new_figure()
    ax = fig.add_subplot()
    ax.barh(bottom["label"][::-1], bottom["hours_per_view"][::-1], color="tab:red")
    ax.axvline(overall, color="grey", linestyle="--", label="all channels")
    ax.set_xlabel("watch hours per view")
    ax.set_title(f"The {len(bottom)} least watched channels per view")
    ax.legend(loc="lower right")

    worst = bottom.iloc[0]
    sentence = (
        f"{worst['label']} holds its viewers the shortest: {worst['hours_per_view'] * 60:.1f} minutes per view "
        f"over {count(worst['views'])} views, against {overall * 60:.1f} minutes for all channels."
    )
    table = bottom[["label", "watch_hours", "views", "hours_per_view"]]
    return Insight("least_watched", "Least watched channels (watch hours per view)", sentence, fig, table)


def channel_loyalty(channel_daily: pd.DataFrame, channel_reach: pd.DataFrame) -> pd.DataFrame:
    """Per channel: the average audience (its watch hours / the hours of the whole period, i.e. the viewers it has
    at an average moment), its reach (distinct subscribers over the period, ``channel_reach``) and the loyalty =
    average audience / reach: the share of the period its average viewer spends on it. The period = the dates of
    ``channel_daily``."""
    totals = channel_totals(channel_daily)
    period_hours = channel_daily["dt"].nunique() * 24
    out = totals.merge(channel_reach[["channel_id", "reach"]], on="channel_id", how="inner")
    out = out[out["reach"] > 0]
    out = out.assign(avg_audience=out["watch_hours"] / period_hours)
    out = out.assign(loyalty=out["avg_audience"] / out["reach"])
    if "universe" in channel_reach and len(channel_reach):
        universe = int(channel_reach["universe"].iloc[0])
        out = out.assign(reach_share=out["reach"] / universe if universe else float("nan"))
    return out.sort_values(["loyalty", "channel_id"], ascending=[False, True]).reset_index(drop=True)


def loyalty(channel_daily: pd.DataFrame, channel_reach: pd.DataFrame, n: int = 15) -> Insight:
    """Loyalty per channel (average audience / reach) against its reach."""
    loyal = channel_loyalty(channel_daily, channel_reach)
    if loyal.empty:
        raise NoDataError("no channel has a subscriber who watched it")

    fig = new_figure()
    ax = fig.add_subplot()
    ax.scatter(loyal["reach"], loyal["loyalty"] * 100, color="tab:green")
    for _, row in loyal.head(5).iterrows():
        ax.annotate(row["label"], (row["reach"], row["loyalty"] * 100), fontsize=8, xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("reach (distinct subscribers over the period)")
    ax.set_ylabel("loyalty: average audience / reach (%)")
    ax.set_title("Loyalty per channel")

    best = loyal.iloc[0]
    sentence = (
        f"{best['label']} has the most loyal audience: at an average moment it holds {best['avg_audience']:.2f} "
        f"viewers, {pct(best['loyalty'])} of the {count(best['reach'])} subscribers it reached; the median "
        f"channel keeps {pct(loyal['loyalty'].median())} and the widest reaching, "
        f"{loyal.loc[loyal['reach'].idxmax(), 'label']}, {pct(loyal.loc[loyal['reach'].idxmax(), 'loyalty'])}."
    )
    table = loyal.head(n)[["label", "watch_hours", "avg_audience", "reach", "loyalty"]]
    return Insight("loyalty", "Loyalty per channel (average audience / reach)", sentence, fig, table)
