"""Viewing follows the programme guide: tune-ins cluster at programme starts, viewers leave at programme ends,
appealing programmes and popular series draw larger audiences -- measured on simulated days against what the
same viewing would show if it ignored the guide (each threshold is one a schedule-blind simulation fails)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import spearmanr

from producer import guide
from producer.model import DAY, Sessions, Simulator, epoch_seconds
from producer.reference import load_rating

pytestmark = pytest.mark.unit

MONDAY = dt.date(2025, 3, 3)
USERS = 20_000
N_CHANNELS = 148


@pytest.fixture(scope="module")
def simulated() -> dict[dt.date, Sessions]:
    sim = Simulator(USERS, seed=0)
    return {MONDAY + dt.timedelta(days=i): sim.day(MONDAY + dt.timedelta(days=i)) for i in range(3)}


def channel_index(s: Sessions) -> np.ndarray:
    return np.searchsorted(load_rating().channel_id, s.channel_id)


def boundaries(day: dt.date) -> list[np.ndarray]:
    """Per channel (rating order): the programme start times (epoch s) of the day before to the day after."""
    per: list[list[np.ndarray]] = [[] for _ in range(N_CHANNELS)]
    for offset in (-1, 0, 1, 2):
        d = day + dt.timedelta(days=offset)
        g = guide.day_guide(0, d)
        for c in range(N_CHANNELS):
            per[c].append(g.start[g.channel_index == c] * 60 + epoch_seconds(d))
    return [np.unique(np.concatenate(p)) for p in per]


def distance_to_boundary(bounds: list[np.ndarray], cix: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Seconds from each time to the nearest programme boundary of its channel."""
    out = np.empty(len(t), dtype=np.int64)
    for c in np.unique(cix):
        sel = cix == c
        b = bounds[c]
        i = np.searchsorted(b, t[sel])
        before, after = b[np.clip(i - 1, 0, len(b) - 1)], b[np.clip(i, 0, len(b) - 1)]
        out[sel] = np.minimum(np.abs(t[sel] - before), np.abs(after - t[sel]))
    return out


def chance(bounds: list[np.ndarray], cix: np.ndarray, day: dt.date, window: int) -> float:
    """The share of the day within ``window`` s of a boundary, averaged over the sessions' channels: what the
    sessions would show if their times ignored the guide."""
    grid = epoch_seconds(day) + np.arange(0, DAY, 15)
    covered = np.array(
        [(distance_to_boundary(bounds, np.full(len(grid), c), grid) <= window).mean() for c in range(N_CHANNELS)]
    )
    return float(covered[cix].mean())


def test_tune_ins_cluster_at_programme_starts(simulated):
    day = MONDAY
    s = simulated[day]
    bounds, cix = boundaries(day), channel_index(s)
    near = (distance_to_boundary(bounds, cix, s.start) <= 5 * 60).mean()
    expected = chance(bounds, cix, day, 5 * 60)
    # blind: near == expected (about 0.18); following the guide: about 1.8 x
    assert near >= 1.45 * expected, (near, expected)


def test_viewers_leave_at_programme_ends_more_often_than_mid_programme(simulated):
    day = MONDAY
    s = simulated[day]
    views = s.duration >= 60
    bounds, cix = boundaries(day), channel_index(s)[views]
    dist = distance_to_boundary(bounds, cix, s.end[views])
    near = (dist <= 2 * 60).mean()
    expected = chance(bounds, cix, day, 2 * 60)
    # blind: near == expected (about 0.07); following the guide: about 3.5 x
    assert near >= 2.5 * expected, (near, expected)
    # per minute of programme time, ends at the boundary are several times as frequent as mid-programme ones
    mid = (dist >= 10 * 60).mean() / (1 - chance(bounds, cix, day, 10 * 60 - 1))
    assert near / expected >= 3 * mid, (near / expected, mid)


