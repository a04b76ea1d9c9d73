"""The behaviour model: determinism, one channel at a time, daily curve, durations, calibration."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import spearmanr

from producer.model import Simulator, daily_curve, shares
from producer.reference import load_rating

pytestmark = pytest.mark.unit

MONDAY = dt.date(2025, 3, 3)


def test_same_seed_same_sessions_other_seed_other_sessions():
    a = Simulator(500, seed=3).day(MONDAY)
    b = Simulator(500, seed=3).day(MONDAY)
    c = Simulator(500, seed=4).day(MONDAY)
    for field in ("session_id", "user_id", "channel_id", "start", "end"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.session_id[:10], c.session_id[:10])


def test_a_day_is_the_same_alone_or_inside_a_longer_run():
    alone = Simulator(300, seed=9).day(MONDAY + dt.timedelta(days=2))
    run = Simulator(300, seed=9).days(MONDAY, 4)
    inside = np.isin(run.session_id, alone.session_id)
    assert inside.sum() == len(alone)


def test_session_ids_are_unique_hex():
    s = Simulator(2000, seed=1).days(MONDAY, 2)
    assert len(np.unique(s.session_id)) == len(s)
    assert all(len(x) == 32 and int(x, 16) >= 0 and x == x.lower() for x in s.session_id[:1000])


def test_no_overlapping_sessions_per_subscriber_across_midnights():
    s = Simulator(3000, seed=2).days(MONDAY, 4)
    order = np.lexsort((s.start, s.user_id))
    u, start, end = s.user_id[order], s.start[order], s.end[order]
    same = u[1:] == u[:-1]
    assert not np.any(same & (start[1:] < end[:-1]))
    assert np.all(end > start)
    crossing = (end // 86400) > (start // 86400)
    assert crossing.sum() > 0, "some sessions should cross midnight"
    # every session starts on one of the simulated days
    assert start.min() >= (MONDAY - dt.date(1970, 1, 1)).days * 86400


def test_daily_curve_prime_time_day_trickle_night_minimum_weekend_differs():
    for weekend in (False, True):
        by_hour = daily_curve(weekend).reshape(24, 60).sum(axis=1)
        assert by_hour.argmax() in (19, 20, 21, 22)
        assert by_hour[3:6].mean() < by_hour[10:16].mean() < by_hour[19:22].mean()
        assert by_hour.argmin() in (2, 3, 4, 5)
    weekday, weekend = daily_curve(False).reshape(24, 60).sum(1), daily_curve(True).reshape(24, 60).sum(1)
    assert weekend[10:17].sum() > 1.5 * weekday[10:17].sum()


def test_simulated_start_hours_follow_the_curve():
    s = Simulator(5000, seed=5).day(MONDAY)
    hours = np.bincount((s.start % 86400) // 3600, minlength=24)
    assert hours[19:23].mean() > 2.5 * hours[10:16].mean()
    assert hours[3:6].mean() < 0.5 * hours[10:16].mean()


def test_duration_mix_zapping_programmes_long_evenings_heavy_tail():
    d = Simulator(5000, seed=6).day(MONDAY).duration
    assert 0.2 < (d < 60).mean() < 0.4  # zapping
    assert 0.2 < ((d >= 20 * 60) & (d < 90 * 60)).mean()  # programme length
    assert (d >= 3 * 3600).mean() > 0.02  # long evenings
    assert d.max() < 6 * 3600
    views = d[d >= 60]
    assert views.mean() > 1.3 * np.median(views)  # right-skewed, heavy tail


def test_subscribers_have_favourite_channels():
    s = Simulator(2000, seed=7).days(MONDAY, 7)
    top_share = []
    for uid in range(1, 201):
        ch = s.channel_id[(s.user_id == uid) & (s.end - s.start >= 60)]
        if len(ch) >= 10:
            top_share.append(np.bincount(ch).max() / len(ch))
    # with 148 channels, a subscriber without habits would rarely give one channel a quarter of their views
    assert np.median(top_share) > 0.25


def test_calibration_week_reproduces_the_rating_table():
    """Viewer share = a channel's distinct viewers over the week / sum over channels of distinct viewers;
    watch-time share = a channel's watch seconds / all watch seconds."""
    rating = load_rating()
    week = Simulator(10_000, seed=0).days(MONDAY, 7)
    watch, viewers = shares(week, rating)
    assert spearmanr(watch, rating.watch_share).statistic >= 0.95
    assert spearmanr(viewers, rating.viewer_share).statistic >= 0.95
    top = slice(0, 10)
    assert np.all(np.abs(watch[top] / rating.watch_share[top] - 1) <= 0.15), watch[top] / rating.watch_share[top]
    assert np.all(np.abs(viewers[top] / rating.viewer_share[top] - 1) <= 0.15), viewers[top] / rating.viewer_share[top]
