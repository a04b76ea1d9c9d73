"""The channel rating table (data/reference/tv_rating.csv) the simulator is calibrated against.

``channel_id`` is the place in the rating, as in the original system. Shares are percentages as published
(they sum to 100 +- 0.01 because of rounding); :func:`load_rating` normalises them to fractions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from iptv.config import REPO_ROOT

REFERENCE_DIR = REPO_ROOT / "data" / "reference"
RATING_CSV = REFERENCE_DIR / "tv_rating.csv"
MODEL_CSV = REFERENCE_DIR / "channel_model.csv"


@dataclass(frozen=True)
class Rating:
    """The 148 channels: ids, names, published percentages and normalised fractions."""

    channel_id: np.ndarray  # int64, = place
    name: tuple[str, ...]
    watch_pct: np.ndarray  # as published, %
    viewer_pct: np.ndarray  # as published, %

    @property
    def watch_share(self) -> np.ndarray:
        return self.watch_pct / self.watch_pct.sum()

    @property
    def viewer_share(self) -> np.ndarray:
        return self.viewer_pct / self.viewer_pct.sum()

    def __len__(self) -> int:
        return len(self.channel_id)


@lru_cache(maxsize=4)
def load_rating(path: str | Path = RATING_CSV) -> Rating:
    """Read the rating table (header in Russian: place, channel, watch-time %, viewers %)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    rows = [r for r in rows if r]
    return Rating(
        channel_id=np.array([int(r[0]) for r in rows], dtype=np.int64),
        name=tuple(r[1] for r in rows),
        watch_pct=np.array([float(r[2]) for r in rows]),
        viewer_pct=np.array([float(r[3]) for r in rows]),
    )