def programme_audience(s: Sessions, g: guide.DayGuide) -> tuple[np.ndarray, np.ndarray]:
    """Per programme: watch seconds (overlap of each session with the programme), and an *audience index*:
    those seconds over what the programme would get if its channel's day were spread over the day like all
    viewing (the channel's day total x the share of the channel-day's all-channel viewing in its interval)."""
    day0 = epoch_seconds(g.day)
    cix = channel_index(s)
    watch = np.zeros(len(g))
    for c in range(N_CHANNELS):
        mine = np.flatnonzero(cix == c)
        progs = np.flatnonzero(g.channel_index == c)
        if not len(mine):
            continue
        ps, pe = g.start[progs] * 60 + day0, g.end[progs] * 60 + day0
        ss, se = s.start[mine][:, None], s.end[mine][:, None]
        watch[progs] = np.clip(np.minimum(se, pe) - np.maximum(ss, ps), 0, None).sum(axis=0)
    # all channels' viewing per minute of the day
    first = np.clip((s.start - day0) // 60, 0, 1440)
    last = np.clip((s.end - day0) // 60, 0, 1440)
    load = np.cumsum(np.bincount(first, minlength=1441) - np.bincount(last, minlength=1441))[:1440]
    cum = np.r_[0.0, np.cumsum(load)]
    mass = cum[g.end] - cum[g.start]
    total = np.bincount(g.channel_index, weights=watch, minlength=N_CHANNELS)
    channel_mass = np.bincount(g.channel_index, weights=mass, minlength=N_CHANNELS)
    expected = total[g.channel_index] * mass / channel_mass[g.channel_index]
    return watch, watch / np.maximum(expected, 1e-9)


def test_a_popular_series_keeps_a_higher_audience_across_episodes(simulated):
    """Series of the 30 most watched channels, over three weekdays: the third with the highest popularity (a
    trait of the series, the same for every episode) has a clearly higher audience index than the lowest
    third on every day, and popularity and audience are correlated each day (blind: ratio about 1, rho 0)."""
    index: dict[str, list[float]] = {}
    popularity: dict[str, float] = {}
    for day, s in simulated.items():
        g = guide.day_guide(0, day)
        _, idx = programme_audience(s, g)
        for i in np.flatnonzero((g.genre == guide.GENRE_CODE["series"]) & (g.channel_index < 30)):
            sid = g.series_id[i]
            assert popularity.setdefault(sid, float(g.popularity[i])) == g.popularity[i]  # persists per series
            index.setdefault(sid, []).append(float(idx[i]))
    followed = [sid for sid, v in index.items() if len(v) == 3]
    assert len(followed) > 100
    pop = np.array([popularity[sid] for sid in followed])
    audience = np.array([index[sid] for sid in followed])
    high, low = pop >= np.quantile(pop, 2 / 3), pop <= np.quantile(pop, 1 / 3)
    for d in range(3):
        ratio = audience[high, d].mean() / audience[low, d].mean()
        rho = spearmanr(pop, audience[:, d]).statistic
        assert ratio >= 1.15 and rho >= 0.2, (d, ratio, rho)


def test_programmes_draw_their_audience_in_their_slot(simulated):
    """Kids programmes draw their audience in the day, not at night; films in the evening, not in the morning
    (blind: the ratios are about 1)."""
    day = MONDAY
    g = guide.day_guide(0, day)
    watch, idx = programme_audience(simulated[day], g)
    hour = g.start // 60

    def mean_index(genre: str, hours: np.ndarray) -> float:
        sel = (g.genre == guide.GENRE_CODE[genre]) & np.isin(hour, hours) & (watch > 0)
        return float(np.average(idx[sel], weights=(g.end - g.start)[sel]))

    assert mean_index("kids", np.arange(7, 18)) >= 2 * mean_index("kids", np.r_[0:5, 22:24])
    assert mean_index("film", np.arange(18, 23)) >= 1.6 * mean_index("film", np.arange(6, 10))
