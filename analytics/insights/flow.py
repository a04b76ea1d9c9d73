"""Audience flow: where subscribers go when they switch channel (the next session of one subscriber starting
less than 5 minutes after the previous one ended, on another channel)."""

from __future__ import annotations

import pandas as pd

from analytics.insight import Insight, NoDataError
from analytics.insights.figures import count, counted, new_figure, pct

#: A switch: the next session starts less than this many minutes after the previous one ended.
MAX_GAP_MIN = 5


def _names(frame: pd.DataFrame, side: str) -> pd.Series:
    name = frame[f"{side}_channel_name"]
    return name.where(name.notna(), "channel " + frame[f"{side}_channel_id"].astype(str))


def channel_switches(session_gaps: pd.DataFrame, max_gap_min: int = MAX_GAP_MIN) -> pd.DataFrame:
    """Switches per (from, to) channel, most first: consecutive sessions of one subscriber on two different
    channels with a gap under ``max_gap_min`` minutes. ``session_gaps``: the pairs per (from channel, to
    channel, gap in whole minutes) of greenplum/analytics/session_gaps.sql."""
    g = session_gaps[
        (session_gaps["gap_min"] < max_gap_min) & (session_gaps["from_channel_id"] != session_gaps["to_channel_id"])
    ]
    g = g.assign(from_label=_names(g, "from"), to_label=_names(g, "to"))
    out = g.groupby(["from_channel_id", "from_label", "to_channel_id", "to_label"], as_index=False).agg(
        switches=("pairs", "sum")
    )
    return out.sort_values(["switches", "from_channel_id", "to_channel_id"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def switch_matrix(switches: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    """Switches from (rows) and to (columns) the ``top`` channels with the most switches in and out."""
    volume = (
        pd.concat(
            [
                switches.groupby("from_label")["switches"].sum(),
                switches.groupby("to_label")["switches"].sum(),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    labels = volume.sort_values(ascending=False, kind="stable").head(top).index
    inner = switches[switches["from_label"].isin(labels) & switches["to_label"].isin(labels)]
    return (
        inner.pivot_table(index="from_label", columns="to_label", values="switches", aggfunc="sum", fill_value=0)
        .reindex(index=labels, columns=labels, fill_value=0)
        .astype(int)
    )


def audience_flow(session_gaps: pd.DataFrame, top: int = 10) -> Insight:
    """The switch matrix of the ``top`` channels and the largest flows."""
    switches = channel_switches(session_gaps)
    if switches.empty:
        raise NoDataError(f"no consecutive sessions less than {MAX_GAP_MIN} min apart on different channels")
    close = int(session_gaps.loc[session_gaps["gap_min"] < MAX_GAP_MIN, "pairs"].sum())
    total = int(switches["switches"].sum())
    matrix = switch_matrix(switches, top)

    fig = new_figure(width=8.0, height=6.5)
    ax = fig.add_subplot()
    image = ax.imshow(matrix.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(matrix.index)), matrix.index, fontsize=8)
    ax.set_xlabel("to channel")
    ax.set_ylabel("from channel")
    ax.set_title(f"Channel switches (next session < {MAX_GAP_MIN} min later), top {len(matrix)} channels")
    fig.colorbar(image, ax=ax, label="switches")

    first = switches.iloc[0]
    reverse = (switches["from_channel_id"] == first["to_channel_id"]) & (
        switches["to_channel_id"] == first["from_channel_id"]
    )
    back = switches.loc[reverse, "switches"]
    sentence = (
        f"{count(close)} sessions started less than {MAX_GAP_MIN} minutes after the same subscriber's previous "
        f"one ended, {pct(total / close)} of them on another channel; the largest flow is {first['from_label']} "
        f"to {first['to_label']} with {counted(first['switches'], 'switch', 'switches')} "
        f"({pct(first['switches'] / total)} of all {count(total)}), the reverse has {count(back.sum())}."
    )
    table = switches.head(top)[["from_label", "to_label", "switches"]]
    return Insight("audience_flow", "Audience flow between channels", sentence, fig, table)
