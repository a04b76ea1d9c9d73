"""The programme guide: whole days without gaps or overlaps, stable ids, recurring series, channel genre mixes,
rows in the column order of dataset programmes, the epg command."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from iptv.config import REPO_ROOT
from iptv.datasets import dataset
from producer import guide
from producer.catalogs import from_csv, read_csv, to_csv
from producer.cli import main
from producer.reference import load_rating

pytestmark = pytest.mark.unit

MONDAY = dt.date(2025, 3, 3)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]
COLUMNS = dataset("programmes").column_names


def by_channel(rows: list[tuple]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        rec = dict(zip(COLUMNS, r, strict=True))
        out[rec["channel_id"]].append(rec)
    return out


def fresh_guide(seed: int, day: dt.date) -> guide.DayGuide:
    """The guide computed from scratch (no cache of an earlier call)."""
    guide.day_guide.cache_clear()
    guide.templates.cache_clear()
    guide.series_popularity.cache_clear()
    return guide.day_guide(seed, day)


@pytest.mark.parametrize("day", WEEK, ids=lambda d: d.strftime("%a"))
def test_every_channel_covers_the_day_without_gap_or_overlap(day):
    rows = guide.day_guide(0, day).rows()
    channels = by_channel(rows)
    assert sorted(channels) == load_rating().channel_id.tolist()
    midnight, next_midnight = f"{day} 00:00:00", f"{day + dt.timedelta(days=1)} 00:00:00"
    for cid, progs in channels.items():
        assert progs[0]["time_start"] == midnight, cid
        assert progs[-1]["time_end"] == next_midnight, cid
        for a, b in zip(progs, progs[1:], strict=False):
            assert a["time_end"] == b["time_start"], (cid, a, b)  # consecutive: no gap, no overlap
        assert all(p["time_start"] < p["time_end"] for p in progs)
        assert len(progs) >= 10


def test_programme_ids_are_channel_date_start_and_unique_over_a_week():
    ids = []
    for day in WEEK:
        for r in guide.day_guide(0, day).rows():
            rec = dict(zip(COLUMNS, r, strict=True))
            start = dt.datetime.fromisoformat(rec["time_start"])
            assert rec["programme_id"] == f"{rec['channel_id']}-{start:%Y%m%d}-{start:%H%M}"
            assert re.fullmatch(r"\d+-\d{8}-\d{4}", rec["programme_id"])
            ids.append(rec["programme_id"])
    assert len(ids) == len(set(ids)) > 7 * 148 * 10


def test_a_date_has_the_same_guide_alone_or_inside_a_range_and_per_seed():
    wednesday = MONDAY + dt.timedelta(days=2)
    inside = [guide.day_guide(0, d).rows() for d in WEEK][2]
    alone = fresh_guide(0, wednesday).rows()
    assert alone == inside
    other_seed = fresh_guide(1, wednesday).rows()
    assert [r[2] for r in other_seed] != [r[2] for r in alone]  # titles differ
    assert [r[0] for r in other_seed] != [r[0] for r in alone]  # and so does the grid


def test_rows_follow_the_dataset_columns_and_series_fields_are_set_for_series_only():
    rows = guide.day_guide(0, MONDAY).rows()
    assert all(len(r) == len(COLUMNS) for r in rows)
    genres = Counter()
    for r in rows:
        rec = dict(zip(COLUMNS, r, strict=True))
        genres[rec["genre"]] += 1
        assert rec["genre"] in guide.GENRES
        assert rec["title"].strip()
        if rec["genre"] == "series":
            assert rec["series_id"] and isinstance(rec["episode"], int) and rec["episode"] >= 1
        else:
            assert rec["series_id"] == "" and rec["episode"] == ""
    assert set(genres) == set(guide.GENRES)  # every genre is on somewhere
    # headerless RFC 4180 CSV that reads back as the rows
    text = to_csv(rows)
    assert not text.startswith("programme_id")
    assert from_csv(text) == [[str(v) for v in r] for r in rows]


def test_series_recur_in_the_same_slot_with_the_next_episode():
    """A weekday series airs Monday to Friday in its slot, one episode further each day; a weekend series the
    next week, one episode further (seasons change on Mondays, so a series is followed over the week)."""
    slots: dict[tuple[int, str], list[tuple[str, int]]] = defaultdict(list)
    for day in WEEK[:5]:
        for r in guide.day_guide(0, day).rows():
            rec = dict(zip(COLUMNS, r, strict=True))
            if rec["genre"] == "series":
                slots[(rec["channel_id"], rec["time_start"][11:])].append((rec["series_id"], rec["episode"]))
    weekday_series = [v for v in slots.values() if len(v) == 5]
    assert len(weekday_series) > 100
    for airings in weekday_series:
        assert len({sid for sid, _ in airings}) == 1, airings
        episodes = [ep for _, ep in airings]
        assert episodes == list(range(episodes[0], episodes[0] + 5)), airings
    sat, next_sat = MONDAY + dt.timedelta(days=5), MONDAY + dt.timedelta(days=12)
    first = {r[4]: r[5] for r in guide.day_guide(0, sat).rows() if r[4]}
    later = {r[4]: r[5] for r in guide.day_guide(0, next_sat).rows() if r[4]}
    continued = set(first) & set(later)
    assert len(continued) > 0.6 * len(first)  # the rest started a new season
    assert all(later[s] == first[s] + 1 for s in continued)
    # a series has one title for all its episodes
    titles = defaultdict(set)
    for day in WEEK:
        for r in guide.day_guide(0, day).rows():
            if r[4]:
                titles[r[4]].add(r[2])
    assert all(len(t) == 1 for t in titles.values())


@pytest.mark.parametrize(
    ("name", "genre", "share"),
    [("Россия 24", "news", 0.7), ("Карусель", "kids", 0.7), ("МАТЧ! ТВ", "sport", 0.6), ("МУЗ", "music", 0.7)],
)
def test_a_themed_channel_shows_mostly_its_genre(name, genre, share):
    rating = load_rating()
    cid = int(rating.channel_id[rating.name.index(name)])
    minutes: Counter[str] = Counter()
    for day in WEEK:
        g = guide.day_guide(0, day)
        for i in range(len(g)):
            if g.channel_id[i] == cid:
                minutes[guide.GENRES[g.genre[i]]] += int(g.end[i] - g.start[i])
    assert minutes[genre] / sum(minutes.values()) >= share, minutes


def test_a_general_channel_has_a_mix_with_news_in_the_morning_and_series_or_films_in_the_evening():
    assert guide.profile_of("Первый канал") == "general" and guide.profile_of("Россия 24") == "news"
    minutes: Counter[tuple[str, str]] = Counter()
    for day in WEEK:
        g = guide.day_guide(0, day)
        for i in range(len(g)):
            if g.channel_id[i] == 2:  # Первый канал
                minutes[(guide.daypart(int(g.start[i])), guide.GENRES[g.genre[i]])] += int(g.end[i] - g.start[i])
    genres = {genre for _, genre in minutes}
    assert len(genres) >= 5
    morning = {gen: m for (part, gen), m in minutes.items() if part == "morning"}
    evening = {gen: m for (part, gen), m in minutes.items() if part == "evening"}
    assert max(morning, key=morning.get) == "news", morning
    assert max(evening, key=evening.get) in ("series", "film", "entertainment"), evening


def test_epg_command_writes_one_headerless_file_per_day(tmp_path, capsys):
    out = tmp_path / "epg"
    assert main(["epg", "--date", "2025-03-03", "--days", "3", "--out", str(out), "--no-progress"]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.csv"))
    assert files == [f"dt=2025-03-0{d}/epg-2025-03-0{d}.csv" for d in (3, 4, 5)]
    rows = read_csv(out / "dt=2025-03-04" / "epg-2025-03-04.csv")
    assert rows == [[str(v) for v in r] for r in guide.day_guide(0, dt.date(2025, 3, 4)).rows()]
    assert all(r[6].startswith("2025-03-04") for r in rows)  # a file holds its day's programmes
    assert "programmes of 148 channels" in capsys.readouterr().out
    # another process, another range: the same file for the same date
    alone = tmp_path / "alone"
    res = subprocess.run(
        [sys.executable, "-m", "producer", "epg", "--date", "2025-03-04", "--out", str(alone), "--no-progress"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    name = "dt=2025-03-04/epg-2025-03-04.csv"
    assert (alone / name).read_bytes() == (out / name).read_bytes()


class FakeHdfs:
    """An HdfsWriter that keeps the files in memory."""

    def __init__(self) -> None:
        self.dirs: list[str] = []
        self.files: dict[str, bytes] = {}

    def mkdirs(self, path: str) -> None:
        self.dirs.append(path)

    def write(self, path: str, data: bytes) -> None:
        self.files[path] = data


def test_the_hdfs_guide_goes_to_the_dataset_directory_under_the_catalogs():
    from iptv.config import load_config
    from producer.cli import guide_to_hdfs

    cfg = load_config()
    fake = FakeHdfs()
    line = guide_to_hdfs(cfg, fake, 0, MONDAY, 2, progress=False)
    root = f"{cfg.hdfs.paths.catalogs.rstrip('/')}/epg"
    assert sorted(fake.files) == [f"{root}/dt={d}/epg-{d}.csv" for d in WEEK[:2]]
    assert from_csv(fake.files[f"{root}/dt={MONDAY}/epg-{MONDAY}.csv"].decode()) == [
        [str(v) for v in r] for r in guide.day_guide(0, MONDAY).rows()
    ]
    assert line.startswith(f"epg {MONDAY}..{WEEK[1]}: ") and f"hdfs {root}/dt=*/" in line
