"""Content, from the programme guide: session durations by genre, the top programmes, and how series keep their
audience from one episode to the next."""

from __future__ import annotations

import pandas as pd

from analytics.insight import Insight, NoDataError
from analytics.insights.figures import count, counted, new_figure, pct

#: The median audience curve goes as far as this many series (or a tenth of them) have episodes.
MIN_SERIES = 3
_QUANTILES = ("mean_s", "p25_s", "p50_s", "p75_s", "p90_s")


def genre_durations(genre_durations: pd.DataFrame) -> Insight:
    """Median, quartiles and p90 of the session durations per genre of the programme a session starts in
    (greenplum/analytics/genre_durations.sql), longest median first."""
    if genre_durations.empty:
        raise NoDataError("no session starts in a programme of the guide")
    g = genre_durations.astype({c: float for c in _QUANTILES})
    g = g.assign(**{c.replace("_s", "_min"): g[c] / 60 for c in _QUANTILES})
    g = g.sort_values(["p50_min", "genre"], ascending=[False, True]).reset_index(drop=True)

    fig = new_figure()
    ax = fig.add_subplot()
    y = range(len(g))
    ax.barh(y, g["p75_min"] - g["p25_min"], left=g["p25_min"], color="tab:blue", alpha=0.4, label="p25 to p75")
    ax.scatter(g["p50_min"], y, color="tab:blue", zorder=3, label="median")
    ax.scatter(g["p90_min"], y, color="tab:red", marker="|", s=200, label="p90")
    ax.set_yticks(list(y), g["genre"])
    ax.invert_yaxis()
    ax.set_xlabel("session duration (minutes)")
    ax.set_title("Session durations by genre of the programme on air at the start")
    ax.legend(loc="best")

    longest, shortest = g.iloc[0], g.iloc[-1]
    sentence = (
        f"Sessions that start in {longest['genre']} last longest, a median of {longest['p50_min']:.1f} minutes "
        f"(mean {longest['mean_min']:.1f}), and those in {shortest['genre']} shortest, "
        f"{shortest['p50_min']:.1f} minutes (mean {shortest['mean_min']:.1f}), over {count(g['sessions'].sum())} "
        f"sessions that started in a programme of the guide."
    )
    table = g[["genre", "sessions", "mean_min", "p25_min", "p50_min", "p75_min", "p90_min"]]
    return Insight("genre_durations", "Session durations by genre", sentence, fig, table)


def top_programmes(programmes: pd.DataFrame, n: int = 10) -> Insight:
    """The ``n`` programmes (a title on a channel, over all its airings) that earned the most watch time
    (greenplum/analytics/programmes.sql), with their mean average minute audience."""
    if programmes.empty:
        raise NoDataError("mart_programme is empty")
    p = programmes.astype({"avg_amr": float, "avg_viewers": float, "watch_minutes": float})
    watched = p["watch_minutes"].sum()
    if not watched:
        raise NoDataError(f"nobody watched any of the {len(p)} programmes of the guide")
    channel = p["channel_name"].where(p["channel_name"].notna(), "channel " + p["channel_id"].astype(str))
    p = p.assign(label=p["title"] + " (" + channel + ")", channel=channel, watch_hours=p["watch_minutes"] / 60)
    top = p.sort_values(["watch_minutes", "title", "channel_id"], ascending=[False, True, True]).head(n)
    top = top.reset_index(drop=True)

    fig = new_figure()
    ax = fig.add_subplot()
    ax.barh(top["label"][::-1], top["watch_hours"][::-1], color="tab:purple")
    ax.set_xlabel("watch hours over all airings")
    ax.set_title(f"Top {len(top)} programmes by watch time")
    ax.tick_params(axis="y", labelsize=8)

    best = top.iloc[0]
    sentence = (
        f"{best['title']} on {best['channel']} earned the most watch time: {best['watch_hours']:,.1f} hours over "
        f"{counted(best['airings'], 'airing')}, {best['avg_amr']:.2f} viewers in an average minute; the top {len(top)} "
        f"of {count(len(p))} programmes hold {pct(top['watch_minutes'].sum() / watched)} of the watch time in "
        "programmes."
    )
    table = top[["title", "channel", "genre", "airings", "watch_hours", "avg_viewers", "max_viewers", "avg_amr"]]
    return Insight("top_programmes", "Top programmes", sentence, fig, table)


def episode_retention(series_episodes: pd.DataFrame) -> pd.DataFrame:
    """Per series and episode in order (1 = its first episode in the history): the mean viewers of an airing,
    ``keep`` = viewers / the previous episode's viewers and ``of_first`` = viewers / the first episode's viewers
    (NaN where the denominator is 0). Series with a single episode are left out."""
    e = series_episodes.assign(avg_viewers=series_episodes["avg_viewers"].astype(float))
    e = e.sort_values(["series_id", "episode"]).reset_index(drop=True)
    e = e[e.groupby("series_id")["episode"].transform("size") > 1]
    grouped = e.groupby("series_id")["avg_viewers"]
    previous = grouped.shift(1)
    first = grouped.transform("first")
    return e.assign(
        index=e.groupby("series_id").cumcount() + 1,
        keep=e["avg_viewers"] / previous.where(previous > 0),
        of_first=e["avg_viewers"] / first.where(first > 0),
    ).reset_index(drop=True)


def series_retention(series_episodes: pd.DataFrame) -> Insight:
    """How series keep their audience: the median share of an episode's audience that the next one keeps, and
    the median curve of the audience relative to the first episode."""
    r = episode_retention(series_episodes)
    if r.empty:
        raise NoDataError("no series with two episodes in the guide")
    keep = r["keep"].dropna()
    n_series = r["series_id"].nunique()
    curve = r.groupby("index")["of_first"].agg(["median", "size"]).reset_index()
    # Far episodes of the few longest series say little about series in general.
    curve = curve[curve["size"] >= max(min(MIN_SERIES, n_series), n_series // 10)]
    per_series = r.groupby("series_id")["keep"].median().dropna()

    fig = new_figure()
    ax = fig.add_subplot()
    for _, one in r.groupby("series_id"):
        ax.plot(one["index"], one["of_first"] * 100, color="grey", alpha=0.15, linewidth=0.8)
    ax.plot(curve["index"], curve["median"] * 100, color="tab:blue", marker="o", linewidth=2, label="median")
    ax.axhline(100, color="black", linewidth=0.5)
    # A few series that start from a tiny first audience would squash the rest against the axis.
    ax.set_ylim(0, max(150.0, float(r["of_first"].quantile(0.95)) * 120))
    ax.set_xlabel("episode (1 = the first in the history)")
    ax.set_ylabel("audience, % of the first episode")
    ax.set_title(f"Audience from episode to episode ({n_series} series)")
    ax.legend(loc="upper right")

    last = curve.iloc[-1]
    sentence = (
        f"Across {n_series} series with at least two episodes, an episode keeps a median {pct(keep.median())} of "
        f"the previous one's audience, and by episode {int(last['index'])} the median series has "
        f"{pct(last['median'])} of its first episode's"
    )
    if len(per_series):
        sentence += (
            f"; {per_series.idxmax()} keeps its audience best ({pct(per_series.max())} per episode), "
            f"{per_series.idxmin()} worst ({pct(per_series.min())})"
        )
    table = (
        r.groupby("series_id")
        .agg(episodes=("episode", "size"), first_viewers=("avg_viewers", "first"), median_keep=("keep", "median"))
        .sort_values("median_keep", ascending=False)
        .reset_index()
    )
    return Insight("series_retention", "How series keep their audience", sentence + ".", fig, table)
