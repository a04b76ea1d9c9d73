"""The project's Hive database (config ``hive.database``, ``iptv``): the tables over the lake, the views, the date
partitions and the marts, from the ``hive/*.sql`` files.

:class:`HiveTables` takes what those files need from the config once -- the database name and the full URI of
every table's HDFS directory (``hdfs.default_fs`` + ``hdfs.paths``) -- and gives each file its placeholder
values (:meth:`HiveTables.values`, rendered by :mod:`iptv.sql`):

- ``database``: the database, an identifier;
- ``sessions``: where the marts read the sessions, ``<database>.v_sessions`` (or the cache, below);
- ``<table>_location`` for viewing_events, sessions, quarantine, channels, users, programmes: its directory, a
  literal;
- ``<table>_columns`` for the same tables: its column list from the dataset definition (:mod:`iptv.datasets`),
  a :class:`~iptv.sql.Raw` fragment ``name TYPE, ...``, so that no .sql file spells a dataset's columns;
- ``reach_min_seconds``: config ``marts.reach_min_seconds`` (the reach threshold of ``v_programme_audience``);
- with a date: ``dt`` and ``min_dt`` = dt - 1 day (the earliest start date of a session that may still run into
  dt; sessions last under 6 h), and ``<table>_partition``, the dt= directory of each partitioned table.

The marts are the Greenplum marts under the same names (``mart_daily``, ``mart_channel_daily``, ``mart_hourly``,
``mart_duration_hist``), partitioned by dt: ``hive/marts/tables.sql`` creates them and ``hive/marts/<name>.sql``
recomputes one date of one mart (INSERT OVERWRITE of its partition) from ``{{ sessions }}``: v_sessions, or, when
several marts or dates are recomputed together, the sessions of those dates parsed from the lake's CSV once and
cached in Spark for all of them (``hive/marts/cache_sessions.sql``, :meth:`HiveTables.recompute_marts`). The
programme audience is a view (``v_programme_audience``, ``hive/views.sql``) over the guide's table ``programmes``
and the sessions, so a new or corrected guide needs only its partition registered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iptv.config import REPO_ROOT, Config
from iptv.datasets import DATASETS, PARTITIONED
from iptv.sql import Ident, Raw, file_statements, quote_ident
from iptv.warehouse.schema import reach_min_seconds

HIVE_DIR = REPO_ROOT / "hive"
#: The per-date marts: hive/marts/<name>.sql writes table mart_<name> (as greenplum/marts/<name>.sql does).
MARTS = ("daily", "channel_daily", "hourly", "duration_hist")
MART_TABLES = {name: f"mart_{name}" for name in MARTS}
#: Tables over the lake: one per dataset, under its name (PARTITIONED: those with dt= partitions).
LAKE_TABLES = tuple(DATASETS)
#: hive/*.sql files that create the database's objects, in order (idempotent).
SETUP_FILES = ("create_tables.sql", "views.sql", "marts/tables.sql")
LOOKBACK_DAYS = 1
#: The temporary view (one per connection) of the sessions the marts of one recompute read, cached once.
SESSIONS_CACHE = "mart_sessions"


def _day(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


@dataclass(frozen=True)
class HiveTables:
    """The Hive database of one configuration and the values of its SQL files."""

    database: str
    locations: Mapping[str, str]  # table -> full URI of its directory
    reach_min_seconds: int = 60  # config marts.reach_min_seconds

    @classmethod
    def from_config(cls, cfg: Config) -> HiveTables:
        base = cfg.hdfs.default_fs.rstrip("/")
        paths = cfg.hdfs.paths.as_dict()
        locations = {table: base + DATASETS[table].directory(paths) for table in LAKE_TABLES}
        return cls(cfg.hive.database, locations, reach_min_seconds(cfg))

    def values(self, day: str | dt.date | None = None, lookback_days: int = LOOKBACK_DAYS) -> dict[str, Any]:
        """The placeholder values of the hive/*.sql files (see the module doc); the date ones only with ``day``."""
        out: dict[str, Any] = {
            "database": Ident(self.database),
            "reach_min_seconds": self.reach_min_seconds,
            "sessions": Raw(f"{quote_ident(self.database, 'hive')}.v_sessions"),
        }
        out.update({f"{table}_location": uri for table, uri in self.locations.items()})
        out.update(column_values())
        if day is not None:
            d = _day(day)
            out["dt"] = d
            out["min_dt"] = d - dt.timedelta(days=lookback_days)
            out.update({f"{t}_partition": f"{self.locations[t]}/dt={d.isoformat()}" for t in PARTITIONED})
        return out

    def statements(self, name: str, day: str | dt.date | None = None) -> list[str]:
        """The rendered statements of ``hive/<name>``."""
        return file_statements(HIVE_DIR / name, "hive", self.values(day))

    def mart_statement(self, mart: str, day: str | dt.date, sessions: str | None = None) -> str:
        """The INSERT OVERWRITE of partition ``day`` of mart ``mart`` (hive/marts/<mart>.sql), reading the
        sessions from v_sessions, or from the temporary view ``sessions`` (:data:`SESSIONS_CACHE`)."""
        (stmt,) = file_statements(HIVE_DIR / "marts" / f"{mart}.sql", "hive", self._mart_values(day, sessions))
        return stmt

    def _mart_values(self, day: str | dt.date, sessions: str | None) -> dict[str, Any]:
        values = self.values(day)
        if sessions:
            values["sessions"] = Ident(sessions)
        return values

    def prepare(self, cursor: Any) -> None:
        """Create the database, its tables over the lake, views and mart tables (idempotent)."""
        for name in SETUP_FILES:
            _run(cursor, self.statements(name))

    def register(self, cursor: Any, day: dt.date) -> None:
        """Register the partitions of ``day`` of the partitioned tables (idempotent)."""
        _run(cursor, self.statements("register_partitions.sql", day))

    def recompute_marts(self, cursor: Any, days: Iterable[dt.date], marts: Iterable[str] = MARTS) -> None:
        """Recompute the partition of each of ``days`` of each mart of ``marts`` (INSERT OVERWRITE). When more than
        one statement reads them, the sessions of those dates are parsed from the lake once and cached for the
        statements (hive/marts/cache_sessions.sql), then freed, also after a failure."""
        days, marts = sorted(set(days)), list(marts)
        if len(days) * len(marts) <= 1:
            for day in days:
                for mart in marts:
                    cursor.execute(self.mart_statement(mart, day))
            return
        window = self._mart_values(days[0], SESSIONS_CACHE)
        window.update(first_dt=days[0], last_dt=days[-1])
        uncache = file_statements(HIVE_DIR / "marts" / "uncache_sessions.sql", "hive", window)
        try:
            _run(cursor, file_statements(HIVE_DIR / "marts" / "cache_sessions.sql", "hive", window))
            for day in days:
                for mart in marts:
                    cursor.execute(self.mart_statement(mart, day, SESSIONS_CACHE))
        except BaseException:
            with contextlib.suppress(Exception):  # the connection may be gone with the failure: it frees it then
                _run(cursor, uncache)
            raise
        _run(cursor, uncache)


def column_values() -> dict[str, Raw]:
    """``<table>_columns`` of every table over the lake: its Hive column list
    (:meth:`iptv.datasets.Dataset.hive_columns`)."""
    return {f"{table}_columns": Raw(DATASETS[table].hive_columns()) for table in LAKE_TABLES}


def _run(cursor: Any, statements: Iterable[str]) -> None:
    for stmt in statements:
        cursor.execute(stmt)
        if cursor.description:
            cursor.fetchall()


def sql_values(cfg: Config, day: str | dt.date | None = None) -> dict[str, Any]:
    """The placeholder values of the hive/*.sql files for ``cfg`` (and ``day``): :meth:`HiveTables.values`."""
    return HiveTables.from_config(cfg).values(day)
