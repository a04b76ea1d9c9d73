"""The insights of the report: each a pure function from DataFrames (the rows of greenplum/analytics/*.sql) to
an :class:`~analytics.insight.Insight`, listed in :data:`BUILDERS` with the queries it reads, in the report's
order. Another insight joins the report through :func:`register`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics.insight import Insight
from analytics.insights import audience, channels, concentration, flow, programmes


@dataclass(frozen=True)
class InsightBuilder:
    """``build`` is called with the frames of ``queries`` (greenplum/analytics/<name>.sql), in that order."""

    key: str
    queries: tuple[str, ...]
    build: Callable[..., Insight]


BUILDERS: list[InsightBuilder] = [
    InsightBuilder("daily_viewing", ("daily",), audience.daily_viewing),
    InsightBuilder("channel_share", ("channel_daily",), channels.channel_share),
    InsightBuilder("least_watched", ("channel_daily",), channels.least_watched),
    InsightBuilder("hour_of_day", ("hourly",), audience.hour_of_day),
    InsightBuilder("weekday_hour", ("weekday_hour",), audience.weekday_hour_heatmap),
    InsightBuilder("concentration", ("channel_daily", "subscriber_watch"), concentration.concentration),
    InsightBuilder("audience_flow", ("session_gaps",), flow.audience_flow),
    InsightBuilder("loyalty", ("channel_daily", "channel_reach"), channels.loyalty),
    InsightBuilder("genre_durations", ("genre_durations",), programmes.genre_durations),
    InsightBuilder("top_programmes", ("programmes",), programmes.top_programmes),
    InsightBuilder("series_retention", ("series_episodes",), programmes.series_retention),
]


def register(builder: InsightBuilder) -> None:
    """Add ``builder`` at the end of the report (or in place of the builder with its key)."""
    for i, known in enumerate(BUILDERS):
        if known.key == builder.key:
            BUILDERS[i] = builder
            return
    BUILDERS.append(builder)
