"""An independent computation of the programme marts (mart_programme, mart_genre_hourly) and of the guide's
rejects, from the same files as the warehouse: the guide's checks in plain Python (the warehouse does them in SQL,
greenplum/load/validate_programmes.sql and programme_gaps.sql), the audience with DuckDB by plain range joins of
whole intervals (the warehouse cuts sessions and programmes into clock hours and computes the all-channel watch
time from running sums), the queries in the ``*.sql`` files beside this module.

Definitions (docs/warehouse.md, README "Definitions used by the marts"): a session's watch time counts toward a
programme of its channel by the overlap of the two intervals; a viewer of a programme watched at least
``reach_min_seconds`` of it in total (and more than 0 s); amr = watch seconds / length in seconds; rating_pct = amr
/ universe * 100; share_pct = watch seconds / all watch seconds of all channels during the programme * 100;
reach_pct = viewers / universe * 100; atv_min = watch minutes / viewers. A ratio whose numerator is 0 is 0; one
with a zero denominator otherwise is None. Ratios are exact from the integers, rounded half-up to 6 decimals
(:func:`oracle.marts.ratio`).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from iptv.warehouse.sources import csv_records
from oracle.marts import CHANNEL_COLUMNS, SESSION_COLUMNS, USER_COLUMNS, _create, _records, _sql, csv_files, ratio

GENRES = ("series", "entertainment", "news", "film", "sport", "kids", "documentary", "music", "other")
N_FIELDS = 8
MART_COLUMNS: dict[str, list[str]] = {
    "mart_programme": [
        "dt",
        "programme_id",
        "channel_id",
        "title",
        "genre",
        "series_id",
        "time_start",
        "time_end",
        "viewers",
        "reach_pct",
        "amr",
        "rating_pct",
        "share_pct",
        "atv_min",
        "watch_minutes",
    ],
    "mart_genre_hourly": ["dt", "hour", "genre", "watch_minutes", "viewers"],
}
_INT = re.compile(r"^[0-9]{1,18}$")
_TS = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Programme:
    dt: dt.date
    programme_id: str
    channel_id: int
    title: str
    genre: str
    series_id: str | None
    episode: int | None
    time_start: dt.datetime
    time_end: dt.datetime
    source_file: str
    line_no: int
    raw_line: str


@dataclass(frozen=True)
class Reject:
    dt: dt.date
    source_file: str
    line_no: int
    reason: str
    raw_line: str


def _timestamp(text: str) -> dt.datetime | None:
    if not _TS.match(text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _file_date(path: str) -> dt.date:
    m = _DT_DIR.match(Path(path).parent.name)
    if not m:
        raise ValueError(f"{path}: a guide file must be in a dt=YYYY-MM-DD directory")
    return dt.date.fromisoformat(m.group(1))


def channel_ids(channels: str | Path | Iterable[str | Path]) -> set[int]:
    """The channel ids of the channels catalog files, as the warehouse's dim_channel keeps them (records of 4
    fields whose id is an integer)."""
    out: set[int] = set()
    for f in csv_files(channels):
        for row in csv.reader(Path(f).read_text(encoding="utf-8").splitlines()):
            if len(row) == 4 and _INT.match(row[0].strip(" ")):
                out.add(int(row[0].strip(" ")))
    return out


def _checked(day: dt.date, name: str, line_no: int, raw: str, fields: list[str] | None, channels: set[int]) -> Any:
    """A Programme, or the reason the record is rejected (before the duplicate and overlap checks)."""
    if fields is None:
        return "malformed_csv"
    if len(fields) != N_FIELDS:
        return "wrong_field_count"
    pid, ch, title, genre, series, episode, start, end = (f.strip(" ") for f in fields)
    if not (pid and ch and title and genre and start and end):
        return "missing_field"
    if not _INT.match(ch) or (episode and not _INT.match(episode)):
        return "bad_id"
    t0, t1 = _timestamp(start), _timestamp(end)
    if t0 is None or t1 is None:
        return "bad_timestamp"
    if genre not in GENRES:
        return "bad_genre"
    if t0.date() != day:
        return "other_date"
    if t1 <= t0:
        return "end_before_start"
    if t1 > dt.datetime.combine(day + dt.timedelta(days=1), dt.time()):
        return "ends_after_day"
    if int(ch) not in channels:
        return "unknown_channel"
    ep = int(episode) if episode else None
    return Programme(day, pid, int(ch), fields[2], genre, series or None, ep, t0, t1, name, line_no, raw)


def check_guide(
    programmes: str | Path | Iterable[str | Path], channels: set[int]
) -> tuple[list[Programme], list[Reject]]:
    """The accepted programmes and the rejects (rows by reason, then the gaps) of the guide files (files or
    directories of ``*.csv`` in ``dt=<date>`` directories), against the channel ids ``channels``."""
    accepted: list[Programme] = []
    rejects: list[Reject] = []
    by_day: dict[dt.date, list[Programme]] = {}
    for f in csv_files(programmes):
        day = _file_date(f)
        text = Path(f).read_bytes().decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        for line_no, raw, fields in csv_records(text):
            got = _checked(day, f, line_no, raw, fields, channels)
            if isinstance(got, str):
                rejects.append(Reject(day, f, line_no, got, raw))
            else:
                by_day.setdefault(day, []).append(got)
    for day, rows in sorted(by_day.items()):
        seen: set[str] = set()
        unique: list[Programme] = []
        for p in sorted(rows, key=lambda p: (p.time_start, p.source_file, p.line_no)):
            if p.programme_id in seen:
                rejects.append(Reject(day, p.source_file, p.line_no, "duplicate", p.raw_line))
            else:
                seen.add(p.programme_id)
                unique.append(p)
        kept: list[Programme] = []
        latest_end: dict[int, dt.datetime] = {}
        for p in sorted(unique, key=lambda p: (p.channel_id, p.time_start, p.programme_id, p.source_file, p.line_no)):
            end = latest_end.get(p.channel_id)
            if end is not None and p.time_start < end:
                rejects.append(Reject(day, p.source_file, p.line_no, "overlap", p.raw_line))
            else:
                kept.append(p)
            latest_end[p.channel_id] = max(end, p.time_end) if end is not None else p.time_end
        rejects.extend(_gaps(day, kept))
        accepted.extend(kept)
    return accepted, rejects


def _gaps(day: dt.date, kept: list[Programme]) -> list[Reject]:
    """The intervals of the day that no accepted programme of a channel covers, for each channel that has one."""
    ds = dt.datetime.combine(day, dt.time())
    de = ds + dt.timedelta(days=1)
    out: list[Reject] = []
    by_channel: dict[int, list[Programme]] = {}
    for p in kept:
        by_channel.setdefault(p.channel_id, []).append(p)

    def gap(p: Programme, a: dt.datetime, b: dt.datetime) -> Reject:
        interval = f"{p.channel_id},{a:%Y-%m-%d %H:%M:%S},{b:%Y-%m-%d %H:%M:%S}"
        return Reject(day, p.source_file, p.line_no, "gap", interval)

    for _, rows in sorted(by_channel.items()):
        rows.sort(key=lambda p: p.time_start)
        prev_end = ds
        for p in rows:
            if p.time_start > prev_end:
                out.append(gap(p, prev_end, p.time_start))
            prev_end = p.time_end
        if prev_end < de:
            out.append(gap(rows[-1], prev_end, de))
    return out


def _zero_or_ratio(num: int, den: int) -> Decimal | None:
    """0 when ``num`` is 0 (nobody watched), else :func:`ratio` (None for a zero denominator)."""
    return Decimal(0) if num == 0 else ratio(num, den)


def compute_programme_marts(
    sessions: str | Path | Iterable[str | Path],
    programmes: str | Path | Iterable[str | Path],
    users: str | Path | Iterable[str | Path] = (),
    channels: str | Path | Iterable[str | Path] = (),
    *,
    reach_min_seconds: int = 60,
) -> dict[str, Any]:
    """The programme marts from the sessions, guide, users and channels files (files or directories of
    ``*.csv``; the guide's files in their ``dt=<date>`` directories).

    Returns ``mart_programme`` and ``mart_genre_hourly`` (frames with the warehouse's columns, plus ``watch_s``,
    integer seconds; dates as ``datetime.date``, ratios as ``Decimal``; sorted by date then programme_id /
    hour, genre), ``programmes`` (the accepted guide, :class:`Programme`) and ``rejects`` (:class:`Reject`: the
    rejected rows by reason and the gaps). Sessions are deduplicated and checked as the loader does
    (oracle/sessions.sql)."""
    accepted, rejects = check_guide(programmes, channel_ids(channels))
    con = duckdb.connect()
    try:
        _create(con, "raw_sess", csv_files(sessions), SESSION_COLUMNS)
        _create(con, "users", csv_files(users), USER_COLUMNS)
        _create(con, "channels", csv_files(channels), CHANNEL_COLUMNS)
        con.execute(_sql("sessions"))
        universe = con.execute(_sql("universe")).fetchall()[0][0]
        guide_rows = pd.DataFrame(
            {
                "dt": pd.Series([p.dt for p in accepted], dtype="datetime64[us]"),
                "programme_id": pd.Series([p.programme_id for p in accepted], dtype=object),
                "channel_id": pd.Series([p.channel_id for p in accepted], dtype="int64"),
                "genre": pd.Series([p.genre for p in accepted], dtype=object),
                "time_start": pd.Series([p.time_start for p in accepted], dtype="datetime64[us]"),
                "time_end": pd.Series([p.time_end for p in accepted], dtype="datetime64[us]"),
            }
        )
        con.register("guide_rows", guide_rows)
        con.execute(
            "CREATE TEMP TABLE guide AS SELECT CAST(dt AS DATE) AS dt, CAST(programme_id AS VARCHAR) AS programme_id, "
            "channel_id, CAST(genre AS VARCHAR) AS genre, CAST(time_start AS TIMESTAMP) AS time_start, "
            "CAST(time_end AS TIMESTAMP) AS time_end FROM guide_rows"
        )
        per_user = _records(con, _sql("programme_watch"))
        all_watch = {r["programme_id"]: int(r["watch_s"]) for r in _records(con, _sql("programme_all_watch"))}
        genre_rows = _records(con, _sql("genre_hourly"))
    finally:
        con.close()

    watch: dict[str, int] = {}
    viewers: dict[str, int] = {}
    for r in per_user:
        w = int(r["watch_s"])
        watch[r["programme_id"]] = watch.get(r["programme_id"], 0) + w
        if w > 0 and w >= reach_min_seconds:
            viewers[r["programme_id"]] = viewers.get(r["programme_id"], 0) + 1
    rows = []
    for p in sorted(accepted, key=lambda p: (p.dt, p.programme_id)):
        w, v = watch.get(p.programme_id, 0), viewers.get(p.programme_id, 0)
        length = int((p.time_end - p.time_start).total_seconds())
        rows.append(
            {
                "dt": p.dt,
                "programme_id": p.programme_id,
                "channel_id": p.channel_id,
                "title": p.title,
                "genre": p.genre,
                "series_id": p.series_id,
                "time_start": p.time_start,
                "time_end": p.time_end,
                "viewers": v,
                "reach_pct": _zero_or_ratio(v * 100, universe),
                "amr": _zero_or_ratio(w, length),
                "rating_pct": _zero_or_ratio(w * 100, length * universe),
                "share_pct": _zero_or_ratio(w * 100, all_watch.get(p.programme_id, 0)),
                "atv_min": _zero_or_ratio(w, v * 60),
                "watch_minutes": ratio(w, 60),
                "watch_s": w,
            }
        )
    mart_programme = pd.DataFrame(rows, columns=[*MART_COLUMNS["mart_programme"], "watch_s"], dtype=object)
    mart_genre = pd.DataFrame(
        [
            {
                "dt": r["dt"],
                "hour": int(r["hour"]),
                "genre": r["genre"],
                "watch_minutes": ratio(int(r["watch_s"]), 60),
                "viewers": int(r["viewers"]),
                "watch_s": int(r["watch_s"]),
            }
            for r in genre_rows
        ],
        columns=[*MART_COLUMNS["mart_genre_hourly"], "watch_s"],
    )
    rejects.sort(key=lambda r: (r.dt, r.source_file, r.line_no, r.reason))
    return {
        "mart_programme": mart_programme,
        "mart_genre_hourly": mart_genre,
        "programmes": sorted(accepted, key=lambda p: (p.dt, p.programme_id)),
        "rejects": rejects,
    }
