"""The DuckDB reference of the programme marts (oracle.programmes) on a hand-made guide and sessions whose figures
are worked out by hand, and its checks of the guide (rejects by reason, overlaps, gaps).

Universe: users 1..4. Channels 10 and 20. reach_min_seconds = 60.

Guide of 2024-03-04 (D):                       Guide of 2024-03-05 (D2):
    ch10 A 00:00-10:00 news                        ch10 G 00:00-01:00 news
    ch10 B 10:00-10:30 series (S1, episode 3)      ch10 H 01:00-24:00 other
    ch10 C 10:30-24:00 film
    ch20 E 00:00-11:00 kids
    ch20 F 11:00-24:00 sport

Sessions:
    s1 u1 ch10 D 10:20:00-10:40:00  B 600 s, C 600 s (spans two programmes)
    s2 u2 ch10 D 10:29:30-10:31:00  B 30 s (under the reach threshold), C 60 s (exactly the threshold)
    s3 u3 ch20 D 10:50:00-11:10:00  E 600 s, F 600 s
    s4 u4 ch10 D 23:30:00-D2 00:30  C 1800 s, G 1800 s (crosses midnight)
    s5 u1 ch10 D 10:00:00-10:00:50  B 50 s (u1's total on B: 650 s)
    s6 u3 ch10 D 12:00:00-12:00:00  zero length: no watch time, no viewer
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from oracle.programmes import compute_programme_marts

pytestmark = pytest.mark.unit

D, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
GUIDE = {
    "2024-03-04": [
        "10-20240304-0000,10,Morning news,news,,,2024-03-04 00:00:00,2024-03-04 10:00:00",
        '10-20240304-1000,10,"Saga, ""part 3""",series,S1,3,2024-03-04 10:00:00,2024-03-04 10:30:00',
        "10-20240304-1030,10,Film,film,,,2024-03-04 10:30:00,2024-03-05 00:00:00",
        "20-20240304-0000,20,Cartoons,kids,,,2024-03-04 00:00:00,2024-03-04 11:00:00",
        "20-20240304-1100,20,Match,sport,,,2024-03-04 11:00:00,2024-03-05 00:00:00",
    ],
    "2024-03-05": [
        "10-20240305-0000,10,Night news,news,,,2024-03-05 00:00:00,2024-03-05 01:00:00",
        "10-20240305-0100,10,Rest,other,,,2024-03-05 01:00:00,2024-03-06 00:00:00",
    ],
}
SESSIONS = [
    "s1,1,10,2024-03-04 10:20:00,2024-03-04 10:40:00,1200",
    "s2,2,10,2024-03-04 10:29:30,2024-03-04 10:31:00,90",
    "s3,3,20,2024-03-04 10:50:00,2024-03-04 11:10:00,1200",
    "s4,4,10,2024-03-04 23:30:00,2024-03-05 00:30:00,3600",
    "s5,1,10,2024-03-04 10:00:00,2024-03-04 10:00:50,50",
    "s6,3,10,2024-03-04 12:00:00,2024-03-04 12:00:00,0",
]
USERS = ["1,A,M,1980-01-01,Kazan,2020-01-01", "2,B,F,1990-02-02,Omsk,2021-02-02", "3,C,M,1970-03-03,Tver,2022-03-03",
         "4,E,F,2000-04-04,Perm,2023-04-04"]  # fmt: skip
CHANNELS = ["10,One,12.5,10.0", "20,Two,7.25,8"]


def _lake(root, guide):
    for day, rows in guide.items():
        part = root / "epg" / f"dt={day}"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"epg-{day}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "sessions").mkdir(exist_ok=True)
    (root / "sessions" / "s.csv").write_text("\n".join(SESSIONS) + "\n")
    (root / "users.csv").write_text("\n".join(USERS) + "\n")
    (root / "channels.csv").write_text("\n".join(CHANNELS) + "\n")


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    _lake(root, GUIDE)
    return compute_programme_marts(root / "sessions", root / "epg", root / "users.csv", root / "channels.csv")


def test_mart_programme(marts):
    cols = ["dt", "programme_id", "genre", "series_id", "watch_s", "viewers", "reach_pct", "amr", "rating_pct",
            "share_pct", "atv_min", "watch_minutes"]  # fmt: skip
    got = [tuple(r) for r in marts["mart_programme"][cols].itertuples(index=False)]
    z = Decimal(0)
    assert got == [
        (D, "10-20240304-0000", "news", None, 0, 0, z, z, z, z, z, z),  # nobody watched: zeros
        # B: 600 + 30 + 50 s of 1800; viewers u1 (650 s), not u2 (30 s); all channels in 10:00-10:30: the same 680 s
        (D, "10-20240304-1000", "series", "S1", 680, 1, Decimal(25), Decimal("0.377778"), Decimal("9.444444"),
         Decimal(100), Decimal("11.333333"), Decimal("11.333333")),
        # C: 600 + 60 + 1800 s of 48600; viewers u1, u2 (60 s: exactly the threshold), u4; all channels 3660 s (s3)
        (D, "10-20240304-1030", "film", None, 2460, 3, Decimal(75), Decimal("0.050617"), Decimal("1.265432"),
         Decimal("67.213115"), Decimal("13.666667"), Decimal(41)),
        # E: s3's 600 s of 39600; all channels in 00:00-11:00: s1 1200 + s2 90 + s5 50 + s3 600 = 1940 s
        (D, "20-20240304-0000", "kids", None, 600, 1, Decimal(25), Decimal("0.015152"), Decimal("0.378788"),
         Decimal("30.927835"), Decimal(10), Decimal(10)),
        # F: s3's 600 s of 46800; all channels in 11:00-24:00: s3 600 + s4 1800 = 2400 s
        (D, "20-20240304-1100", "sport", None, 600, 1, Decimal(25), Decimal("0.012821"), Decimal("0.320513"),
         Decimal(25), Decimal(10), Decimal(10)),
        # G: s4's 1800 s after midnight, of 3600
        (D2, "10-20240305-0000", "news", None, 1800, 1, Decimal(25), Decimal("0.5"), Decimal("12.5"), Decimal(100),
         Decimal(30), Decimal(30)),
        (D2, "10-20240305-0100", "other", None, 0, 0, z, z, z, z, z, z),
    ]  # fmt: skip
    assert marts["mart_programme"]["title"].tolist()[1] == 'Saga, "part 3"'
    assert not marts["rejects"]


