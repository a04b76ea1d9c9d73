"""The viewing behaviour model: who watches what, when and for how long.

A subscriber has an activity level (sittings per day), a personal *repertoire* of channels (their habits:
5-20 channels drawn by the channels' tune-in weights, ranked, watched with Zipf-like preference) and sits
down in front of the TV a Poisson number of times a day. Sitting start times follow a daily curve (night
minimum, morning bump, daytime trickle, evening prime time 19-22 h; weekends have a fuller daytime). A sitting
is a chain of consecutive sessions: zapping (< 1 min, any repertoire channel) and views (heavy-tailed: short
looks, programme-length, long evenings) whose length is scaled by the channel's *stay factor*. One subscriber
watches one channel at a time: sessions never overlap (a sitting that would run into a later one loses the
later sessions); a session may cross midnight but starts on its day.

The per-channel tune-in weight (who tunes in, fitted to the viewer share) and stay factor (how long they stay,
fitted to the watch-time share) come from data/reference/channel_model.csv, produced by :func:`fit` (CLI:
``python -m producer calibrate``) so that a simulated week reproduces the rating table.

Everything is vectorised with numpy; a day depends only on (seed, date, number of subscribers).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from producer.reference import MODEL_CSV, Rating, load_rating

log = logging.getLogger(__name__)

DAY = 86400
#: Longest session (just under 6 h): a session that crosses midnight starts after 18:00, and what spills
#: into the next day ends before 06:00 -- so the carry-over between days never chains further than one day.
MAX_DURATION = 6 * 3600 - 1
#: Mean sittings per subscriber per weekday (weekends x WEEKEND_FACTOR).
MEAN_SITTINGS = 2.0
WEEKEND_FACTOR = 1.15
#: Probability that a session of a sitting is zapping (< 1 min).
ZAP_PROB = 0.3
#: Probability that a session picks a channel outside the subscriber's repertoire (by tune-in weight).
EXPLORE_PROB = 0.04
MAX_REPERTOIRE = 24

# Relative sitting-start intensity by hour (value at the middle of the hour), weekday and weekend.
_WEEKDAY = [0.9, 0.45, 0.2, 0.1, 0.08, 0.1, 0.3, 0.6, 0.6, 0.45, 0.4, 0.4,
            0.45, 0.45, 0.42, 0.45, 0.55, 0.8, 1.3, 2.2, 2.8, 2.7, 2.0, 1.4]  # fmt: skip
_WEEKEND = [1.1, 0.6, 0.3, 0.12, 0.08, 0.08, 0.15, 0.3, 0.55, 0.8, 0.95, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.7, 2.3, 2.6, 2.6, 2.1, 1.6]  # fmt: skip


def _minute_cdf(hourly: list[float]) -> np.ndarray:
    """CDF over the 1440 minutes of a day, linear between hour midpoints (wrapping round midnight)."""
    x = np.arange(-0.5, 25.5)
    y = np.array([hourly[-1], *hourly, hourly[0]])
    w = np.interp(np.arange(1440) / 60.0 + 1 / 120, x, y)
    c = np.cumsum(w)
    return c / c[-1]


_CDF = {False: _minute_cdf(_WEEKDAY), True: _minute_cdf(_WEEKEND)}


def daily_curve(weekend: bool = False) -> np.ndarray:
    """Relative sitting-start intensity per minute of the day (sums to 1)."""
    return np.diff(_CDF[weekend], prepend=0.0)


def epoch_seconds(day: dt.date) -> int:
    """Seconds from 1970-01-01 to the day's midnight (wall-clock time, no time zone)."""
    return (day - dt.date(1970, 1, 1)).days * DAY


@dataclass(frozen=True)
class ChannelModel:
    tune_in: np.ndarray  # who tunes in (fitted to the viewer share), sums to 1
    stay: np.ndarray  # how long they stay (fitted to the watch-time share), multiplies view lengths


def naive_channel_model(rating: Rating) -> ChannelModel:
    """Starting point of the fit: tune-in ~ viewer share, stay ~ watch time per viewer."""
    v, w = rating.viewer_share, rating.watch_share
    stay = w / v
    return ChannelModel(tune_in=v.copy(), stay=stay / (stay * v).sum())


@lru_cache(maxsize=4)
def load_channel_model(path: str | Path = MODEL_CSV) -> ChannelModel:
    """The fitted channel model (falls back to the naive one when the file is missing)."""
    rating = load_rating()
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = {int(r["channel_id"]): r for r in csv.DictReader(fh)}
    except FileNotFoundError:
        log.warning("%s missing: using the uncalibrated channel model", path)
        return naive_channel_model(rating)
    tune = np.array([float(rows[int(c)]["tune_in"]) for c in rating.channel_id])
    stay = np.array([float(rows[int(c)]["stay"]) for c in rating.channel_id])
    return ChannelModel(tune_in=tune / tune.sum(), stay=stay)


