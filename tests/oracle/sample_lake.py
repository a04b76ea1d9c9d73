"""A small deterministic data set in the lake's layout, for the integration tests that check the warehouse
against :func:`oracle.marts.compute_marts` and :func:`oracle.programmes.compute_programme_marts`."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def write_sample_lake(
    root: str | Path,
    paths: dict[str, str],
    dates: Sequence[dt.date],
    *,
    seed: int = 5,
    sessions_per_day: int = 250,
    n_users: int = 60,
    n_channels: int = 12,
    guide: bool = True,
    bad_guide_rows: bool = False,
    quarantine: bool = False,
) -> dict[str, Any]:
    """Write a small deterministic data set in the HDFS layout of ``paths`` (config ``hdfs.paths``) under
    ``root``: one sessions file per date plus the channels and users catalogs (names with commas and quotes)
    and, with ``guide``, one programme guide file per date (:func:`write_guide`; with ``bad_guide_rows`` also a
    file of bad guide rows for the first date, see :data:`BAD_GUIDE_ROWS`); with ``quarantine``, one quarantine
    file per date but the last (a clean day), written by the ingestion's own writers (:func:`write_quarantine`).

    Besides random sessions (durations in every bucket, starts over the whole day) each date gets the edge
    cases: sessions crossing midnight and the hour, one ending exactly at midnight, one starting at 00:00:00,
    zero-length ones. Some users never watch. Returns the written file paths by kind (``programmes``: date ->
    guide file; ``bad_programmes``: the bad rows' file and their expected reasons, in file order;
    ``quarantine``: date -> quarantine file; ``quarantine_counts``: (date, reason) -> records).
    """
    rng = random.Random(seed)
    root = Path(root)

    def ts(t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%d %H:%M:%S")

    def csv_field(v: object) -> str:
        s = str(v)
        return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s

    out: dict[str, Any] = {
        "sessions": {}, "channels": None, "users": None, "programmes": {}, "bad_programmes": None,
        "quarantine": {}, "quarantine_counts": {},
    }  # fmt: skip
    rows: list[tuple[Any, ...]] = []

    def add(start: dt.datetime, dur: int) -> None:
        user = rng.randint(1, n_users - 5)  # the last 5 users never watch
        channel = rng.randint(1, n_channels)
        rows.append((f"{rng.getrandbits(128):032x}", user, channel, start, start + dt.timedelta(seconds=dur), dur))

    bucket_bounds = [0, 1, 60, 300, 900, 1800, 3600, 7200, 14400, 6 * 3600]
    for day in dates:
        start_of_day = dt.datetime.combine(day, dt.time())
        rows.clear()

        for _ in range(sessions_per_day):
            k = rng.randrange(len(bucket_bounds) - 1)
            dur = 0 if rng.random() < 0.03 else rng.randrange(bucket_bounds[k], bucket_bounds[k + 1])
            add(start_of_day + dt.timedelta(seconds=rng.randrange(86400)), dur)
        add(start_of_day + dt.timedelta(hours=23, minutes=30), 3600)  # crosses midnight
        add(start_of_day + dt.timedelta(hours=22), 5 * 3600 + 59 * 60)  # long, crosses midnight
        add(start_of_day + dt.timedelta(hours=23), 3600)  # ends exactly at midnight
        add(start_of_day, 90)  # starts at 00:00:00
        add(start_of_day + dt.timedelta(hours=13, minutes=59, seconds=30), 60)  # crosses the hour
        add(start_of_day + dt.timedelta(hours=12), 0)  # zero length
        add(start_of_day + dt.timedelta(hours=23, minutes=59, seconds=59), 0)  # zero length, last second
        rng.shuffle(rows)
        part = root / paths["sessions"].lstrip("/") / f"dt={day.isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        f = part / "part-00000.csv"
        f.write_text("".join(f"{r[0]},{r[1]},{r[2]},{ts(r[3])},{ts(r[4])},{r[5]}\n" for r in rows), encoding="utf-8")
        out["sessions"][day] = f

    cat = root / paths["catalogs"].lstrip("/")
    (cat / "channels").mkdir(parents=True, exist_ok=True)
    (cat / "users").mkdir(parents=True, exist_ok=True)
    channels = [
        (c, f'Channel {c}, "{["News", "Kids", "Sport", "Movies"][c % 4]}"', f"{rng.uniform(0, 20):.4f}", f"{c % 7}.5")
        for c in range(1, n_channels + 1)
    ]
    # The producer's users.csv columns (iptv.catalogs.USER_COLUMNS): id, full name, gender, birth and signup
    # dates, city (derived from the id, no random draws, so the sessions and channels stay as they were).
    users = [
        (
            u,
            f'User {u}, "{chr(65 + u % 26)}." O\'Neil',
            "MF"[u % 2],
            f"{1950 + u % 50}-{1 + u % 12:02d}-{1 + u % 28:02d}",
            ["Moscow", "Kazan", "Rostov-on-Don"][u % 3],
            f"{2018 + u % 6}-{1 + u % 12:02d}-{1 + u % 28:02d}",
        )
        for u in range(1, n_users + 1)
    ]
    out["channels"] = cat / "channels" / "channels.csv"
    out["channels"].write_text("".join(",".join(csv_field(v) for v in r) + "\n" for r in channels), encoding="utf-8")
    out["users"] = cat / "users" / "users.csv"
    out["users"].write_text("".join(",".join(csv_field(v) for v in r) + "\n" for r in users), encoding="utf-8")
    if guide:
        # Its own random stream: the sessions and catalogs above stay what they were without a guide.
        guide_rng = random.Random(seed * 7919 + 1)
        for day in dates:
            out["programmes"][day] = write_guide(root, paths, day, n_channels, guide_rng)
        if bad_guide_rows:
            out["bad_programmes"] = write_bad_guide_rows(root, paths, dates[0], out["programmes"][dates[0]])
    if quarantine:
        # Its own random stream too, for the same reason.
        quarantine_rng = random.Random(seed * 104729 + 3)
        for day in dates[:-1]:
            out["quarantine"][day], counts = write_quarantine(root, paths, day, quarantine_rng)
            out["quarantine_counts"].update({(day, reason): n for reason, n in counts.items()})
    return out


#: Raw messages of the sample quarantine: what a bad message may hold (commas, quotes, line breaks, a COPY
#: end-of-data marker, backslashes, non-ASCII, a lone surrogate from a JSON escape, NUL, a tab, a message longer
#: than the csv module's default field limit of 128 KiB, nothing at all).
ODD_RAWS = (
    '{"user_id": 1, "x": "a,b"}',
    "line one\nline two\r\nthree\rfour",
    "\\.",
    'a "quoted" \\ back\\slash,',
    "Ünïcødé ✓ 日本語",
    "\ud800 lone surrogate",
    "nul \x00 byte",
    "tab\tseparated",
    '"',
    ",,,,",
    "",
    "#@ sessions dt=2026-03-02 n=1",
    "{" * 150_000,
)


def quarantine_dir(root: str | Path, paths: dict[str, str], day: dt.date) -> Path:
    """The quarantine's directory of ``day`` under ``root``: ``<quarantine>/dt=<day>``."""
    return Path(root) / paths["quarantine"].lstrip("/") / f"dt={day.isoformat()}"


