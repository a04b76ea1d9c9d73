"""The viewing behaviour model: who watches what, when and for how long.

A subscriber has an activity level (sittings per day), a personal *repertoire* of channels (their habits:
5-20 channels drawn by the channels' tune-in weights, ranked, watched with Zipf-like preference) and sits
down in front of the TV a Poisson number of times a day. Sitting start times follow a daily curve (night
minimum, morning bump, daytime trickle, evening prime time 19-22 h; weekends have a fuller daytime). A sitting
is a chain of consecutive sessions: zapping (< 1 min, any repertoire channel) and views (heavy-tailed: short
looks, programme-length, long evenings) whose length is scaled by the channel's *stay factor*. One subscriber
watches one channel at a time: sessions never overlap (a sitting that would run into a later one loses the
later sessions); a session may cross midnight but starts on its day.

Viewing follows the programme guide of the seed (producer/guide.py): a view picks among the repertoire by
preference x the appeal of what each channel is showing (genre x daypart x the programme's popularity, which
for a series persists across its episodes); a subscriber sitting down mid-programme often waits for the next
programme on the chosen channel (tune-ins cluster at programme starts); and a view often ends at the boundary
of the programme it would end in (leaving at a programme's end). Appeal is scaled per channel and day to a
mean of 1 over the daily curve, so the guide moves a channel's viewers between its hours and programmes while
the fitted tune-in weights keep the channel shares.

The per-channel tune-in weight (who tunes in, fitted to the viewer share) and stay factor (how long they stay,
fitted to the watch-time share) come from data/reference/channel_model.csv, produced by :func:`fit` (CLI:
``python -m producer calibrate``) so that a simulated week reproduces the rating table.

Subscribers have a life (:func:`lifecycle`, from behaviour, never written as a label): most signed up before
LIFE_SPLIT, the others join between LIFE_SPLIT and LIFE_END (their signup date is the catalog's signup_date,
producer/catalogs.py); a share of them leave on a day of that period, and their viewing fades over the FADE_DAYS
before (their activity falls linearly to FADE_FLOOR). Nobody views before signing up or after leaving. Each
subscriber also keeps a personal week (weekday multipliers of the activity, mean 1) and a chronotype: a share
CHRONO_MIX of their sittings start by a personal daily curve (morning, daytime, evening or late viewer) instead
of the common one -- persistent habits a model can learn from the history.

Everything is vectorised with numpy (a sitting's sessions are built position by position, vectorised over
the sittings); a day depends only on (seed, date, number of subscribers).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from producer import guide
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

# Lifecycle (:func:`lifecycle`): dates of a fixed calendar, so a seed's subscribers are the same whatever days
# are simulated. After LIFE_END nobody joins or leaves any more.
LIFE_START, LIFE_SPLIT, LIFE_END = dt.date(2017, 1, 1), dt.date(2025, 1, 1), dt.date(2028, 1, 1)
#: Share of subscribers who join between LIFE_SPLIT and LIFE_END (the others signed up before LIFE_SPLIT).
JOIN_SHARE = 0.12
#: Share of subscribers who leave between LIFE_SPLIT and LIFE_END (~1 % a month).
LEAVE_SHARE = 0.35
#: A leaver's activity falls linearly from 1 to FADE_FLOOR over the FADE_DAYS before the day they leave.
FADE_DAYS, FADE_FLOOR = 28, 0.15
#: Personal week: weekday multipliers ~ Gamma(WEEK_SHAPE) scaled to mean 1 (smaller shape, stronger habits).
WEEK_SHAPE = 6.0
#: Share of a subscriber's sittings that start by their chronotype's curve rather than the common one.
CHRONO_MIX = 0.35
#: Never (a leave date past any simulated day).
NEVER = dt.date.max.toordinal()

# The programme guide (producer/guide.py, the guide of the simulator's seed) shapes the viewing:
#: A view picks among the repertoire by preference x (appeal of what is on) ** APPEAL_STRENGTH.
APPEAL_STRENGTH = 1.5
#: Probability that a subscriber sitting down mid-programme waits for the next programme on the chosen
#: channel when it starts within TUNE_IN_WINDOW seconds (they tune in TUNE_IN_EARLY s before to TUNE_IN_LATE
#: s after its start).
TUNE_IN_PROB = 0.8
TUNE_IN_WINDOW = 30 * 60
TUNE_IN_EARLY, TUNE_IN_LATE = 90, 150
#: Probability that a view ends at the boundary of the programme it would end in (the nearer one: the end
#: of that programme or of the one before) when that boundary is within LEAVE_WINDOW s of the drawn end,
#: LEAVE_EARLY s before to LEAVE_LATE s after it (the window keeps the mix of view lengths).
LEAVE_AT_END_PROB = 0.6
LEAVE_WINDOW = 15 * 60
LEAVE_EARLY, LEAVE_LATE = 90, 30
#: Appeal of a genre by daypart (producer.guide.DAYPARTS: night, morning, day, evening, late).
SLOT_APPEAL = {
    "series": (0.6, 0.7, 1.0, 1.5, 1.0),
    "entertainment": (0.6, 0.9, 0.9, 1.4, 1.1),
    "news": (0.6, 1.5, 1.0, 1.3, 0.9),
    "film": (1.0, 0.6, 0.8, 1.4, 1.5),
    "sport": (0.7, 0.7, 0.9, 1.5, 1.2),
    "kids": (0.2, 1.5, 1.3, 0.8, 0.3),
    "documentary": (0.8, 0.9, 1.1, 1.0, 0.9),
    "music": (1.0, 1.0, 1.0, 1.0, 1.0),
    "other": (0.6, 0.8, 0.8, 0.7, 0.6),
}

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

#: Chronotypes: relative sitting-start intensity by hour of a morning, daytime, evening and late viewer.
_CHRONOTYPES = (
    [0.1, 0.05, 0.02, 0.02, 0.05, 0.3, 1.2, 2.2, 2.0, 1.2, 0.8, 0.6,
     0.6, 0.5, 0.4, 0.4, 0.5, 0.7, 1.0, 1.3, 1.2, 0.8, 0.4, 0.2],
    [0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.2, 0.5, 0.9, 1.4, 1.8, 2.0,
     2.0, 1.9, 1.8, 1.7, 1.5, 1.2, 1.0, 1.0, 0.9, 0.6, 0.3, 0.2],
    _WEEKDAY,
    [2.0, 1.6, 1.0, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.3,
     0.3, 0.3, 0.3, 0.4, 0.5, 0.6, 0.8, 1.1, 1.5, 2.0, 2.4, 2.4],
)  # fmt: skip
_CHRONO_CDF = np.stack([_minute_cdf(c) for c in _CHRONOTYPES])


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
    view_w: np.ndarray  # (N, MAX_REPERTOIRE) Zipf weights over the repertoire (views), rows sum to 1
    zap_cdf: np.ndarray  # (N, MAX_REPERTOIRE) cumulative uniform weights over the repertoire (zapping)
    signup: np.ndarray  # date ordinal of the signup (the first day a subscriber may view)
    leave: np.ndarray  # date ordinal of the first day without viewing (NEVER for those who stay)
    week: np.ndarray  # (N, 7) activity multipliers per weekday (Monday first), rows of mean 1
    chronotype: np.ndarray  # index into _CHRONOTYPES

    def life_factor(self, day: dt.date) -> np.ndarray:
        """Each subscriber's activity multiplier on ``day``: 0 before signing up and from the leave day on, a
        linear fade over the FADE_DAYS before leaving, else 1."""
        d = day.toordinal()
        fade = np.clip((self.leave - d) / FADE_DAYS, FADE_FLOOR, 1.0)
        return np.where((d >= self.signup) & (d < self.leave), fade, 0.0)

    def __len__(self) -> int:
        return len(self.user_id)


def lifecycle(n_users: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(signup, leave) date ordinals of subscribers 1..n_users, deterministic for ``seed``: signups uniform over
    LIFE_START..LIFE_SPLIT, or over LIFE_SPLIT..LIFE_END for a JOIN_SHARE; leave days (LEAVE_SHARE of them)
    uniform over LIFE_SPLIT..LIFE_END and at least FADE_DAYS after the signup, else NEVER."""
    rng = np.random.default_rng([seed, 0x11FE])
    start, split, end = (d.toordinal() for d in (LIFE_START, LIFE_SPLIT, LIFE_END))
    joins = rng.random(n_users) < JOIN_SHARE
    signup = np.where(joins, rng.integers(split, end, n_users), rng.integers(start, split, n_users))
    leaves = rng.random(n_users) < LEAVE_SHARE
    leave_day = np.maximum(rng.integers(split, end, n_users), signup + FADE_DAYS)
    return signup.astype(np.int64), np.where(leaves, leave_day, NEVER).astype(np.int64)


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
    # Habits and life on their own streams: the draws above stay what they were.
    habits = np.random.default_rng([seed, 0x4AB1])
    week = habits.gamma(WEEK_SHAPE, 1.0 / WEEK_SHAPE, size=(n_users, 7))
    signup, leave = lifecycle(n_users, seed)
    return Population(
        user_id=np.arange(1, n_users + 1, dtype=np.int64),
        activity=activity,
        repertoire=repertoire,
        view_w=view_w / view_w.sum(axis=1, keepdims=True),
        zap_cdf=np.cumsum(zap_w, axis=1) / zap_w.sum(axis=1, keepdims=True),
        signup=signup,
        leave=leave,
        week=week / week.mean(axis=1, keepdims=True),
        chronotype=habits.integers(0, len(_CHRONOTYPES), n_users),
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


@dataclass(frozen=True)
class Schedule:
    """What is on, per channel (rating order) and minute of a day and the next (2 x 1440 minutes): the pull of
    the programme on air (its appeal ** APPEAL_STRENGTH), and its start and end in seconds from the first day's
    midnight."""

    pull: np.ndarray  # (channels, 2880) float
    start: np.ndarray  # (channels, 2880) int64
    end: np.ndarray  # (channels, 2880) int64


def _slot_appeal() -> np.ndarray:
    """(genre, hour) -> SLOT_APPEAL of the hour's daypart."""
    parts = [guide.daypart(h * 60) for h in range(24)]
    order = [part for _, part in guide.DAYPARTS]
    return np.array([[SLOT_APPEAL[g][order.index(p)] for p in parts] for g in guide.GENRES])


def programme_appeal(day_guide: guide.DayGuide, weekend: bool) -> np.ndarray:
    """Each programme's appeal: genre x slot (hour of its middle) x popularity, scaled per channel so that its
    mean over the day, weighted by the daily viewing curve, is 1 (the channel's overall pull is the fitted
    tune-in weight; the guide only moves viewers between its hours and programmes)."""
    mid_hour = ((day_guide.start + day_guide.end) // 2 // 60) % 24
    raw = _slot_appeal()[day_guide.genre, mid_hour] * day_guide.popularity
    cum = np.r_[0.0, np.cumsum(daily_curve(weekend))]
    weight = cum[day_guide.end] - cum[day_guide.start]  # the curve's mass during each programme
    per_channel = np.bincount(day_guide.channel_index, weights=raw * weight)
    return raw / per_channel[day_guide.channel_index]


def build_schedule(seed: int, day: dt.date) -> Schedule:
    """The schedule of ``day`` and the next day from the guide of ``seed``."""
    pull, start, end = [], [], []
    for offset in (0, 1):
        d = day + dt.timedelta(days=offset)
        g = guide.day_guide(seed, d)
        length = g.end - g.start
        a = programme_appeal(g, d.weekday() >= 5) ** APPEAL_STRENGTH
        k = int(g.channel_index.max()) + 1
        pull.append(np.repeat(a, length).reshape(k, 1440))
        start.append(np.repeat(g.start * 60 + offset * DAY, length).reshape(k, 1440))
        end.append(np.repeat(g.end * 60 + offset * DAY, length).reshape(k, 1440))
    return Schedule(*(np.concatenate(x, axis=1) for x in (pull, start, end)))


def _raw_day(day: dt.date, pop: Population, channels: ChannelModel, rng_seed: int, schedule: Schedule) -> Sessions:
    """One day's sessions before the carry-over from the previous day is applied."""
    rng = np.random.default_rng([rng_seed, day.toordinal()])
    weekend = day.weekday() >= 5
    day0 = epoch_seconds(day)
    n = len(pop)

    # Sittings: how many per subscriber, and when they start (seconds from the day's midnight).
    level = pop.activity * pop.week[:, day.weekday()] * pop.life_factor(day)
    n_sit = rng.poisson(level * (WEEKEND_FACTOR if weekend else 1.0))
    sit_user = np.repeat(np.arange(n), n_sit)
    n_sittings = len(sit_user)
    minute = np.searchsorted(_CDF[weekend], rng.random(n_sittings), side="right")
    # A share of the sittings start by the subscriber's chronotype (its own stream: the draws below stay).
    chrono_rng = np.random.default_rng([rng_seed, day.toordinal(), 0xC4])
    personal = chrono_rng.random(n_sittings) < CHRONO_MIX
    u_minute = chrono_rng.random(n_sittings)
    kind = np.where(personal, pop.chronotype[sit_user], -1)
    for k, cdf in enumerate(_CHRONO_CDF):
        mine = kind == k
        minute[mine] = np.searchsorted(cdf, u_minute[mine], side="right")
    sit_start = minute * 60 + rng.integers(0, 60, n_sittings)

    # Sessions of each sitting (geometric count, mean 2.5).
    per_sit = rng.geometric(0.4, n_sittings)
    sit_idx = np.repeat(np.arange(n_sittings), per_sit)
    user = sit_user[sit_idx]
    m = len(sit_idx)

    zap = rng.random(m) < ZAP_PROB
    explore = rng.random(m) < EXPLORE_PROB
    u = rng.random(m)
    u_explore = rng.random(m)
    # Durations: zapping 2-59 s; views a heavy-tailed mix scaled by the channel's stay factor.
    kind = rng.random(m)
    median = np.where(kind < 0.3, 5 * 60, np.where(kind < 0.8, 35 * 60, 100 * 60))
    sigma = np.where(kind < 0.3, 0.7, np.where(kind < 0.8, 0.5, 0.6))
    view_base = rng.lognormal(np.log(median), sigma)
    zap_len = np.clip(rng.lognormal(np.log(12.0), 0.6, m), 2, 59).astype(np.int64)
    switch = rng.integers(1, 4, m)  # sessions of a sitting follow each other with a 1-3 s switch
    tune_in = rng.random(n_sittings) < TUNE_IN_PROB
    tune_jitter = rng.integers(-TUNE_IN_EARLY, TUNE_IN_LATE + 1, n_sittings)
    leave_at_end = rng.random(m) < LEAVE_AT_END_PROB
    leave_jitter = rng.integers(-LEAVE_EARLY, LEAVE_LATE + 1, m)

    # The sessions of a sitting are chained: the k-th starts when the (k-1)-th ends, so a sitting is built
    # position by position (vectorised over the sittings that have a k-th session) -- what is on at a
    # session's start decides its channel, and the programme it ends in decides where it ends.
    first = np.r_[0, np.cumsum(per_sit)[:-1]]
    position = np.arange(m) - np.repeat(first, per_sit)
    by_position = np.argsort(position, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(position))]
    global_cdf = np.cumsum(channels.tune_in)
    last_minute = schedule.pull.shape[1] - 1
    ch = np.empty(m, dtype=np.int64)
    start = np.empty(m, dtype=np.int64)
    end = np.empty(m, dtype=np.int64)
    for k in range(len(bounds) - 1):
        idx = by_position[bounds[k] : bounds[k + 1]]
        t = sit_start[sit_idx[idx]] if k == 0 else end[idx - 1] + switch[idx - 1]
        usr = user[idx]
        at = np.minimum(t // 60, last_minute)
        rep = pop.repertoire[usr]
        is_zap = zap[idx]
        rank = np.empty(len(idx), dtype=np.int64)
        z = np.flatnonzero(is_zap)
        v = np.flatnonzero(~is_zap)
        rank[z] = _pick(pop.zap_cdf[usr[z]], u[idx[z]])
        # Views: favourites weighted by the pull of what each of them is showing now.
        cdf = np.cumsum(pop.view_w[usr[v]] * schedule.pull[rep[v], at[v, None]], axis=1)
        rank[v] = _pick(cdf, u[idx[v]] * cdf[:, -1])
        c = rep[np.arange(len(idx)), rank]
        out = np.flatnonzero(explore[idx])
        c[out] = np.minimum(np.searchsorted(global_cdf, u_explore[idx[out]]), len(global_cdf) - 1)
        if k == 0:
            # Sitting down for a programme: wait for the next one on the chosen channel if it starts soon.
            p_start, p_end = schedule.start[c, at], schedule.end[c, at]
            late = t - p_start > TUNE_IN_EARLY
            wait = tune_in[sit_idx[idx]] & late & (p_end - t <= TUNE_IN_WINDOW)
            t = np.where(wait, p_end + tune_jitter[sit_idx[idx]], t)
        dur = np.where(is_zap, zap_len[idx], np.clip(view_base[idx] * channels.stay[c], 60, MAX_DURATION))
        dur = dur.astype(np.int64)
        # Leaving when a programme ends: a view's end moves to the nearer boundary of the programme it falls in.
        e = t + dur
        e_at = np.minimum(e // 60, last_minute)
        p_start, p_end = schedule.start[c, e_at], schedule.end[c, e_at]
        boundary = np.where((e - p_start < p_end - e) & (p_start - t >= 2 * 60), p_start, p_end)
        snapped = boundary + leave_jitter[idx] - t
        near = np.abs(boundary - e) <= LEAVE_WINDOW
        snap = ~is_zap & leave_at_end[idx] & near & (snapped >= 60) & (snapped <= MAX_DURATION)
        dur = np.where(snap, snapped, dur)
        ch[idx], start[idx], end[idx] = c, t, t + dur

    start += day0
    end += day0
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
            self._raw[day] = _raw_day(day, self.population, self.channels, self.seed, build_schedule(self.seed, day))
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