def save_channel_model(model: ChannelModel, path: str | Path = MODEL_CSV) -> None:
    rating = load_rating()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["channel_id", "tune_in", "stay"])
        for cid, t, s in zip(rating.channel_id, model.tune_in, model.stay, strict=True):
            w.writerow([int(cid), f"{t:.8g}", f"{s:.6g}"])


@dataclass(frozen=True)
class Population:
    """Per-subscriber traits, fixed for a seed."""

    user_id: np.ndarray  # 1..N
    activity: np.ndarray  # mean sittings per weekday
    repertoire: np.ndarray  # (N, MAX_REPERTOIRE) channel indices (0-based), ranked by preference
    view_cdf: np.ndarray  # (N, MAX_REPERTOIRE) cumulative Zipf weights over the repertoire (views)
    zap_cdf: np.ndarray  # (N, MAX_REPERTOIRE) cumulative uniform weights over the repertoire (zapping)

    def __len__(self) -> int:
        return len(self.user_id)


def make_population(n_users: int, seed: int, channels: ChannelModel | None = None) -> Population:
    """Subscribers 1..n_users with their habits, deterministic for ``seed``."""
    channels = channels or load_channel_model()
    rng = np.random.default_rng([seed, 0x5EED])
    activity = rng.gamma(shape=2.0, scale=MEAN_SITTINGS / 2.0, size=n_users)
    size = np.clip(3 + rng.poisson(7.0, size=n_users), 3, MAX_REPERTOIRE)
    # Gumbel top-k: a weighted sample without replacement, ordered (the first is the favourite).
    keys = np.log(channels.tune_in)[None, :] + rng.gumbel(size=(n_users, len(channels.tune_in)))
    repertoire = np.argsort(-keys, axis=1)[:, :MAX_REPERTOIRE]
    ranks = np.arange(MAX_REPERTOIRE)[None, :]
    inside = ranks < size[:, None]
    alpha = rng.uniform(0.7, 1.3, size=n_users)[:, None]  # how strongly a subscriber sticks to favourites
    view_w = np.where(inside, 1.0 / (ranks + 1.0) ** alpha, 0.0)
    zap_w = inside.astype(float)
    return Population(
        user_id=np.arange(1, n_users + 1, dtype=np.int64),
        activity=activity,
        repertoire=repertoire,
        view_cdf=np.cumsum(view_w, axis=1) / view_w.sum(axis=1, keepdims=True),
        zap_cdf=np.cumsum(zap_w, axis=1) / zap_w.sum(axis=1, keepdims=True),
    )


