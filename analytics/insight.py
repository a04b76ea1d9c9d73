"""One insight of the report: a figure and a sentence computed from the data (never hard-coded text)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure


@dataclass
class Insight:
    """``key`` names the figure's file (``<key>.png``); ``sentence`` is written from the numbers of ``table``."""

    key: str
    title: str
    sentence: str
    figure: Figure
    table: pd.DataFrame | None = None


class NoDataError(ValueError):
    """The warehouse holds nothing this insight could be computed from (e.g. no programme guide loaded); the
    report leaves the insight out and says why."""
