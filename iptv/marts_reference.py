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
seconds). Used by the tests and by the benchmark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from iptv import catalogs

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

SESSION_COLUMNS = {
    "session_id": "VARCHAR",
    "user_id": "BIGINT",
    "channel_id": "BIGINT",
    "time_start": "TIMESTAMP",
    "time_end": "TIMESTAMP",
    "duration_s": "BIGINT",
}
# The catalogs as the producer writes them (the contract of iptv.catalogs); only the ids need a type here.
CHANNEL_COLUMNS = {c: "BIGINT" if c == "channel_id" else "VARCHAR" for c in catalogs.CHANNEL_COLUMNS}
USER_COLUMNS = {c: "BIGINT" if c == "user_id" else "VARCHAR" for c in catalogs.USER_COLUMNS}


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
            f"CREATE TEMP TABLE {name} AS SELECT * FROM read_csv($files, header = false, delim = ',', "  # noqa: S608
            f"quote = '\"', escape = '\"', columns = {{{cols}}}, timestampformat = '%Y-%m-%d %H:%M:%S', "
            "auto_detect = false)",
            {"files": list(files)},
        )
    else:
        con.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{k} {v}' for k, v in columns.items())})")


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
        con.execute(
            """
            CREATE TEMP TABLE sess AS
            SELECT * FROM raw_sess
            WHERE time_end >= time_start
            QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY time_start, time_end, user_id, channel_id) = 1
            """
        )
        # One row per (session, clock hour it starts in or overlaps by > 0 s).
        con.execute(
            """
            CREATE TEMP TABLE slices AS
            SELECT session_id, user_id, channel_id,
                   CAST(time_start AS DATE) AS start_date,
                   CAST(hs AS DATE) AS day,
                   CAST(hour(hs) AS INTEGER) AS hour,
                   greatest(0, date_diff('second', greatest(time_start, hs),
                                         least(time_end, hs + INTERVAL 1 HOUR))) AS watch_s
            FROM (
                SELECT *, unnest(range(date_trunc('hour', time_start),
                                       greatest(time_end, time_start + INTERVAL 1 SECOND),
                                       INTERVAL 1 HOUR)) AS hs
                FROM sess
            )
            """
        )
        universe = con.execute("SELECT count(DISTINCT user_id) FROM users").fetchone()[0]
        days = [r["day"] for r in _records(con, "SELECT DISTINCT day FROM slices ORDER BY day")]
        daily = _records(
            con,
            """
            SELECT day, sum(watch_s) AS watch_s, count(DISTINCT user_id) AS viewers,
                   count(DISTINCT CASE WHEN start_date = day THEN session_id END) AS sessions
            FROM slices GROUP BY day ORDER BY day
            """,
        )
        channel = _records(
            con,
            """
            SELECT s.day, s.channel_id, c.channel_name, s.watch_s, s.sessions, s.viewers
            FROM (
                SELECT day, channel_id, sum(watch_s) AS watch_s, count(DISTINCT user_id) AS viewers,
                       count(DISTINCT CASE WHEN start_date = day THEN session_id END) AS sessions
                FROM slices GROUP BY day, channel_id
            ) s
            LEFT JOIN (SELECT DISTINCT ON (channel_id) channel_id, channel_name FROM channels
                       ORDER BY channel_id, channel_name) c
              ON c.channel_id = s.channel_id
            ORDER BY s.day, s.channel_id
            """,
        )
        hourly = {
            (r["day"], r["hour"]): r
            for r in _records(
                con,
                """
                SELECT day, hour, count(DISTINCT user_id) AS viewers, sum(watch_s) AS watch_s
                FROM slices GROUP BY day, hour
                """,
            )
        }
        durations = _records(
            con,
            "SELECT CAST(time_start AS DATE) AS day,"
            " coalesce(duration_s, date_diff('second', time_start, time_end)) AS duration_s FROM sess",
        )
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


# ------------------------------------------------------------------------------------------ sample data


def write_sample_lake(
    root: str | Path,
    paths: dict[str, str],
    dates: Sequence[dt.date],
    *,
    seed: int = 5,
    sessions_per_day: int = 250,
    n_users: int = 60,
    n_channels: int = 12,
) -> dict[str, Any]:
    """Write a small deterministic data set in the HDFS layout of ``paths`` (config ``hdfs.paths``) under
    ``root``: one sessions file per date plus the channels and users catalogs (names with commas and quotes).

    Besides random sessions (durations in every bucket, starts over the whole day) each date gets the edge
    cases: sessions crossing midnight and the hour, one ending exactly at midnight, one starting at 00:00:00,
    zero-length ones. Some users never watch. Returns the written file paths by kind.
    """
    import random

    rng = random.Random(seed)
    root = Path(root)

    def ts(t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%d %H:%M:%S")

    def csv_field(v: object) -> str:
        s = str(v)
        return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s

    out: dict[str, Any] = {"sessions": {}, "channels": None, "users": None}
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
    return out
