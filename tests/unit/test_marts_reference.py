"""The DuckDB reference marts on a handful of hand-made sessions whose figures are worked out by hand.

Universe: users 1..4. Channels 10 and 20. Dates 2024-03-04 (Mon), 2024-03-05 (Tue), 2024-03-11 (Mon).

    a  u1 ch10  03-04 10:00:00 -> 10:30:00   1800 s
    b  u1 ch20  03-04 10:45:00 -> 11:15:00   1800 s  crosses 11:00 (900 s in hour 10, 900 s in hour 11)
    c  u2 ch10  03-04 23:30:00 -> 03-05 00:30:00  3600 s  crosses midnight (1800 s on each day)
    d  u3 ch20  03-04 12:00:00 -> 12:00:00      0 s  zero length: a view and a viewer of 03-04 / hour 12
    f  u4 ch20  03-04 23:00:00 -> 03-05 00:00:00  3600 s  ends at midnight: not a viewer of 03-05
    e  u3 ch10  03-05 00:30:00 -> 01:00:00   1800 s  ends on the hour: not a viewer of hour 1
    g  u1 ch10  03-05 13:59:30 -> 14:00:30     60 s  crosses 14:00 (30 s each)
    h  u1 ch10  03-11 10:00:00 -> 10:10:00    600 s
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from oracle.marts import compute_marts, ratio

pytestmark = pytest.mark.unit

D1, D2, D3 = dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 11)

SESSIONS = {
    "2024-03-04": [
        "a,1,10,2024-03-04 10:00:00,2024-03-04 10:30:00,1800",
        "b,1,20,2024-03-04 10:45:00,2024-03-04 11:15:00,1800",
        "c,2,10,2024-03-04 23:30:00,2024-03-05 00:30:00,3600",
        "d,3,20,2024-03-04 12:00:00,2024-03-04 12:00:00,0",
        "f,4,20,2024-03-04 23:00:00,2024-03-05 00:00:00,3600",
    ],
    "2024-03-05": [
        "e,3,10,2024-03-05 00:30:00,2024-03-05 01:00:00,1800",
        "g,1,10,2024-03-05 13:59:30,2024-03-05 14:00:30,60",
    ],
    "2024-03-11": ["h,1,10,2024-03-11 10:00:00,2024-03-11 10:10:00,600"],
}
# The producer's users.csv columns (iptv.catalogs.USER_COLUMNS).
USERS = [
    '1,"Smith, John",M,1980-01-01,Kazan,2020-01-01',
    '2,"Anna ""Ann"" Lee",F,1990-02-02,Omsk,2021-02-02',
    "3,Bob,M,1970-03-03,Tver,2022-03-03",
    "4,Eve,F,2000-04-04,Perm,2023-04-04",
]
CHANNELS = ['10,"News, 24",12.5,10.0', '20,"Kids ""Fun""",7.25,8']


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    for day, rows in SESSIONS.items():
        part = root / "sessions" / f"dt={day}"
        part.mkdir(parents=True)
        (part / "part-0.csv").write_text("\n".join(rows) + "\n")
    (root / "users.csv").write_text("\n".join(USERS) + "\n")
    (root / "channels.csv").write_text("\n".join(CHANNELS) + "\n")
    return compute_marts(root / "sessions", root / "users.csv", root / "channels.csv")


def rows(frame, *cols):
    return [tuple(r) for r in frame[list(cols)].itertuples(index=False)]


def test_ratio_rounds_half_up_exactly():
    assert ratio(1, 3) == Decimal("0.333333")
    assert ratio(2, 3) == Decimal("0.666667")
    assert ratio(1, 2_000_000) == Decimal("0.000001")  # 0.0000005 rounds up
    assert ratio(1, 2_000_001) == Decimal("0.000000")
    assert ratio(5, 0) is None


def test_daily(marts):
    assert rows(marts["mart_daily"], "dt", "watch_s", "watch_hours", "sessions", "viewers") == [
        (D1, 9000, Decimal("2.500000"), 5, 4),  # a + b + c(1800) + d(0) + f
        (D2, 3660, Decimal("1.016667"), 2, 3),  # c(1800) + e + g; viewers u2 u3 u1, not u4 (f ends at 00:00)
        (D3, 600, Decimal("0.166667"), 1, 1),
    ]


