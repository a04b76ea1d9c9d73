"""The programme guide (EPG): per channel and day, consecutive programmes from 00:00 to the next 00:00.

A channel gets a *profile* from its name (news, sport, kids, music, film, series, documentary, shopping; else
general) that sets its genre mix by daypart. From (seed, channel) the guide draws three day *templates* --
Monday to Friday, Saturday, Sunday -- each a sequence of slots (start, length, genre) covering the day on
quarter hours. A day is its template filled in: the same slots every week, so a series slot shows the same
series every airing day with the next episode, and a news slot the same bulletin. Series run in *seasons* of
4-12 weeks per slot (aligned to Mondays, out of phase across slots); a new season is a new series (new
series_id and title). Films, sport and documentaries get a new title every day.

Everything is a function of (seed, date) alone -- the templates of the seed, the season arithmetic from a fixed
epoch, per-day titles from a generator seeded with the date -- so a date has the same guide whatever range it
is generated in. Each programme also has a *popularity* (series: drawn once per series and kept across its
episodes; films: per broadcast; other programmes 1), which the viewing model turns into audience
(producer/model.py); it is not part of the published guide.

Rows follow dataset ``programmes`` of schemas/datasets.json (:mod:`iptv.datasets`): programme_id
``<channel_id>-<YYYYMMDD>-<HHMM>`` of its start, channel_id, title, genre, series_id and episode (empty unless
a series), time_start and time_end ('YYYY-MM-DD HH:MM:SS', [start, end)).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from faker import Faker

from iptv.datasets import dataset
from producer.reference import load_rating

PROGRAMMES = dataset("programmes")
PROGRAMME_COLUMNS: tuple[str, ...] = PROGRAMMES.column_names

GENRES = ("series", "entertainment", "news", "film", "sport", "kids", "documentary", "music", "other")
GENRE_CODE = {g: i for i, g in enumerate(GENRES)}
#: Programme lengths (minutes) a genre's slots are drawn from; quarter hours keep the grid on :00/:15/:30/:45.
LENGTHS = {
    "series": (30, 45, 45, 60),
    "entertainment": (45, 60, 60, 90),
    "news": (15, 30, 30, 60),
    "film": (90, 105, 120, 135),
    "sport": (60, 90, 120, 150),
    "kids": (15, 30, 30, 60),
    "documentary": (30, 45, 60),
    "music": (30, 60, 120),
    "other": (15, 30, 60),
}
#: Genres whose title changes with every broadcast (the others repeat the slot's title every airing day).
PER_BROADCAST = ("film", "sport", "documentary")
#: A Monday far enough back: series seasons count weeks from it.
EPOCH_MONDAY = dt.date(2000, 1, 3)
TEMPLATES = ("W", "6", "7")  # Monday-Friday, Saturday, Sunday
DAYPARTS = ((0, "night"), (6 * 60, "morning"), (10 * 60, "day"), (18 * 60, "evening"), (23 * 60, "late"))

# Profiles by channel name, first match wins; the rest are general channels.
_PROFILE_PATTERNS = (
    ("kids", r"Мульт|Карусель|Чижик|сказк|Рыжий|О!|Уникум|Мама|Нано"),
    ("news", r"\b24\b|РБК|Russia Today$|360|Вести ФМ|Известия"),
    ("sport", r"МАТЧ|Футбол|Хоккей|Спорт|Старт HD|Extreme|WFC|Живи активно"),
    ("music", r"МУЗ|RU TV|BRIDGE|Europa Plus|Music|МТВ|музыки|Радио Маяк|Радио России"),
    ("series", r"Сериал|роман|детектив|бестселлер|НТВ-Хит|Дорама|Тайна"),
    (
        "film",
        r"[Кк]ино|Cinema|Блокбастер|Мосфильм|Иллюзион|XXI|Bollywood|Scream|Star |Комедия|Приключения|"
        r"Арсенал|Black|Ретро",
    ),
    (
        "documentary",
        r"Планета|История|Наука|рыбалк|[Рр]ыболов|Охот|Загородный|Телепутешествия|Doc|Усадьба|ZOO|"
        r"Zоопарк|животные|Космический|Психология|Просвещение",
    ),
    ("shopping", r"Shopping|Leomax|Ювелирочка|Luxury"),
)

# Genre weights by daypart per profile (normalised when drawn).
_GENERAL = {
    "night": {"film": 3, "series": 3, "news": 1, "entertainment": 1, "documentary": 1, "other": 1},
    "morning": {"news": 5, "entertainment": 2, "series": 1, "kids": 1, "other": 1},
    "day": {"series": 4, "entertainment": 2.5, "news": 1.5, "documentary": 1, "film": 1},
    "evening": {"series": 3.5, "entertainment": 2.5, "news": 1.5, "film": 2, "sport": 0.5},
    "late": {"film": 4, "entertainment": 2, "series": 2, "news": 2},
}


def _mostly(main: str, rest: dict[str, float], share: float = 0.8) -> dict[str, dict[str, float]]:
    total = sum(rest.values())
    mix = {main: share, **{g: (1 - share) * w / total for g, w in rest.items()}}
    return {part: mix for _, part in DAYPARTS}


PROFILES: dict[str, dict[str, dict[str, float]]] = {
    "general": _GENERAL,
    "news": _mostly("news", {"documentary": 2, "other": 1, "sport": 0.5}, 0.85),
    "sport": _mostly("sport", {"news": 2, "documentary": 1}),
    "kids": {
        **_mostly("kids", {"entertainment": 1, "music": 1, "documentary": 1}, 0.85),
        "night": {"kids": 0.75, "music": 0.15, "other": 0.1},
    },
    "music": _mostly("music", {"entertainment": 2, "news": 0.5}, 0.85),
    "film": _mostly("film", {"series": 2, "documentary": 0.5}, 0.8),
    "series": _mostly("series", {"film": 2, "entertainment": 0.5}, 0.8),
    "documentary": _mostly("documentary", {"entertainment": 1, "film": 0.5, "news": 0.5}, 0.8),
    "shopping": _mostly("other", {"entertainment": 1}, 0.85),
}


def profile_of(name: str) -> str:
    """A channel's profile from its name (``general`` unless the name says otherwise)."""
    for profile, pattern in _PROFILE_PATTERNS:
        if re.search(pattern, name):
            return profile
    return "general"


