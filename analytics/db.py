"""The warehouse as pandas sees it: SQLAlchemy engines for the configured roles and ``greenplum/analytics/*.sql``
read into DataFrames.

Endpoints, role names and the credentials file come from the ``postgres`` section of the config (as for
:mod:`iptv.db`); the SQL files are rendered by :class:`iptv.warehouse.schema.Warehouse`, so ``{{ schema }}`` and
the dialect switch mean what they mean everywhere in ``greenplum/``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from iptv.config import Config, ConfigError, read_credentials
from iptv.db import Role, role_name
from iptv.warehouse.schema import DEFAULT_SCHEMA, Warehouse

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
