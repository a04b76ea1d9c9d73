"""A small deterministic data set in the lake's layout, for the integration tests that check the warehouse
against :func:`oracle.marts.compute_marts`."""

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
) -> dict[str, Any]:
    """Write a small deterministic data set in the HDFS layout of ``paths`` (config ``hdfs.paths``) under
    ``root``: one sessions file per date plus the channels and users catalogs (names with commas and quotes).

    Besides random sessions (durations in every bucket, starts over the whole day) each date gets the edge
    cases: sessions crossing midnight and the hour, one ending exactly at midnight, one starting at 00:00:00,
    zero-length ones. Some users never watch. Returns the written file paths by kind.
    """
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
