"""An independent computation of every warehouse mart with DuckDB, straight from the CSV files.

The warehouse (greenplum/marts/*.sql) computes each date with interval arithmetic against the day's bounds;
this module cuts every session into the clock hours it touches (its start hour always, later hours only while
it overlaps them by more than 0 s) and aggregates the slices, so the two agree only if both follow the
definitions (docs/warehouse.md):

- watch time of a period = overlap of [time_start, time_end) with it, in whole seconds;
- a session (view) counts in the period where it starts;
- a viewer of a period = a distinct user with a session that starts in it or overlaps it by more than 0 s;
- universe = distinct users of the users catalog; reach, share, rating and ATV as in the warehouse.

The dates covered are every date with a session that starts on it or overlaps it. Integer figures (seconds,
counts) come from DuckDB; ratios are computed exactly from them in Python and rounded half-up to 6 decimals,
like PostgreSQL's ``round(numeric, 6)``. Every frame with watch time also carries it as ``watch_s`` (integer
seconds). Used by the tests and by the benchmark (bench/bench_warehouse.py).

The queries are the ``*.sql`` files beside this module (DuckDB dialect, no parameters), over the temp tables
``raw_sess``, ``users`` and ``channels`` that :func:`compute_marts` fills from the CSV files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from iptv import datasets

SQL_DIR = Path(__file__).resolve().parent
SCALE = 6
#: Published columns of each mart (the reference frames also carry ``watch_s`` where the mart has watch time).
MART_COLUMNS: dict[str, list[str]] = {
    "mart_daily": ["dt", "watch_hours", "sessions", "viewers"],
    "mart_channel_daily": [
        "dt",
        "channel_id",
        "channel_name",
        "watch_hours",
        "sessions",
        "viewers",
        "reach_pct",
        "share_pct",
        "rating_pct",
        "atv_min",
    ],
    "mart_hourly": ["dt", "hour", "viewers", "watch_minutes"],
    "mart_weekday_hour": ["weekday", "hour", "avg_viewers"],
    "mart_duration_hist": ["dt", "bucket_label", "bucket_lower_s", "sessions"],
}
#: Duration buckets of mart_duration_hist: (label, lower bound in seconds); each runs to the next lower bound.
DURATION_BUCKETS: list[tuple[str, int]] = [
    ("<1m", 0),
    ("1-5m", 60),
    ("5-15m", 300),
    ("15-30m", 900),
    ("30-60m", 1800),
    ("1-2h", 3600),
    ("2-4h", 7200),
    ("4h+", 14400),
]

#: DuckDB type of a column type of the dataset definition; other types (decimals, dates) are read as VARCHAR,
#: as the Hive catalog tables read them (the reference casts what it uses).
_DUCKDB_TYPES = {"bigint": "BIGINT", "int": "INTEGER", "timestamp": "TIMESTAMP"}


def _duckdb_columns(dataset: datasets.Dataset) -> dict[str, str]:
    return {c.name: _DUCKDB_TYPES.get(c.type, "VARCHAR") for c in dataset.columns}


# The files as the lake holds them (schemas/datasets.json).
SESSION_COLUMNS = _duckdb_columns(datasets.SESSIONS)
CHANNEL_COLUMNS = _duckdb_columns(datasets.CHANNELS)
USER_COLUMNS = _duckdb_columns(datasets.USERS)


def ratio(num: int, den: int, scale: int = SCALE) -> Decimal | None:
    """``num / den`` rounded half away from zero to ``scale`` decimals (None when ``den`` is 0), exactly."""
    if den == 0:
        return None
    q = 10**scale
    n, d = num * q, den
    sign = -1 if (n < 0) != (d < 0) else 1
    n, d = abs(n), abs(d)
    rounded = (2 * n + d) // (2 * d)
    return Decimal(sign * rounded).scaleb(-scale)


def norm(v: Any) -> Any:
    """Values from PyHive (decimals may come as strings, dates as strings) and psycopg2, made comparable."""
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float | Decimal) or (isinstance(v, str) and v.replace(".", "", 1).isdigit() and "." in v):
        return Decimal(str(v)).quantize(Decimal("0.000001"))
    return v


def csv_files(paths: str | Path | Iterable[str | Path]) -> list[str]:
    """The CSV files named by ``paths``: files as given, directories expanded to their ``*.csv`` files
    (recursively, sorted). Paths that do not exist are skipped."""
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.rglob("*.csv")))
        elif p.is_file():
            out.append(str(p))
    return out


def _create(con: duckdb.DuckDBPyConnection, name: str, files: Sequence[str], columns: dict[str, str]) -> None:
    """A temp table ``name`` (a constant of this module) with ``columns``, filled from the headerless CSV
    ``files`` (passed as a query parameter)."""
    cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
    if files:
        con.execute(
            f"CREATE TEMP TABLE {name} AS SELECT * FROM read_csv($files, header = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{cols}}}, timestampformat = '%Y-%m-%d %H:%M:%S', "
            "auto_detect = false)",
            {"files": list(files)},
        )
    else:
        con.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{k} {v}' for k, v in columns.items())})")


def _sql(name: str) -> str:
    """The query ``<name>.sql`` beside this module."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def compute_marts(
    sessions: str | Path | Iterable[str | Path],
    users: str | Path | Iterable[str | Path] = (),
    channels: str | Path | Iterable[str | Path] = (),
) -> dict[str, pd.DataFrame]:
    """Every mart from the sessions, users and channels CSV files (files or directories of ``*.csv``).

    Returns frames keyed ``mart_daily``, ``mart_channel_daily``, ``mart_hourly``, ``mart_weekday_hour`` and
    ``mart_duration_hist`` with the warehouse's columns (dates as ``datetime.date``, ratios as ``Decimal``,
    watch time also as integer ``watch_s``), sorted by their keys. Sessions are deduplicated by session_id and
    rows ending before they start are ignored, as the loader does.
    """
    con = duckdb.connect()
    try:
        _create(con, "raw_sess", csv_files(sessions), SESSION_COLUMNS)
        _create(con, "users", csv_files(users), USER_COLUMNS)
        _create(con, "channels", csv_files(channels), CHANNEL_COLUMNS)
        con.execute(_sql("sessions"))
        con.execute(_sql("slices"))
        universe = con.execute(_sql("universe")).fetchone()[0]
        days = [r["day"] for r in _records(con, _sql("days"))]
        daily = _records(con, _sql("daily"))
        channel = _records(con, _sql("channel_daily"))
        hourly = {(r["day"], r["hour"]): r for r in _records(con, _sql("hourly"))}
        durations = _records(con, _sql("durations"))
    finally:
        con.close()
    return _assemble(days, universe, daily, channel, hourly, durations)