def write_quarantine(
    root: str | Path, paths: dict[str, str], day: dt.date, rng: random.Random
) -> tuple[Path, dict[str, int]]:
    """Write a quarantine file of ``day`` as the ingestion lands one: records of every reason of the pairing
    rules and guards (iptv_sessions.flowfile_formats.quarantine_lines: a pair rejected as a whole gives one
    record per message) with the raw messages of :data:`ODD_RAWS`, then the records PutHdfsPartitioned writes
    for content it cannot read (iptv_ingest.hdfs_sections.unreadable_section). Returns the file and the number
    of records per reason."""
    from iptv_ingest.hdfs_sections import unreadable_section
    from iptv_sessions.flowfile_formats import quarantine_lines
    from iptv_sessions.quarantine_reasons import REASONS

    lines: list[str] = []
    counts: dict[str, int] = {}
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    for i, reason in enumerate(REASONS):
        for _ in range(1 + rng.randrange(4 + i % 3)):
            at = start + dt.timedelta(milliseconds=rng.randrange(86_400_000))
            raw = rng.choice(ODD_RAWS)
            if reason in ("conflicting_pair", "end_before_start"):
                raw = f"{raw}\n{rng.choice(ODD_RAWS)}"  # the two messages of the pair
            record = {
                "reason": reason,
                "session_id": rng.choice(["", f"{rng.getrandbits(128):032x}", 'id, "odd"\n']),
                "arrival_ts": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                "detail": rng.choice(["", "unexpected token, at 3", 'field "x": bad\nvalue']),
                "raw": raw,
            }
            written = quarantine_lines(record)
            lines.extend(written)
            counts[reason] = counts.get(reason, 0) + len(written)
    noon = (start + dt.timedelta(hours=12)).timestamp()
    unreadable = unreadable_section(b'#@ sessions dt=2026-03-02 n=5\nnot, a "section"\r\n', "ValueError: x", noon)
    lines.append(unreadable.data.decode("utf-8"))
    counts[unreadable.data.decode("utf-8").split(",", 1)[0]] = unreadable.lines
    part = quarantine_dir(root, paths, day)
    part.mkdir(parents=True, exist_ok=True)
    f = part / "part-00000.csv"
    f.write_text("".join(lines), encoding="utf-8")
    return f, counts


