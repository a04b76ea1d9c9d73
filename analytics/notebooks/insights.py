# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Viewing insights
#
# The insights of `python -m analytics report`, read from the warehouse with the read-only role. The numbers,
# figures and sentences come from `analytics.insights` (one pure function per insight, over the rows of
# `greenplum/analytics/*.sql`); this notebook only tells the story in order. `ANALYTICS_SCHEMA` picks another
# warehouse schema than `iptv_dw` (the tests use a throw-away one).

# %%
import os

from IPython.display import Image, Markdown, display

from analytics.render import png_bytes
from analytics.report import collect
from iptv.config import load_config
from iptv.warehouse.schema import DEFAULT_SCHEMA

cfg = load_config()
report = collect(cfg, os.environ.get("ANALYTICS_SCHEMA", DEFAULT_SCHEMA), progress=False)
by_key = {insight.key: insight for insight in report.insights}
shown: set[str] = set()
display(Markdown(f"**{report.heading}**: {len(report.insights)} insights, left out: {report.skipped or 'none'}"))


def show(key: str) -> None:
    """The insight's sentence and figure, or why it was left out."""
    shown.add(key)
    if key not in by_key:
        display(Markdown(f"*{key} left out: {report.skipped.get(key, 'not in the report')}*"))
        return
    insight = by_key[key]
    display(Markdown(f"### {insight.title}\n\n{insight.sentence}"))
    display(Image(data=png_bytes(insight)))


# %% [markdown]
# ## When subscribers watch
#
# The original system's charts first: the daily volume, then its shape over the day and the week.

# %%
for key in ("daily_viewing", "hour_of_day", "weekday_hour"):
    show(key)

# %% [markdown]
# ## What they watch
#
# How the watch time spreads over the channels, which channels keep a view short, and how concentrated viewing
# is over channels and over subscribers.

# %%
for key in ("channel_share", "least_watched", "concentration"):
    show(key)

# %% [markdown]
# ## How they move and how loyal they are
#
# A switch is the next session of the same subscriber on another channel less than 5 minutes after the previous
# one ended. Loyalty is the average audience of a channel over its reach.

# %%
for key in ("audience_flow", "loyalty"):
    show(key)
if "audience_flow" in by_key:
    display(by_key["audience_flow"].table)

# %% [markdown]
# ## Content, from the programme guide
#
# Session lengths by the genre on air when a session starts, the programmes with the most watch time, and how
# series keep their audience from one episode to the next.

# %%
for key in ("genre_durations", "top_programmes", "series_retention"):
    show(key)

# %% [markdown]
# ## Anything else registered
#
# Insights added to `analytics.insights.BUILDERS` by other modules (e.g. subscriber segments).

# %%
for insight in list(report.insights):
    if insight.key not in shown:
        show(insight.key)