def test_programmes_of_a_complete_guide_add_up_to_the_channel(marts):
    """Channel 10 on D: s1 1200 + s2 90 + s4 1800 (to midnight) + s5 50 = 3140 s, all in its programmes."""
    m = marts["mart_programme"]
    assert m[(m.dt == D) & (m.channel_id == 10)]["watch_s"].sum() == 3140
    assert m[(m.dt == D) & (m.channel_id == 20)]["watch_s"].sum() == 1200


def test_mart_genre_hourly(marts):
    g = marts["mart_genre_hourly"]
    assert len(g[g.dt == D]) == 10 * 2 + 3 + 13 * 2  # news+kids at 0-9; series, film, kids at 10; film+sport later
    assert len(g[g.dt == D2]) == 24
    cols = ["dt", "hour", "genre", "watch_s", "viewers", "watch_minutes"]
    nonzero = [tuple(r) for r in g[cols].itertuples(index=False) if r.watch_s or r.viewers]
    assert nonzero == [
        (D, 10, "film", 660, 2, Decimal(11)),  # s1 600, s2 60
        (D, 10, "kids", 600, 1, Decimal(10)),  # s3 10:50-11:00
        (D, 10, "series", 680, 2, Decimal("11.333333")),  # u2's 30 s make a viewer here: more than 0 s
        (D, 11, "sport", 600, 1, Decimal(10)),
        (D, 23, "film", 1800, 1, Decimal(30)),
        (D2, 0, "news", 1800, 1, Decimal(30)),
    ]
    assert g[(g.dt == D) & (g.hour == 12) & (g.genre == "film")]["viewers"].tolist() == [0]  # s6: zero length


def test_reach_threshold_is_a_parameter(tmp_path):
    _lake(tmp_path, GUIDE)
    m = compute_programme_marts(
        tmp_path / "sessions", tmp_path / "epg", tmp_path / "users.csv", tmp_path / "channels.csv", reach_min_seconds=1
    )["mart_programme"]
    assert m.set_index("programme_id").loc["10-20240304-1000", "viewers"] == 2  # u2's 30 s now count


def test_guide_checks_rejects_overlaps_duplicates_and_gaps(tmp_path):
    """X2 starts inside X1 (overlap, X1 kept); X3 starts inside X2, which was rejected, but still overlaps it
    (overlap); so channel 10 has X1 only and a gap from 11:00 to midnight; Y (the id of X1, a later start) is a
    duplicate; channel 99 is not in the catalog."""
    day = "2024-03-06"
    rows = [
        "X1,10,One,news,,,2024-03-06 00:00:00,2024-03-06 11:00:00",
        "X2,10,Two,news,,,2024-03-06 10:30:00,2024-03-06 13:00:00",
        "X3,10,Three,news,,,2024-03-06 12:00:00,2024-03-07 00:00:00",
        "X1,10,Again,news,,,2024-03-06 00:05:00,2024-03-06 11:00:00",
        "Z,99,Unknown,news,,,2024-03-06 00:00:00,2024-03-07 00:00:00",
        "W,10,Bad,soap,,,2024-03-06 00:00:00,2024-03-07 00:00:00",
    ]
    _lake(tmp_path, {day: rows})
    out = compute_programme_marts(tmp_path / "sessions", tmp_path / "epg", (), tmp_path / "channels.csv")
    assert [p.programme_id for p in out["programmes"]] == ["X1"]
    assert [(r.line_no, r.reason, r.raw_line) for r in out["rejects"]] == [
        (1, "gap", "10,2024-03-06 11:00:00,2024-03-07 00:00:00"),
        (2, "overlap", rows[1]),
        (3, "overlap", rows[2]),
        (4, "duplicate", rows[3]),
        (5, "unknown_channel", rows[4]),
        (6, "bad_genre", rows[5]),
    ]
    # nobody watched X1 on that day: zeros, even with no users catalog (universe 0)
    m = out["mart_programme"]
    assert (m["watch_s"].tolist(), m["reach_pct"].tolist()) == ([0], [Decimal(0)])
