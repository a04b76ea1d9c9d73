"""HiveServer2 access (PyHive) and running a ``hive/*.sql`` file on it (rendered by :mod:`iptv.sql`).

``connect(cfg)`` reads ``hive.host``, ``hive.port``, ``hive.username``, ``hive.auth`` (NONE, NOSASL, LDAP, CUSTOM,
KERBEROS) and ``hive.database``; the same code talks to the local Spark Thrift Server and a real HiveServer2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyhive import hive

from iptv import sql
from iptv.config import Config, ConfigError


def connect(cfg: Config, *, database: str | None = None, timeout: float | None = None) -> hive.Connection:
    """A PyHive connection to the configured HiveServer2. ``timeout`` (seconds) bounds every socket read,
    which suits probes; leave it None for long queries."""
    h = cfg.hive
    host, port = h.host, h.port
    auth = h.auth.upper()
    username = h.username
    database = database or h.database
    password = h.password
    if timeout is None or auth not in ("NONE", "NOSASL"):
        kwargs: dict[str, Any] = {}
        if auth == "KERBEROS":
            if not h.kerberos_service_name:
                raise ConfigError("config hive.kerberos_service_name is not set (needed by hive.auth KERBEROS)")
            kwargs["kerberos_service_name"] = h.kerberos_service_name
        return hive.Connection(
            host=host, port=port, username=username, auth=auth, database=database, password=password, **kwargs
        )
    import thrift.transport.TSocket
    import thrift.transport.TTransport
    import thrift_sasl

    sock = thrift.transport.TSocket.TSocket(host, port)
    sock.setTimeout(int(timeout * 1000))
    if auth == "NOSASL":
        transport = thrift.transport.TTransport.TBufferedTransport(sock)
    else:  # NONE: SASL PLAIN, any non-empty password
        transport = thrift_sasl.TSaslClientTransport(
            lambda: hive.get_installed_sasl(host=host, sasl_auth="PLAIN", username=username, password="x"),  # noqa: S106 - HS2 NONE ignores it
            "PLAIN",
            sock,
        )
    return hive.Connection(thrift_transport=transport, username=username, database=database)


def run_sql_file(cursor: Any, path: str | Path, values: Mapping[str, Any] | None = None) -> list[list[tuple] | None]:
    """Execute every statement of a .sql file in order, its ``{{ name }}`` placeholders filled from ``values``
    (:func:`iptv.sql.render`, Hive dialect); per statement its result rows (None, or [] on Spark, for statements
    without a result set)."""
    results: list[list[tuple] | None] = []
    for stmt in sql.file_statements(path, "hive", values):
        cursor.execute(stmt)
        results.append(cursor.fetchall() if cursor.description else None)
    return results
