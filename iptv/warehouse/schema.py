"""The warehouse schema as the loader sees it: table names, the dialect, and the rendering of ``greenplum/*.sql``.

:class:`Warehouse` takes what the SQL files need from the config once (``postgres.dialect``, the role names)
plus the target schema (``iptv_dw``; tests use throw-away ones) and renders a file with :mod:`iptv.sql`. Every
file gets these values, and the caller adds its own (``dt``, ``table``):

- ``schema``: the schema, an identifier (``{{ schema }}.fact_session``); ``schema_name``: the same as a literal;
- ``reader_user``, ``loader_user``: the roles of ``postgres.reader_user`` / ``postgres.loader_user``,
  identifiers;
- ``<dataset>_staging_columns``: one TEXT column per column of a dataset's files, from the dataset definition
  (:meth:`iptv.datasets.Dataset.staging_columns`), for the staging tables of ``load/``;
- ``<dataset>_typed_columns``: the same columns with their types (:meth:`iptv.datasets.Dataset.typed_staging_columns`),
  for the typed staging table of the sessions' canonical records;
- ``reach_min_seconds``: config ``marts.reach_min_seconds``, a number (the reach threshold of mart_programme).
"""

from __future__ import annotations

import re
from typing import Any

from iptv.config import REPO_ROOT, Config, ConfigError
from iptv.datasets import DATASETS
from iptv.sql import Ident, Raw, render_file

SQL_DIR = REPO_ROOT / "greenplum"
DEFAULT_SCHEMA = "iptv_dw"
DIALECTS = ("postgres", "greenplum")
#: Per-date marts of the sessions alone (greenplum/marts/<name>.sql writes mart_<name>).
SESSION_MARTS = ("daily", "channel_daily", "hourly", "duration_hist")
#: Per-date marts of the sessions joined to the programme guide (dim_programme): a date has rows when it has a guide.
PROGRAMME_MARTS = ("programme", "genre_hourly")
#: Every per-date mart, recomputed in this order for every date a load touches.
DATE_MARTS = (*SESSION_MARTS, *PROGRAMME_MARTS)
MART_TABLES = (
    "mart_daily",
    "mart_channel_daily",
    "mart_hourly",
    "mart_weekday_hour",
    "mart_duration_hist",
    "mart_programme",
    "mart_genre_hourly",
)
#: The loader's quarantine: rejected rows of the sessions and of the guide (column dataset), replaced per dt and
#: dataset (greenplum/load/clear_sessions.sql + insert_sessions.sql, replace_programme_rejects.sql).
REJECTS_TABLE = "load_rejects"
#: The viewers (and users' seconds of each programme) the per-date marts counted, so that adding sessions counts
#: only new ones (greenplum/marts/*.sql).
MART_VIEWER_TABLES = (
    "viewer_daily", "viewer_hour_mask", "viewer_channel_set", "viewer_genre_hourly", "watch_programme_user",
)  # fmt: skip
#: The ledger of the lake files whose rows the warehouse holds (iptv/warehouse/ledger.py).
LEDGER_TABLE = "loaded_file"
#: The lake's quarantine counted per dt and reason, replaced per dt by the lake sync
#: (greenplum/load/replace_quarantine.sql).
QUARANTINE_TABLE = "quarantine_daily"
#: Written by the analytics (python -m analytics forecast / score), replaced per run.
ANALYTICS_TABLES = ("forecast_hourly", "subscriber_scores")
#: The last reconciliation's figures and gaps (scripts/reconcile.py --store), replaced per run.
RECONCILE_TABLE = "reconcile_results"
TABLES = (
    "dim_channel", "dim_user", "dim_programme", "fact_session", *MART_TABLES, *MART_VIEWER_TABLES, REJECTS_TABLE,
    LEDGER_TABLE, QUARANTINE_TABLE, *ANALYTICS_TABLES, RECONCILE_TABLE,
)  # fmt: skip

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(name: str) -> str:
    """``name`` if it is a schema name the SQL may write unquoted (lower case, digits, '_'); ValueError if not."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"bad schema name {name!r}")
    return name


def dialect_of(cfg: Config) -> str:
    """Config ``postgres.dialect``: ``postgres`` (default) or ``greenplum``."""
    dialect = cfg.postgres.dialect.lower()
    if dialect not in DIALECTS:
        raise ConfigError(f"postgres.dialect is {dialect!r}: use one of {', '.join(DIALECTS)}")
    return dialect


def reach_min_seconds(cfg: Config) -> int:
    """Config ``marts.reach_min_seconds``: a whole number of seconds, 0 or more."""
    value = cfg.marts.reach_min_seconds
    if value < 0:
        raise ConfigError(f"marts.reach_min_seconds is {value}: use 0 or more seconds")
    return value


class Warehouse:
    """The rendering context of one warehouse: dialect and role names from the config, and the target schema."""

    def __init__(self, cfg: Config, schema: str = DEFAULT_SCHEMA) -> None:
        self.schema = check_schema_name(schema)
        self.dialect = dialect_of(cfg)
        self.roles = {"reader_user": cfg.postgres.reader_user, "loader_user": cfg.postgres.loader_user}
        self.reach_min_seconds = reach_min_seconds(cfg)

    def values(self, **more: Any) -> dict[str, Any]:
        """The placeholder values of every greenplum/*.sql file, plus ``more``."""
        out: dict[str, Any] = {
            "schema": Ident(self.schema),
            "schema_name": self.schema,
            "reach_min_seconds": self.reach_min_seconds,
        }
        out.update({f"{name}_staging_columns": Raw(ds.staging_columns()) for name, ds in DATASETS.items()})
        out.update({f"{name}_typed_columns": Raw(ds.typed_staging_columns()) for name, ds in DATASETS.items()})
        for key, role in self.roles.items():
            out[key] = Ident(role)
        return {**out, **more}

    def sql(self, name: str, **values: Any) -> str:
        """``greenplum/<name>`` rendered for this warehouse, with the file's own ``values`` (e.g. ``dt``)."""
        return render_file(SQL_DIR / name, self.dialect, self.values(**values))

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"
