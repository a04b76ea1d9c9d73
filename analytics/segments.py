"""Subscriber segments: k-means over each subscriber's normalised 7 x 24 viewing profile (share of watch time by
ISO weekday and hour of the session start) and genre mix (share of watch time by the genre on air), with the
segments' sizes, profiles and names computed from their centres, and an Insight for the report.

Input: ``user_profile`` rows (user_id, weekday 1-7, hour, genre, watch_s; greenplum/analytics/user_profile.sql).
Each block is scaled to unit length, so the weekly rhythm and the genre mix weigh the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.insight import Insight

INACTIVE = "inactive"
DAYPARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "daytime"), (18, 23, "evening"), (23, 24, "late"))


@dataclass
class Segments:
    """``assignment``: user_id -> segment name; ``profiles``: segment x 168 mean profile (weekday-major);
    ``genres``: segment x genre mean mix; ``sizes``: subscribers per segment."""

    assignment: pd.Series
    profiles: pd.DataFrame
    genres: pd.DataFrame
    sizes: pd.Series


def profile_matrices(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(users x 168 weekday-hour shares, users x genre shares), each row summing to 1."""
    cell = (rows["weekday"].astype(int) - 1) * 24 + rows["hour"].astype(int)
    week = rows.assign(cell=cell).pivot_table(index="user_id", columns="cell", values="watch_s", aggfunc="sum")
    week = week.reindex(columns=range(168)).fillna(0.0)
    genre = rows.pivot_table(index="user_id", columns="genre", values="watch_s", aggfunc="sum").fillna(0.0)
    genre = genre.reindex(week.index).fillna(0.0)
    return week.div(week.sum(axis=1), axis=0), genre.div(genre.sum(axis=1), axis=0)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def segment_name(profile: np.ndarray, genres: pd.Series) -> str:
    """A name from a centre: the daypart of its busiest hour, weekend-heavy or not, and its top genre."""
    by_hour = profile.reshape(7, 24).sum(axis=0)
    peak = int(by_hour.argmax())
    part = next(name for lo, hi, name in DAYPARTS if lo <= peak < hi)
    weekend = profile.reshape(7, 24)[5:].sum() > 0.4  # 2 of 7 days hold 29 % of an even week
    return f"{part}{' weekend' if weekend else ''} / {genres.idxmax()}"


def fit_segments(rows: pd.DataFrame, users: pd.Series, k: int = 5, seed: int = 0) -> Segments:
    """Segments of ``users`` (ids); those without a row in ``rows`` are :data:`INACTIVE`."""
    from sklearn.cluster import KMeans

    week, genre = profile_matrices(rows)
    x = np.hstack([_unit(week.to_numpy()), _unit(genre.to_numpy())])
    k = max(1, min(k, len(week)))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
    labels = pd.Series(km.labels_, index=week.index)
    profiles = week.groupby(labels).mean()
    genres = genre.groupby(labels).mean()
    names = []
    for i in profiles.index:
        name = segment_name(profiles.loc[i].to_numpy(), genres.loc[i])
        names.append(name if name not in names else f"{name} ({len(names) + 1})")
    rename = dict(zip(profiles.index, names, strict=True))
    assignment = pd.Series(INACTIVE, index=pd.Index(users, name="user_id"))
    assignment.loc[labels.index.intersection(assignment.index)] = labels.map(rename)
    return Segments(
        assignment=assignment,
        profiles=profiles.rename(index=rename),
        genres=genres.rename(index=rename),
        sizes=assignment.value_counts(),
    )


def segments_insight(seg: Segments) -> Insight:
    """The report's insight: each segment's mean daily curve (weekdays and weekend) and genre mix, and a
    sentence on the largest and smallest segment."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    for name, row in seg.profiles.iterrows():
        grid = row.to_numpy().reshape(7, 24)
        ax1.plot(range(24), grid.sum(axis=0) * 100, label=f"{name} ({seg.sizes.get(name, 0):,})")
    ax1.set(xlabel="hour of the session start", ylabel="% of the segment's watch time", xticks=range(0, 24, 3))
    ax1.legend(fontsize=7)
    (seg.genres * 100).plot.barh(stacked=True, ax=ax2, legend=True, width=0.7)
    ax2.set(xlabel="% of watch time by genre", ylabel="")
    ax2.legend(fontsize=6, ncols=2, loc="lower right")
    fig.tight_layout()
    viewing = seg.sizes.drop(INACTIVE, errors="ignore")
    total = int(viewing.sum())
    big, small = viewing.idxmax(), viewing.idxmin()
    top_genre = seg.genres.loc[big].idxmax()
    sentence = (
        f"{len(viewing)} segments of {total:,} viewing subscribers: the largest, '{big}', holds "
        f"{100 * viewing[big] / total:.0f} % of them ({top_genre} {100 * seg.genres.loc[big, top_genre]:.0f} % of "
        f"its watch time); the smallest, '{small}', {100 * viewing[small] / total:.0f} %"
        + (f"; {int(seg.sizes[INACTIVE]):,} subscribers did not view." if INACTIVE in seg.sizes else ".")
    )
    table = pd.DataFrame({"subscribers": viewing}).join((seg.genres * 100).round(1))
    return Insight(key="segments", title="Subscriber segments", sentence=sentence, figure=fig, table=table)
