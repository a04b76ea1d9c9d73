"""HiveServer2 access (PyHive) and running the project's ``hive/*.sql`` files.

``connect(cfg)`` reads ``hive.host``, ``hive.port``, ``hive.username``, ``hive.auth`` (NONE, NOSASL, LDAP, CUSTOM,
KERBEROS) and ``hive.database``; the same code talks to the local Spark Thrift Server and a real HiveServer2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pyhive import hive

_VAR = re.compile(r"\$\{(?:hivevar:)?([A-Za-z_][A-Za-z0-9_.]*)\}")


def connect(cfg: dict[str, Any], *, database: str | None = None, timeout: float | None = None) -> hive.Connection:
    """A PyHive connection to the configured HiveServer2. ``timeout`` (seconds) bounds every socket read,
    which suits probes; leave it None for long queries."""
    h = cfg["hive"]
    host, port = str(h.get("host", "127.0.0.1")), int(h.get("port", 10000))
    auth = str(h.get("auth", "NONE")).upper()
    username = h.get("username")
    database = database or h.get("database", "default")
    password = h.get("password")
    if timeout is None or auth not in ("NONE", "NOSASL"):
        kwargs: dict[str, Any] = {"kerberos_service_name": h["kerberos_service_name"]} if auth == "KERBEROS" else {}
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


def strip_comments(sql: str) -> str:
    """Remove ``-- ...`` line comments and ``/* ... */`` block comments that are outside quotes."""
    out: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    while i < n:
        c = sql[i]
        if quote:
            out.append(c)
            if c == "\\" and quote != "`" and i + 1 < n:
                out.append(sql[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
        elif c in ("'", '"', "`"):
            quote = c
            out.append(c)
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements: comments stripped, ``;`` outside quotes ends a statement."""
    text = strip_comments(sql)
    statements: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            buf.append(c)
            if c == "\\" and quote != "`" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in ("'", '"', "`"):
            quote = c
            buf.append(c)
        elif c == ";":
            statements.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    statements.append("".join(buf))
    return [s.strip() for s in statements if s.strip()]


def substitute(sql: str, params: dict[str, Any] | None) -> str:
    """Replace ``${name}`` / ``${hivevar:name}`` with ``params[name]``; an unknown name is an error."""
    params = params or {}

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in params:
            raise KeyError(f"SQL variable ${{{key}}} has no value (known: {', '.join(sorted(params)) or 'none'})")
        return str(params[key])

    return _VAR.sub(repl, sql)


def run_sql_file(cursor: Any, path: str | Path, params: dict[str, Any] | None = None) -> list[list[tuple] | None]:
    """Execute every statement of a .sql file in order; per statement its result rows (None, or [] on Spark,
    for statements without a result set)."""
    text = Path(path).read_text(encoding="utf-8")
    results: list[list[tuple] | None] = []
    for stmt in split_statements(text):
        cursor.execute(substitute(stmt, params))
        results.append(cursor.fetchall() if cursor.description else None)
    return results
