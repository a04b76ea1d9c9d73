"""Catalogs: headerless RFC 4180 CSV that round-trips awkward names; deterministic subscribers."""

from __future__ import annotations

import csv

import pytest

from producer.catalogs import channel_rows, from_csv, read_csv, to_csv, user_rows, write_csv

pytestmark = pytest.mark.unit


def test_awkward_names_round_trip(tmp_path):
    rows = [
        (1, 'Иванов, Иван "Ваня" Иванович', "M", "1980-01-02", "Москва", "2020-05-06"),
        (2, 'Канал "Пятница", HD', "F", "1990-03-04", "Санкт-Петербург", "2021-07-08"),
        (3, "Строка\nс переводом", "F", "1991-03-04", 'Город "N"', "2022-07-08"),
    ]
    text = to_csv(rows)
    assert not text.startswith("user_id")  # headerless
    assert '"Иванов, Иван ""Ваня"" Иванович"' in text  # RFC 4180: quoted, quotes doubled
    assert from_csv(text) == [[str(v) for v in r] for r in rows]
    path = write_csv(rows, tmp_path / "users.csv")
    assert read_csv(path) == [[str(v) for v in r] for r in rows]


def test_channels_catalog_is_the_rating_table():
    rows = channel_rows()
    assert len(rows) == 148
    assert rows[0][:2] == (1, "Россия 1") and rows[1][:2] == (2, "Первый канал")
    assert [r[0] for r in rows] == list(range(1, 149))
    assert from_csv(to_csv(rows))[0] == ["1", "Россия 1", "7.98", "4.04"]


def test_users_are_deterministic_per_seed_with_russian_names():
    a, b, c = user_rows(300, seed=5), user_rows(300, seed=5), user_rows(300, seed=6)
    assert a == b and a != c
    assert [r[0] for r in a] == list(range(1, 301))
    assert all(len(r[1].split()) == 3 for r in a)  # surname, first name, patronymic
    assert any("а" <= ch <= "я" for ch in a[0][1].lower())
    assert {r[2] for r in a} == {"M", "F"}
    # every row survives the csv module unchanged
    assert list(csv.reader(to_csv(a).splitlines())) == [[str(v) for v in r] for r in a]