@dataclass
class Sessions:
    """Sessions as parallel arrays (times in epoch seconds, wall clock)."""

    session_id: np.ndarray  # '<U32' hex
    user_id: np.ndarray
    channel_id: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def duration(self) -> np.ndarray:
        return self.end - self.start

    def take(self, idx: np.ndarray) -> Sessions:
        return Sessions(*(a[idx] for a in (self.session_id, self.user_id, self.channel_id, self.start, self.end)))

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        if not parts:
            return Sessions(*(np.array([], dtype=t) for t in ("<U32", np.int64, np.int64, np.int64, np.int64)))
        fields = ("session_id", "user_id", "channel_id", "start", "end")
        return Sessions(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.bytes(16 * n).hex()
    return np.array([raw[i : i + 32] for i in range(0, 32 * n, 32)], dtype="<U32")


def _pick(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from each row's CDF with the uniforms ``u``."""
    return np.minimum((cdf_rows < u[:, None]).sum(axis=1), cdf_rows.shape[1] - 1)


def _raw_day(day: dt.date, pop: Population, channels: ChannelModel, rng_seed: int) -> Sessions:
    """One day's sessions before the carry-over from the previous day is applied."""
    rng = np.random.default_rng([rng_seed, day.toordinal()])
    weekend = day.weekday() >= 5
    day0 = epoch_seconds(day)
    n = len(pop)

    # Sittings: how many per subscriber, and when they start.
    n_sit = rng.poisson(pop.activity * (WEEKEND_FACTOR if weekend else 1.0))
    sit_user = np.repeat(np.arange(n), n_sit)
    minute = np.searchsorted(_CDF[weekend], rng.random(len(sit_user)), side="right")
    sit_start = day0 + minute * 60 + rng.integers(0, 60, len(sit_user))

    # Sessions of each sitting (geometric count, mean 2.5).
    per_sit = rng.geometric(0.4, len(sit_user))
    sit_idx = np.repeat(np.arange(len(sit_user)), per_sit)
    user = sit_user[sit_idx]
    m = len(sit_idx)

    zap = rng.random(m) < ZAP_PROB
    explore = rng.random(m) < EXPLORE_PROB
    u = rng.random(m)
    rank = np.where(zap, _pick(pop.zap_cdf[user], u), _pick(pop.view_cdf[user], u))
    ch = pop.repertoire[user, rank]
    global_cdf = np.cumsum(channels.tune_in)
    ch = np.where(explore, np.minimum(np.searchsorted(global_cdf, rng.random(m)), len(global_cdf) - 1), ch)

    # Durations: zapping 2-59 s; views a heavy-tailed mix scaled by the channel's stay factor.
    kind = rng.random(m)
    median = np.where(kind < 0.3, 5 * 60, np.where(kind < 0.8, 35 * 60, 100 * 60))
    sigma = np.where(kind < 0.3, 0.7, np.where(kind < 0.8, 0.5, 0.6))
    view = rng.lognormal(np.log(median), sigma) * channels.stay[ch]
    zap_len = rng.lognormal(np.log(12.0), 0.6, m)
    dur = np.where(zap, np.clip(zap_len, 2, 59), np.clip(view, 60, MAX_DURATION)).astype(np.int64)

    # Sessions of a sitting follow each other with a 1-3 s switch.
    step = dur + rng.integers(1, 4, m)
    first = np.r_[0, np.cumsum(per_sit)[:-1]]
    csum = np.cumsum(step)
    offset = csum - step - np.repeat(csum[first] - step[first], per_sit)
    start = sit_start[sit_idx] + offset
    end = start + dur

    keep = start < day0 + DAY  # a sitting stops at the session that crosses midnight
    user, ch, start, end = user[keep], ch[keep], start[keep], end[keep]

    # One channel at a time: drop sessions that start before an earlier one (of the same subscriber) ends.
    order = np.lexsort((start, user))
    user, ch, start, end = user[order], ch[order], start[order], end[order]
    span = 2 * DAY
    shifted_end = end - day0 + user * span
    prev_max = np.maximum.accumulate(np.r_[np.int64(-1), shifted_end[:-1]])
    ok = (start - day0 + user * span) >= prev_max
    user, ch, start, end = user[ok], ch[ok], start[ok], end[ok]

    return Sessions(
        session_id=_hex_ids(rng, len(start)),
        user_id=pop.user_id[user],
        channel_id=load_rating().channel_id[ch],
        start=start,
        end=end,
    )


class Simulator:
    """Simulates days for one population; days are cached so consecutive days share the work."""

    def __init__(self, n_users: int = 10_000, seed: int = 0, channels: ChannelModel | None = None):
        self.seed = seed
        self.channels = channels or load_channel_model()
        self.population = make_population(n_users, seed, self.channels)
        self._raw: dict[dt.date, Sessions] = {}

    def raw_day(self, day: dt.date) -> Sessions:
        if day not in self._raw:
            if len(self._raw) > 3:
                self._raw.pop(min(self._raw))
            self._raw[day] = _raw_day(day, self.population, self.channels, self.seed)
        return self._raw[day]

    def day(self, day: dt.date) -> Sessions:
        """Sessions starting on ``day``, none overlapping the previous day's sessions that cross midnight."""
        today = self.raw_day(day)
        before = self.raw_day(day - dt.timedelta(days=1))
        carry = np.zeros(len(self.population) + 1, dtype=np.int64)
        np.maximum.at(carry, before.user_id, before.end)
        return today.take(np.flatnonzero(today.start >= carry[today.user_id]))

    def days(self, first: dt.date, n_days: int) -> Sessions:
        return Sessions.concat([self.day(first + dt.timedelta(days=i)) for i in range(n_days)])


def shares(sessions: Sessions, rating: Rating | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(watch-time share, viewer share) per rating channel.

    watch-time share = the channel's watch seconds / all watch seconds;
    viewer share = the channel's distinct viewers / sum over channels of distinct viewers.
    """
    rating = rating or load_rating()
    idx = np.searchsorted(rating.channel_id, sessions.channel_id)
    k = len(rating)
    watch = np.bincount(idx, weights=sessions.duration.astype(float), minlength=k)
    pairs = np.unique(sessions.user_id * 1000 + idx)
    viewers = np.bincount(pairs % 1000, minlength=k).astype(float)
    return watch / watch.sum(), viewers / viewers.sum()


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def fit(
    iterations: int = 6,
    n_users: int = 20_000,
    seeds: tuple[int, ...] = (101, 202),
    first_day: dt.date = dt.date(2023, 9, 18),
) -> ChannelModel:
    """Fit tune-in weights and stay factors so a simulated week reproduces the rating table."""
    rating = load_rating()
    v_target, w_target = rating.viewer_share, rating.watch_share
    model = naive_channel_model(rating)
    for it in range(iterations):
        w_hat = np.zeros(len(rating))
        v_hat = np.zeros(len(rating))
        for s in seeds:
            w, v = shares(Simulator(n_users, s, model).days(first_day, 7), rating)
            w_hat += w / len(seeds)
            v_hat += v / len(seeds)
        err_v = np.abs(v_hat / v_target - 1)
        err_w = np.abs(w_hat / w_target - 1)
        log.info("fit %d: max rel err top-10 viewers %.3f time %.3f", it, err_v[:10].max(), err_w[:10].max())
        tune = model.tune_in * (v_target / np.maximum(v_hat, 1e-9)) ** 1.3
        stay = model.stay * (w_target / np.maximum(w_hat, 1e-9)) ** 0.9
        tune /= tune.sum()
        model = ChannelModel(tune_in=tune, stay=stay / (stay * tune).sum())
    return model