def daypart(minute: int) -> str:
    return DAYPARTS[bisect.bisect_right(_DAYPART_STARTS, minute) - 1][1]


_DAYPART_STARTS = [start for start, _ in DAYPARTS]


def template_of(day: dt.date) -> str:
    wd = day.weekday()
    return "W" if wd < 5 else str(wd + 1)


# ----- titles ----------------------------------------------------------------------------------
_NOUNS = (
    "Тайна", "Граница", "След", "Право", "Судьба", "Притяжение", "Наследие", "Возвращение", "Рубеж", "Свидетель",
    "Обещание", "Перекрёсток", "Гроза", "Метель", "Берег", "Маяк", "Эксперимент", "Сигнал", "Лабиринт", "Код",
    "Побег", "Пароль", "Остров", "Дуэль", "Выбор", "Испытание", "Горизонт", "Ключ", "Штурм", "Зеркало", "Полёт",
    "Тишина", "Погоня", "Легенда", "Рассвет", "Фарватер", "Камертон", "Орбита", "Вираж", "Хроника",
)  # fmt: skip
_NEWS = ("Новости", "Вести", "Сегодня", "События", "Время новостей", "Итоги дня", "Утро. Новости", "Главное")
_SPORTS = ("Футбол", "Хоккей", "Баскетбол", "Волейбол", "Биатлон", "Бокс", "Теннис", "Смешанные единоборства")
_KIDS = ("Мультфильмы", "Мультсериал «{n}»", "Школа «{n}»", "Приключения «{n}»")
_SHOWS = ("Шоу «{n}»", "Ток-шоу «{n}»", "Игра «{n}»", "Вечер с {p}", "Концерт «{n}»", "Юмор. «{n}»")
_DOCS = ("Документальный фильм «{n}»", "Цикл «{n}»", "Планета {c}", "Тайны города {c}", "Путешествие в {c}")
_MUSIC = ("Хит-парад", "Музыкальный марафон", "Концерт. {f} {s}", "Клипы", "Ночной эфир", "Золотые хиты")
_OTHER = ("Телемагазин", "Погода", "Здоровье", "Кулинарный поединок", "Дачные советы", "Служба доставки «{n}»")
_SERIES = ("{n}", "{n} {g}", "Следователь {s}", "Доктор {s}", "Майор {s}", "{n}-{k}", "Город {c}", "{f} и {f2}")
_FILMS = ("{n}", "{n} {g}", "{n} {k}", "{n} над {c}", "{f}", "Операция «{n}»")


