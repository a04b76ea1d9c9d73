"""The channel and subscriber catalogs, as headerless RFC 4180 CSV (Hive / Greenplum external tables).

channels.csv: channel_id, channel_name, watch_time_share_pct, viewer_share_pct (from the rating table).
users.csv:    user_id, full_name, gender (M/F), birth_date, city, signup_date -- Faker ru_RU, deterministic
              for a seed; user ids 1..N match the simulated subscribers of the same --users.

Fields are quoted only when needed (comma, quote, newline) and quotes are doubled, so readers must use
quote '"' and escape '"' (Hive OpenCSVSerde, Spark ``escape='"'``, Greenplum ``FORMAT 'CSV'``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from faker import Faker

# The column contract (CHANNEL_COLUMNS, USER_COLUMNS): datasets channels and users of schemas/datasets.json.
from iptv.catalogs import CHANNEL_COLUMNS, USER_COLUMNS
from producer.model import lifecycle
from producer.reference import Rating, load_rating


def _ordered(record: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    """A record's values in the column order of the catalogs contract."""
    return tuple(record[c] for c in columns)


def channel_rows(rating: Rating | None = None) -> list[tuple[Any, ...]]:
    rating = rating or load_rating()
    return [
        _ordered(
            {"channel_id": int(c), "channel_name": n, "watch_time_share_pct": f"{w:g}", "viewer_share_pct": f"{v:g}"},
            CHANNEL_COLUMNS,
        )
        for c, n, w, v in zip(rating.channel_id, rating.name, rating.watch_pct, rating.viewer_pct, strict=True)
    ]


def user_rows(n_users: int = 10_000, seed: int = 0) -> list[tuple[Any, ...]]:
    """Subscribers 1..n_users: Russian names consistent with gender, birth dates 1940-2006, and the signup
    dates of the simulated subscribers (:func:`producer.model.lifecycle`: the day each may first view)."""
    fake = Faker("ru_RU")
    fake.seed_instance(seed)
    rng = np.random.default_rng([seed, 0xCA7])
    male = rng.random(n_users) < 0.47
    birth0 = dt.date(1940, 1, 1).toordinal()
    births = rng.integers(birth0, dt.date(2006, 12, 31).toordinal(), n_users)
    signups, _ = lifecycle(n_users, seed)
    rows = []
    for i in range(n_users):
        if male[i]:
            name = f"{fake.last_name_male()} {fake.first_name_male()} {fake.middle_name_male()}"
        else:
            name = f"{fake.last_name_female()} {fake.first_name_female()} {fake.middle_name_female()}"
        record = {
            "user_id": i + 1,
            "full_name": name,
            "gender": "M" if male[i] else "F",
            "birth_date": dt.date.fromordinal(int(births[i])).isoformat(),
            "city": fake.city_name(),
            "signup_date": dt.date.fromordinal(int(signups[i])).isoformat(),
        }
        rows.append(_ordered(record, USER_COLUMNS))
    return rows


def to_csv(rows: Iterable[Sequence[Any]]) -> str:
    """Headerless RFC 4180 CSV text (\\n line ends, minimal quoting, doubled quotes)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue()


def from_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def write_csv(rows: Iterable[Sequence[Any]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv(rows), encoding="utf-8", newline="")
    return path


def read_csv(path: str | Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))
