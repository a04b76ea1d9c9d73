"""Per-subscriber features and outcomes from the warehouse's sessions (pure pandas / numpy).

Input: ``user_channel_daily`` rows (user_id, dt, channel_id, sessions, watch_s; greenplum/analytics/
user_channel_daily.sql) and the subscribers (user_id, signup_date). A *cutoff* is the last day a feature may
see; the features of a subscriber at cutoff c use the WINDOW days up to and including c:

- ``recency_days``: days since the last day with a session (0 = viewed on c; WINDOW when none in the window);
- ``viewed_today``: a session on c (the baseline "viewed yesterday" for the day after c);
- ``days_3`` / ``days_7`` / ``days_14``: days with a session among the last 3 / 7 / 14;
- ``watch_h_7`` / ``watch_h_14``: watch hours; ``sessions_14``: sessions;
- ``same_weekday``: days with a session among the weekdays of c + 1 in the window (c - 6, c - 13);
- ``trend``: days_7 minus the viewing days of the 7 before them (fading is negative);
- ``fav_share``: the favourite channel's share of the window's watch time (0 without viewing);
  ``n_channels``: distinct channels;
- ``tenure_days``: c minus the signup date;
- over the LONG_WINDOW days up to c, from the signup on (NaN before any such day): ``rate_long``, the share of
  days with a session, and ``weekday_rate``, the share of the weekdays of c + 1 with a session;
  ``weekday_next``: the ISO weekday of c + 1 (weekends are busier).

Outcomes: ``view_next`` (a session on c + 1) and ``inactive_7d`` (no session on c + 1 .. c + 7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

WINDOW = 14
LONG_WINDOW = 28
FEATURES = (
    "recency_days", "viewed_today", "days_3", "days_7", "days_14", "watch_h_7", "watch_h_14", "sessions_14",
    "same_weekday", "trend", "fav_share", "n_channels", "tenure_days", "rate_long", "weekday_rate", "weekday_next",
)  # fmt: skip
INACTIVE_DAYS = 7


class Activity:
    """Daily sessions and watch seconds per subscriber (rows: ``users``; columns: ``dates``, consecutive)."""

    def __init__(self, ucd: pd.DataFrame, users: pd.DataFrame, dates: Sequence[dt.date]) -> None:
        self.users = users.sort_values("user_id", ignore_index=True)
        self.user_ids = self.users["user_id"].to_numpy(np.int64)
        self.dates = [pd.Timestamp(d).date() for d in dates]
        self.signup = pd.to_datetime(self.users["signup_date"]).dt.date.to_numpy()
        day_of = {d: i for i, d in enumerate(self.dates)}
        ucd = ucd.assign(day=pd.to_datetime(ucd["dt"]).dt.date.map(day_of))
        ucd = ucd[ucd["day"].notna() & ucd["user_id"].isin(self.user_ids)]
        self.ucd = ucd.assign(day=ucd["day"].astype(int), row=np.searchsorted(self.user_ids, ucd["user_id"].to_numpy()))
        shape = (len(self.user_ids), len(self.dates))
        self.sessions = np.zeros(shape)
        self.watch_s = np.zeros(shape)
        np.add.at(self.sessions, (self.ucd["row"], self.ucd["day"]), self.ucd["sessions"].to_numpy(float))
        np.add.at(self.watch_s, (self.ucd["row"], self.ucd["day"]), self.ucd["watch_s"].to_numpy(float))
        self.viewed = self.sessions > 0
        self._features: dict[int, pd.DataFrame] = {}

    def features(self, c: int) -> pd.DataFrame:
        """The features at cutoff day index ``c`` (needs ``c >= WINDOW - 1``), one row per subscriber."""
        if c < WINDOW - 1 or c >= len(self.dates):
            raise ValueError(f"cutoff {c}: needs {WINDOW - 1} <= c < {len(self.dates)}")
        if c not in self._features:
            self._features[c] = self._compute(c)
        return self._features[c]

    def _long_rates(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        lo = max(0, c - LONG_WINDOW + 1)
        days = np.arange(lo, c + 1)
        first = np.array([(s - self.dates[0]).days for s in self.signup])
        known = days[None, :] >= first[:, None]  # the subscriber had signed up
        same = ((c + 1 - days) % 7 == 0)[None, :] & known
        v = self.viewed[:, lo : c + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (v & known).sum(axis=1) / known.sum(axis=1)
            weekday = (v & same).sum(axis=1) / same.sum(axis=1)
        return rate, weekday

    def _compute(self, c: int) -> pd.DataFrame:
        lo = c - WINDOW + 1
        v = self.viewed[:, lo : c + 1]
        seen = v.any(axis=1)
        last = np.where(seen, np.argmax(v[:, ::-1], axis=1), WINDOW)
        days_7 = v[:, -7:].sum(axis=1)
        win = self.ucd[(self.ucd["day"] >= lo) & (self.ucd["day"] <= c)]
        per_channel = win.groupby(["row", "channel_id"])["watch_s"].sum()
        by_row = per_channel.groupby(level="row")
        fav = np.zeros(len(self.user_ids))
        n_ch = np.zeros(len(self.user_ids))
        total = by_row.sum()
        fav[total.index] = (by_row.max() / total.replace(0, np.nan)).fillna(0).to_numpy()
        n_ch[total.index] = by_row.size().to_numpy()
        cutoff = self.dates[c]
        tenure = np.array([(cutoff - s).days for s in self.signup], dtype=float)
        rate_long, weekday_rate = self._long_rates(c)
        return pd.DataFrame(
            {
                "user_id": self.user_ids,
                "recency_days": last,
                "viewed_today": v[:, -1].astype(int),
                "days_3": v[:, -3:].sum(axis=1),
                "days_7": days_7,
                "days_14": v.sum(axis=1),
                "watch_h_7": self.watch_s[:, c - 6 : c + 1].sum(axis=1) / 3600,
                "watch_h_14": self.watch_s[:, lo : c + 1].sum(axis=1) / 3600,
                "sessions_14": self.sessions[:, lo : c + 1].sum(axis=1),
                "same_weekday": v[:, [-7, -14]].sum(axis=1),
                "trend": days_7 - v[:, -14:-7].sum(axis=1),
                "fav_share": fav,
                "n_channels": n_ch,
                "tenure_days": tenure,
                "rate_long": rate_long,
                "weekday_rate": weekday_rate,
                "weekday_next": (cutoff + dt.timedelta(days=1)).isoweekday(),
            }
        )

    def outcomes(self, c: int) -> pd.DataFrame:
        """``view_next`` and ``inactive_7d`` after cutoff ``c`` (NaN where the days are not in the history)."""
        n = len(self.dates)
        nxt = self.viewed[:, c + 1].astype(float) if c + 1 < n else np.full(len(self.user_ids), np.nan)
        if c + INACTIVE_DAYS < n:
            inactive = (~self.viewed[:, c + 1 : c + 1 + INACTIVE_DAYS].any(axis=1)).astype(float)
        else:
            inactive = np.full(len(self.user_ids), np.nan)
        return pd.DataFrame({"user_id": self.user_ids, "view_next": nxt, "inactive_7d": inactive})

    def signed_up(self, c: int) -> np.ndarray:
        """Mask of the subscribers signed up by cutoff ``c``."""
        return np.array([s <= self.dates[c] for s in self.signup])

    def panel(self, cutoffs: Sequence[int]) -> pd.DataFrame:
        """Features and outcomes of the signed-up subscribers at each cutoff, with its index ``cutoff``."""
        parts = []
        for c in cutoffs:
            f = self.features(c).merge(self.outcomes(c), on="user_id")
            parts.append(f[self.signed_up(c)].assign(cutoff=c))
        return pd.concat(parts, ignore_index=True)