def _genitive(surname: str) -> str:
    """The genitive of a Russian male surname in -ов/-ев/-ин/-ий (else unchanged)."""
    if surname.endswith("ий"):
        return surname[:-2] + "ого"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


@lru_cache(maxsize=8)
def _names(seed: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Surnames, first names and cities of a seed (Faker ru_RU)."""
    fake = Faker("ru_RU")
    fake.seed_instance(seed ^ 0xE96)
    surnames = tuple(dict.fromkeys(fake.last_name_male() for _ in range(400)))
    first = tuple(dict.fromkeys(fake.first_name_female() if i % 2 else fake.first_name_male() for i in range(200)))
    cities = tuple(dict.fromkeys(fake.city_name() for _ in range(200)))
    return surnames, first, cities


def title(key: str, genre: str, seed: int) -> str:
    """The title drawn for ``key`` (a slot, series or broadcast): the same key always gives the same title."""
    surnames, first, cities = _names(seed)
    rnd = random.Random(key)
    s = rnd.choice(surnames)
    fields = {
        "n": rnd.choice(_NOUNS),
        "s": s,
        "g": _genitive(s),
        "p": s + ("ым" if s.endswith(("ов", "ев", "ин")) else ""),
        "f": rnd.choice(first),
        "f2": rnd.choice(first),
        "c": rnd.choice(cities),
        "k": rnd.randint(2, 3),
    }
    if genre == "news":
        return rnd.choice(_NEWS)
    if genre == "sport":
        return f"{rnd.choice(_SPORTS)}. «{rnd.choice(cities)}» — «{rnd.choice(cities)}»"
    templates = {
        "series": _SERIES,
        "film": _FILMS,
        "kids": _KIDS,
        "entertainment": _SHOWS,
        "documentary": _DOCS,
        "music": _MUSIC,
    }.get(genre, _OTHER)
    return rnd.choice(templates).format(**fields)


# ----- templates ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    start: int  # minute of the day
    length: int  # minutes
    genre: str
    season_weeks: int  # series: season length in weeks
    phase: int  # series: weeks into a season at EPOCH_MONDAY


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}{minute % 60:02d}"


@lru_cache(maxsize=64)
def _mix(profile: str, weekend: bool, part: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The genres of a profile's daypart and their cumulative weights."""
    mix = PROFILES[profile][part]
    if weekend and profile == "general":  # weekends: fewer bulletins, more films and shows
        mix = {g: w * {"news": 0.5, "film": 1.5, "entertainment": 1.3}.get(g, 1.0) for g, w in mix.items()}
    return tuple(mix), tuple(itertools.accumulate(mix.values()))


def _template(seed: int, channel_id: int, name: str, template: str) -> tuple[Slot, ...]:
    rnd = random.Random(f"template:{seed}:{channel_id}:{template}")
    profile = profile_of(name)
    slots = []
    t = 0
    while t < 1440:
        genres, cum = _mix(profile, template != "W", daypart(t))
        genre = rnd.choices(genres, cum_weights=cum)[0]
        length = min(rnd.choice(LENGTHS[genre]), 1440 - t)
        slots.append(Slot(t, length, genre, season_weeks=rnd.randint(4, 12), phase=rnd.randrange(12)))
        t += length
    return tuple(slots)


@lru_cache(maxsize=8)
def templates(seed: int) -> dict[tuple[int, str], tuple[Slot, ...]]:
    """Every channel's three templates for a seed, by (channel_id, template)."""
    rating = load_rating()
    return {
        (int(cid), tpl): _template(seed, int(cid), name, tpl)
        for cid, name in zip(rating.channel_id, rating.name, strict=True)
        for tpl in TEMPLATES
    }


# ----- a day ---------------------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def series_popularity(seed: int, series_id: str) -> float:
    """A series' popularity (mean about 1), the same for all its episodes."""
    return random.Random(f"popularity:{seed}:{series_id}").lognormvariate(-0.18, 0.6)


@dataclass(frozen=True)
class DayGuide:
    """One day's programmes of every channel, as parallel arrays (channels in rating order, then by start)."""

    seed: int
    day: dt.date
    programme_id: tuple[str, ...]
    channel_id: np.ndarray  # int64
    channel_index: np.ndarray  # 0-based place in the rating table
    start: np.ndarray  # minutes from the day's midnight
    end: np.ndarray
    genre: np.ndarray  # codes into GENRES
    popularity: np.ndarray  # the content's pull (series: per series; films: per broadcast; others 1)
    series_id: tuple[str, ...]  # '' unless a series
    episode: tuple[int | None, ...]
    title_key: tuple[str, ...]  # what the title is drawn from (the slot, the series or the broadcast)

    def __len__(self) -> int:
        return len(self.start)

    def titles(self) -> list[str]:
        return [title(k, GENRES[g], self.seed) for k, g in zip(self.title_key, self.genre.tolist(), strict=True)]

    def rows(self) -> list[tuple[Any, ...]]:
        """The day's rows in the column order of dataset ``programmes``."""
        base = dt.datetime.combine(self.day, dt.time())
        stamps = {
            m: (base + dt.timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S")
            for m in set(self.start.tolist()) | set(self.end.tolist())
        }
        out = []
        for i, name in enumerate(self.titles()):
            record = {
                "programme_id": self.programme_id[i],
                "channel_id": int(self.channel_id[i]),
                "title": name,
                "genre": GENRES[int(self.genre[i])],
                "series_id": self.series_id[i],
                "episode": "" if self.episode[i] is None else self.episode[i],
                "time_start": stamps[int(self.start[i])],
                "time_end": stamps[int(self.end[i])],
            }
            out.append(tuple(record[c] for c in PROGRAMME_COLUMNS))
        return out


@lru_cache(maxsize=16)
def day_guide(seed: int, day: dt.date) -> DayGuide:
    """The guide of ``day`` for ``seed`` (every channel of the rating table)."""
    rating = load_rating()
    tpl = template_of(day)
    all_templates = templates(seed)
    rnd = random.Random(f"day:{seed}:{day.isoformat()}")
    weeks = (day - EPOCH_MONDAY).days // 7
    ymd = day.strftime("%Y%m%d")
    pid, cids, cixs, starts, ends, genres, pops, sids, eps, keys = ([] for _ in range(10))
    for cix, cid in enumerate(rating.channel_id.tolist()):
        for slot in all_templates[(cid, tpl)]:
            popularity, sid, ep, key = 1.0, "", None, f"slot:{cid}:{tpl}:{slot.start}"
            if slot.genre == "series":
                season, week = divmod(weeks + slot.phase, slot.season_weeks)
                sid = f"{cid}-{tpl}{_hhmm(slot.start)}-{season}"
                ep = week * 5 + day.weekday() + 1 if tpl == "W" else week + 1
                popularity, key = series_popularity(seed, sid), f"series:{sid}"
            elif slot.genre in PER_BROADCAST:
                key = f"broadcast:{cid}:{ymd}:{slot.start}"
                if slot.genre == "film":
                    popularity = rnd.lognormvariate(-0.045, 0.3)
            pid.append(f"{cid}-{ymd}-{_hhmm(slot.start)}")
            cids.append(cid)
            cixs.append(cix)
            starts.append(slot.start)
            ends.append(slot.start + slot.length)
            genres.append(GENRE_CODE[slot.genre])
            pops.append(popularity)
            sids.append(sid)
            eps.append(ep)
            keys.append(key)
    return DayGuide(
        seed=seed,
        day=day,
        programme_id=tuple(pid),
        channel_id=np.array(cids, dtype=np.int64),
        channel_index=np.array(cixs, dtype=np.int64),
        start=np.array(starts, dtype=np.int64),
        end=np.array(ends, dtype=np.int64),
        genre=np.array(genres, dtype=np.int64),
        popularity=np.array(pops),
        series_id=tuple(sids),
        episode=tuple(eps),
        title_key=tuple(f"{seed}:{k}" for k in keys),
    )


def file_name(day: dt.date) -> str:
    """The guide file of a day inside its dt=YYYY-MM-DD directory."""
    return f"epg-{day.isoformat()}.csv"
