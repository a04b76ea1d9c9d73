"""Connections to the warehouse database (Greenplum on a cluster, PostgreSQL 15 locally).

Endpoint and role names come from the ``postgres`` section of the config; passwords from the generated
JSON credentials file it names (``postgres.credentials_file``).
"""

from __future__ import annotations

from typing import Any, Literal

import psycopg2
import psycopg2.extensions

from iptv.config import Config, ConfigError, get_config, read_credentials

Role = Literal["loader", "reader", "admin"]


def role_name(cfg: Config, role: Role) -> str:
    """The database role configured for ``role`` (loader, reader or admin)."""
    pg = cfg.postgres
    names = {"loader": pg.loader_user, "reader": pg.reader_user, "admin": pg.admin_user}
    if role not in names:
        raise ConfigError(f"unknown database role {role!r}: use loader, reader or admin")
    return names[role]


def connect(
    cfg: Config | None = None,
    role: Role = "loader",
    *,
    dbname: str | None = None,
    connect_timeout: int = 10,
    **kwargs: Any,
) -> psycopg2.extensions.connection:
    """A psycopg2 connection to ``postgres.database`` (or ``dbname``) as the configured ``role``."""
    cfg = cfg or get_config()
    pg = cfg.postgres
    user = role_name(cfg, role)
    creds = read_credentials(pg.credentials_file)
    if user not in creds:
        raise ConfigError(f"no password for role {user} in {pg.credentials_file}")
    return psycopg2.connect(
        host=pg.host,
        port=pg.port,
        dbname=dbname or pg.database,
        user=user,
        password=creds[user],
        connect_timeout=connect_timeout,
        application_name=kwargs.pop("application_name", "iptv"),
        **kwargs,
    )
