"""The warehouse as pandas sees it: SQLAlchemy engines for the configured roles and ``greenplum/analytics/*.sql``
read into DataFrames.

Endpoints, role names and the credentials file come from the ``postgres`` section of the config (as for
:mod:`iptv.db`); the SQL files are rendered by :class:`iptv.warehouse.schema.Warehouse`, so ``{{ schema }}`` and
the dialect switch mean what they mean everywhere in ``greenplum/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from iptv.config import Config, ConfigError, read_credentials, state_dir
from iptv.db import Role, role_name
from iptv.warehouse.schema import DEFAULT_SCHEMA, Warehouse

log = logging.getLogger(__name__)

#: Where the analytics' queries live, relative to ``greenplum/``.
SQL_SUBDIR = "analytics"


def engine(cfg: Config, role: Role = "reader") -> sa.Engine:
    """A SQLAlchemy engine (psycopg2) on ``postgres.database`` as the configured ``role``."""
    pg = cfg.postgres
    user = role_name(cfg, role)
    creds = read_credentials(pg.credentials_file)
    if user not in creds:
        raise ConfigError(f"no password for role {user} in {pg.credentials_file}")
    url = sa.URL.create(
        "postgresql+psycopg2", username=user, password=creds[user], host=pg.host, port=pg.port, database=pg.database
    )
    return sa.create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": 10, "application_name": "iptv-analytics"}
    )


class WarehouseReader:
    """Runs ``greenplum/analytics/<name>.sql`` against one warehouse schema and returns DataFrames."""

    def __init__(self, cfg: Config, schema: str = DEFAULT_SCHEMA, role: Role = "reader") -> None:
        self.cfg = cfg
        self.warehouse = Warehouse(cfg, schema)
        self.engine = engine(cfg, role)

    def sql(self, name: str, **values: Any) -> str:
        """The text of ``greenplum/analytics/<name>.sql`` rendered with ``values`` (dates, numbers, names)."""
        return self.warehouse.sql(f"{SQL_SUBDIR}/{name}.sql", **values)

    def frame(self, name: str, **values: Any) -> pd.DataFrame:
        """The rows of ``greenplum/analytics/<name>.sql`` as a DataFrame."""
        with self.engine.connect() as conn:
            return pd.read_sql_query(sa.text(self.sql(name, **values)), conn)

    def close(self) -> None:
        self.engine.dispose()


def add_history_arguments(p: argparse.ArgumentParser, table: str) -> None:
    """The options of a command that reads a history of days and writes ``table``."""
    p.add_argument("--days", type=int, default=35, help="days of history read (default %(default)s)")
    p.add_argument(
        "--until", type=dt.date.fromisoformat, default=None,
        help="last day of the history (default: the newest date with sessions before today)",
    )  # fmt: skip
    p.add_argument("--schema", default=DEFAULT_SCHEMA, help="warehouse schema (default %(default)s)")
    p.add_argument("--out", type=Path, help="directory of the JSON/CSV results (default: <state dir>/analytics)")
    p.add_argument("--fast", action="store_true", help="small models (tests)")
    p.add_argument("--no-write", action="store_true", help=f"do not write {table}")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def results_dir(args: argparse.Namespace, cfg: Config) -> Path:
    """The directory of a command's JSON/CSV results: ``--out``, else ``<state dir>/analytics`` (created)."""
    out = args.out or state_dir(cfg) / "analytics"
    out.mkdir(parents=True, exist_ok=True)
    return out


def history_end(newest: dt.date | None, today: dt.date) -> dt.date | None:
    """The last complete day: the newest date with sessions, but never today (still being viewed)."""
    if newest is None:
        return None
    return min(newest, today - dt.timedelta(days=1))


def history_until(reader: WarehouseReader, until: dt.date | None) -> dt.date | None:
    """``until`` if given, else :func:`history_end` of the warehouse's newest session date (None: no sessions)."""
    if until is not None:
        return until
    newest = reader.frame("last_date")["dt"].iloc[0]
    return history_end(None if pd.isna(newest) else newest, dt.date.today())


def read_history(
    cfg: Config, args: argparse.Namespace, history: Sequence[str], whole: Sequence[str] = ()
) -> tuple[dt.date | None, dict[str, pd.DataFrame]]:
    """For a command of :func:`add_history_arguments`: the history's last day (:func:`history_until` of
    ``--until``) and, by name, the rows of ``greenplum/analytics/<name>.sql`` — those of ``history`` over the
    ``--days`` days up to it, those of ``whole`` entire — read in one session as the read-only role.
    ``(None, {})`` when fact_session is empty."""
    reader = WarehouseReader(cfg, args.schema)
    try:
        until = history_until(reader, args.until)
        if until is None:
            return None, {}
        frames = {name: reader.frame(name, until=until, days=args.days) for name in history}
        frames.update({name: reader.frame(name) for name in whole})
        return until, frames
    finally:
        reader.close()


def replace_rows(cfg: Config, schema: str, table: str, clear_sql: str, rows: pd.DataFrame) -> None:
    """Run greenplum/analytics/<clear_sql>.sql and insert ``rows`` into ``table``, one transaction, as the
    loader role."""
    writer = WarehouseReader(cfg, schema, role="loader")
    try:
        with writer.engine.begin() as conn:
            conn.execute(sa.text(writer.sql(clear_sql)))
            rows.to_sql(table, conn, schema=writer.warehouse.schema, if_exists="append", index=False,
                        method="multi", chunksize=2000)  # fmt: skip
    finally:
        writer.close()
    log.info("%s: %d rows written", table, len(rows))