def test_channel_daily(marts):
    got = rows(
        marts["mart_channel_daily"],
        "dt",
        "channel_id",
        "channel_name",
        "watch_s",
        "sessions",
        "viewers",
        "reach_pct",
        "share_pct",
        "rating_pct",
        "atv_min",
    )
    assert got == [
        # 3600 s of 9000; rating = 3600 * 100 / (4 * 86400); atv = 60 min / 2 viewers
        (D1, 10, "News, 24", 3600, 2, 2, Decimal("50"), Decimal("40"), Decimal("1.041667"), Decimal("30")),
        (D1, 20, 'Kids "Fun"', 5400, 3, 3, Decimal("75"), Decimal("60"), Decimal("1.5625"), Decimal("30")),
        # only channel 10 has viewers on 03-05 (f on channel 20 ends at midnight); c started the day before
        (D2, 10, "News, 24", 3660, 2, 3, Decimal("75"), Decimal("100"), Decimal("1.059028"), Decimal("20.333333")),
        (D3, 10, "News, 24", 600, 1, 1, Decimal("25"), Decimal("100"), Decimal("0.173611"), Decimal("10")),
    ]
    assert marts["mart_channel_daily"]["watch_hours"].tolist() == [
        Decimal("1"),
        Decimal("1.5"),
        Decimal("1.016667"),
        Decimal("0.166667"),
    ]


def test_hourly(marts):
    hourly = marts["mart_hourly"]
    assert len(hourly) == 3 * 24  # every hour of every covered date
    nonzero = [r for r in rows(hourly, "dt", "hour", "viewers", "watch_s", "watch_minutes") if r[2] or r[3]]
    assert nonzero == [
        (D1, 10, 1, 2700, Decimal("45")),  # a 1800 + b 900
        (D1, 11, 1, 900, Decimal("15")),  # b
        (D1, 12, 1, 0, Decimal("0")),  # d: zero-length, still a viewer
        (D1, 23, 2, 5400, Decimal("90")),  # c 1800 (u2) + f 3600 (u4)
        (D2, 0, 2, 3600, Decimal("60")),  # c 1800 (u2) + e 1800 (u3)
        (D2, 13, 1, 30, Decimal("0.5")),  # g
        (D2, 14, 1, 30, Decimal("0.5")),  # g
        (D3, 10, 1, 600, Decimal("10")),  # h
    ]
    # hour 1 of 03-05: e ends exactly at 01:00 -> no viewer
    assert rows(hourly[(hourly.dt == D2) & (hourly.hour == 1)], "viewers", "watch_s") == [(0, 0)]
    per_day = hourly.groupby("dt")["watch_s"].sum().to_dict()
    assert per_day == {D1: 9000, D2: 3660, D3: 600}


def test_weekday_hour(marts):
    wk = {(r[0], r[1]): r[2] for r in rows(marts["mart_weekday_hour"], "weekday", "hour", "avg_viewers")}
    assert len(wk) == 2 * 24  # Monday (two dates) and Tuesday (one)
    assert wk[(1, 10)] == Decimal("1")  # (1 + 1) / 2
    assert wk[(1, 11)] == Decimal("0.5")  # (1 + 0) / 2
    assert wk[(1, 12)] == Decimal("0.5")
    assert wk[(1, 23)] == Decimal("1")  # (2 + 0) / 2
    assert wk[(1, 0)] == Decimal("0")
    assert wk[(2, 0)] == Decimal("2")
    assert wk[(2, 13)] == Decimal("1")
    assert wk[(2, 1)] == Decimal("0")


def test_duration_hist(marts):
    hist = marts["mart_duration_hist"]
    assert len(hist) == 3 * 8  # all buckets of every covered date
    assert hist["bucket_label"].tolist()[:8] == ["<1m", "1-5m", "5-15m", "15-30m", "30-60m", "1-2h", "2-4h", "4h+"]
    assert hist["bucket_lower_s"].tolist()[:8] == [0, 60, 300, 900, 1800, 3600, 7200, 14400]
    by_day = {d: hist[hist.dt == d]["sessions"].tolist() for d in (D1, D2, D3)}
    assert by_day == {
        D1: [1, 0, 0, 0, 2, 2, 0, 0],  # d | a b (1800 is 30-60m) | c f
        D2: [0, 1, 0, 0, 1, 0, 0, 0],  # g (60 s is 1-5m) | e
        D3: [0, 0, 1, 0, 0, 0, 0, 0],  # h
    }


def test_duplicates_and_reversed_sessions_are_ignored(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(
        "x,1,10,2024-03-04 10:00:00,2024-03-04 10:30:00,1800\n"
        "x,1,10,2024-03-04 10:00:00,2024-03-04 10:30:00,1800\n"
        "y,2,10,2024-03-04 11:00:00,2024-03-04 10:00:00,-3600\n"
    )
    m = compute_marts(f)
    assert rows(m["mart_daily"], "dt", "watch_s", "sessions", "viewers") == [(D1, 1800, 1, 1)]
    # no users catalog: universe 0 -> reach and rating undefined
    assert m["mart_channel_daily"]["reach_pct"].tolist() == [None]