def _assemble(
    days: list[dt.date],
    universe: int,
    daily: list[dict[str, Any]],
    channel: list[dict[str, Any]],
    hourly: dict[tuple[dt.date, int], dict[str, Any]],
    durations: list[dict[str, Any]],
) -> dict[str, pd.DataFrame]:
    mart_daily = pd.DataFrame(
        [
            {
                "dt": r["day"],
                "watch_hours": ratio(int(r["watch_s"]), 3600),
                "sessions": int(r["sessions"]),
                "viewers": int(r["viewers"]),
                "watch_s": int(r["watch_s"]),
            }
            for r in daily
        ],
        columns=[*MART_COLUMNS["mart_daily"], "watch_s"],
    )
    total_by_day = {r["day"]: int(r["watch_s"]) for r in daily}
    mart_channel = pd.DataFrame(
        [
            {
                "dt": r["day"],
                "channel_id": int(r["channel_id"]),
                "channel_name": r["channel_name"],
                "watch_hours": ratio(int(r["watch_s"]), 3600),
                "sessions": int(r["sessions"]),
                "viewers": int(r["viewers"]),
                "reach_pct": ratio(int(r["viewers"]) * 100, universe),
                "share_pct": ratio(int(r["watch_s"]) * 100, total_by_day[r["day"]]),
                "rating_pct": ratio(int(r["watch_s"]) * 100, universe * 86400),
                "atv_min": ratio(int(r["watch_s"]), int(r["viewers"]) * 60),
                "watch_s": int(r["watch_s"]),
            }
            for r in channel
        ],
        columns=[*MART_COLUMNS["mart_channel_daily"], "watch_s"],
    )
    hourly_rows = []
    for day in days:
        for hour in range(24):
            r = hourly.get((day, hour))
            watch_s = int(r["watch_s"]) if r else 0
            hourly_rows.append(
                {
                    "dt": day,
                    "hour": hour,
                    "viewers": int(r["viewers"]) if r else 0,
                    "watch_minutes": ratio(watch_s, 60),
                    "watch_s": watch_s,
                }
            )
    mart_hourly = pd.DataFrame(hourly_rows, columns=[*MART_COLUMNS["mart_hourly"], "watch_s"])

    sums: dict[tuple[int, int], list[int]] = {}
    for r in hourly_rows:
        acc = sums.setdefault((r["dt"].isoweekday(), r["hour"]), [0, 0])
        acc[0] += r["viewers"]
        acc[1] += 1
    mart_weekday = pd.DataFrame(
        [{"weekday": wd, "hour": h, "avg_viewers": ratio(s, n)} for (wd, h), (s, n) in sorted(sums.items())],
        columns=MART_COLUMNS["mart_weekday_hour"],
    )

    lowers = [lo for _, lo in DURATION_BUCKETS]
    counts: dict[tuple[dt.date, int], int] = {}
    for r in durations:
        lower = max(lo for lo in lowers if lo <= max(int(r["duration_s"]), 0))
        counts[(r["day"], lower)] = counts.get((r["day"], lower), 0) + 1
    mart_hist = pd.DataFrame(
        [
            {"dt": day, "bucket_label": label, "bucket_lower_s": lower, "sessions": counts.get((day, lower), 0)}
            for day in days
            for label, lower in DURATION_BUCKETS
        ],
        columns=MART_COLUMNS["mart_duration_hist"],
    )
    return {
        "mart_daily": mart_daily,
        "mart_channel_daily": mart_channel,
        "mart_hourly": mart_hourly,
        "mart_weekday_hour": mart_weekday,
        "mart_duration_hist": mart_hist,
    }