GENRES = ("series", "entertainment", "news", "film", "sport", "kids", "documentary", "music", "other")
#: Programme lengths of the sample guide, in seconds: whole minutes and a few with seconds, at least 5 minutes
#: (so that the <channel>-<YYYYMMDD>-<HHMM> ids of a channel's day stay unique).
_LENGTHS = (300, 600, 900, 1530, 1800, 2700, 3600, 3725, 5400, 7200)


def guide_dir(root: str | Path, paths: dict[str, str], day: dt.date) -> Path:
    """The guide's directory of ``day`` under ``root``: ``<catalogs>/epg/dt=<day>``."""
    return Path(root) / paths["catalogs"].lstrip("/") / "epg" / f"dt={day.isoformat()}"


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _csv_field(v: object) -> str:
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s


def guide_rows(day: dt.date, n_channels: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """The sample guide of ``day``: for channels 1 .. n_channels - 2 consecutive programmes covering the whole
    day (a complete guide); channel n_channels - 1 the same with one programme left out in the middle (a gap);
    channel n_channels no guide at all. Titles hold commas and quotes now and then; series have a series_id and
    an episode."""
    start_of_day = dt.datetime.combine(day, dt.time())
    end_of_day = start_of_day + dt.timedelta(days=1)
    rows: list[tuple[Any, ...]] = []
    for channel in range(1, n_channels):
        t, programmes = start_of_day, []
        while t < end_of_day:
            end = min(t + dt.timedelta(seconds=rng.choice(_LENGTHS)), end_of_day)
            genre = rng.choice(GENRES)
            slot = len(programmes)
            title = f"Show {channel}.{slot}" + (', "Live"' if rng.random() < 0.2 else "")
            series = (f"{channel}-S{slot % 3}", day.toordinal() % 1000) if genre == "series" else (None, None)
            pid = f"{channel}-{t:%Y%m%d}-{t:%H%M}"
            programmes.append((pid, channel, title, genre, series[0], series[1], _ts(t), _ts(end)))
            t = end
        if channel == n_channels - 1 and len(programmes) > 2:
            del programmes[len(programmes) // 2]  # a gap
        rows.extend(programmes)
    return rows


def write_guide(root: str | Path, paths: dict[str, str], day: dt.date, n_channels: int, rng: random.Random) -> Path:
    """Write the sample guide of ``day`` (:func:`guide_rows`) as the producer does: headerless RFC 4180 CSV,
    one file ``epg-<day>.csv`` in ``<catalogs>/epg/dt=<day>/``. Returns the file."""
    part = guide_dir(root, paths, day)
    part.mkdir(parents=True, exist_ok=True)
    f = part / f"epg-{day.isoformat()}.csv"
    f.write_text(
        "".join(",".join(_csv_field(v) for v in r) + "\n" for r in guide_rows(day, n_channels, rng)), encoding="utf-8"
    )
    return f


def bad_guide_rows(day: dt.date, good: list[list[str]]) -> list[tuple[str, str]]:
    """Bad guide rows of ``day`` (raw line, the reason the warehouse rejects it with), one per reason, made so
    that none of them displaces a good programme: the duplicate starts after the good programme of its id, the
    overlapping one starts inside a good programme of channel 1 and ends with it. ``good``: the good guide's
    rows (fields)."""
    d, nd = day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
    ch1 = [r for r in good if r[1] == "1"]
    first, third = ch1[0], ch1[2]
    dup_start = dt.datetime.fromisoformat(first[6]) + dt.timedelta(seconds=60)
    ovl_start = dt.datetime.fromisoformat(third[6]) + dt.timedelta(seconds=120)
    return [
        ("garbage-without-fields", "wrong_field_count"),
        (f"1-x,1,T,news,,,{d} 01:00:00,{d} 02:00:00,extra", "wrong_field_count"),
        (f"1-x,1,,news,,,{d} 01:00:00,{d} 02:00:00", "missing_field"),
        (f"1-x,abc,T,news,,,{d} 01:00:00,{d} 02:00:00", "bad_id"),
        (f"1-x,1,T,series,1-S9,x,{d} 01:00:00,{d} 02:00:00", "bad_id"),
        (f"1-x,1,T,news,,,{d} 25:00:00,{d} 02:00:00", "bad_timestamp"),
        (f"1-x,1,T,news,,,{d} 01:00:00,{d[:8]}32 02:00:00", "bad_timestamp"),
        (f"1-x,1,T,soap,,,{d} 01:00:00,{d} 02:00:00", "bad_genre"),
        (f"1-x,1,T,news,,,{nd} 01:00:00,{nd} 02:00:00", "other_date"),
        (f"1-x,1,T,news,,,{d} 02:00:00,{d} 01:00:00", "end_before_start"),
        (f"1-x,1,T,news,,,{d} 02:00:00,{d} 02:00:00", "end_before_start"),
        (f"1-x,1,T,news,,,{d} 23:00:00,{nd} 01:00:00", "ends_after_day"),
        (f"999-x,999,T,news,,,{d} 01:00:00,{d} 02:00:00", "unknown_channel"),
        (f"{first[0]},1,Again,news,,,{_ts(dup_start)},{first[7]}", "duplicate"),
        (f'1-ovl,1,"Over, ""lap""",film,,,{_ts(ovl_start)},{third[7]}', "overlap"),
    ]


#: The reasons of :func:`bad_guide_rows`, in file order.
BAD_GUIDE_ROWS = (
    "wrong_field_count",
    "wrong_field_count",
    "missing_field",
    "bad_id",
    "bad_id",
    "bad_timestamp",
    "bad_timestamp",
    "bad_genre",
    "other_date",
    "end_before_start",
    "end_before_start",
    "ends_after_day",
    "unknown_channel",
    "duplicate",
    "overlap",
)


def write_bad_guide_rows(root: str | Path, paths: dict[str, str], day: dt.date, good_file: Path) -> dict[str, Any]:
    """Write :func:`bad_guide_rows` of ``day`` as ``epg-<day>-bad.csv`` beside the good guide file; returns
    ``{"file": path, "rows": [(line number, raw line, reason), ...]}``."""
    import csv

    good = list(csv.reader(good_file.read_text(encoding="utf-8").splitlines()))
    rows = bad_guide_rows(day, good)
    f = guide_dir(root, paths, day) / f"epg-{day.isoformat()}-bad.csv"
    f.write_text("".join(raw + "\n" for raw, _ in rows), encoding="utf-8")
    return {"file": f, "rows": [(i, raw, why) for i, (raw, why) in enumerate(rows, start=1)]}
