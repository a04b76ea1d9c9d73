"""The one renderer of the project's SQL files: ``hive/**/*.sql`` (Hive) and ``greenplum/**/*.sql`` (PostgreSQL,
or Greenplum with config ``postgres.dialect: greenplum``).

One convention, the same in every file:

- ``{{ name }}`` is a placeholder for one whole SQL token. Its value comes from the code (dates, names) or the
  config (database, schema, roles, HDFS locations), and its Python type says how it is written:

  - :class:`Ident`: an identifier (database, schema, table, role), always quoted -- in double quotes on
    PostgreSQL/Greenplum, in backquotes on Hive;
  - :class:`Raw`: an SQL fragment the code built, inserted as it is;
  - anything else: a literal -- ``str`` quoted and escaped for the dialect, ``datetime.date`` as its quoted ISO
    date, ``int`` / ``Decimal`` as a number, ``bool``, ``None`` as NULL.

  So a file never puts quotes around a placeholder: ``WHERE dt = {{ dt }}`` renders ``WHERE dt = '2026-03-02'``
  and ``LOCATION {{ sessions_location }}`` the quoted URI. A placeholder inside a quoted string, one that has no
  value, or any other ``{{`` is an error.
- ``/*@greenplum ... */`` is the dialect switch: replaced by its content on Greenplum, dropped elsewhere, so a
  file of ``greenplum/`` is plain PostgreSQL with the Greenplum clauses (``DISTRIBUTED BY``, storage) in
  markers.
- Comments are removed before the placeholders are filled, so a comment may name a placeholder freely.

There are no driver-bound parameters (``%(x)s``, ``${x}`` or psql variables): every value is a date, a number
or a name from the code or the config, never user input, and writing it into the text the same way for Hive
and PostgreSQL is what lets one convention serve both (HiveServer2 has no bound parameters at all). Literals are
still quoted and escaped properly. ``greenplum/roles.sql`` is the exception: a psql script of the local stack
(``\\gexec``, ``\\connect``, passwords as psql variables on stdin), run by psql and never by this module.

:func:`render` fills a text, :func:`render_file` a file, :func:`split_statements` cuts rendered text into
statements (HiveServer2 takes one statement per call; psycopg2 takes a whole file at once).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

#: ``hive`` for HiveServer2 / Spark Thrift Server; ``postgres`` and ``greenplum`` for the warehouse.
DIALECTS = ("hive", "postgres", "greenplum")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SWITCH = re.compile(r"/\*@greenplum\s")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_]")


@dataclass(frozen=True)
class Ident:
    """A value written as a quoted identifier (a database, schema, table or role name)."""

    name: str


@dataclass(frozen=True)
class Raw:
    """A value written as it is: an SQL fragment built by the code, never data."""

    sql: str


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}: use one of {', '.join(DIALECTS)}")


def quote_ident(name: str, dialect: str) -> str:
    """``name`` as a quoted identifier of ``dialect``."""
    _check_dialect(dialect)
    if not name or "\x00" in name:
        raise ValueError(f"bad identifier {name!r}")
    q = "`" if dialect == "hive" else '"'
    return q + name.replace(q, q + q) + q


def quote_literal(value: Any, dialect: str) -> str:
    """``value`` as an SQL literal of ``dialect`` (see the module doc for the types)."""
    _check_dialect(dialect)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        value = value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise TypeError(f"no SQL literal for a {type(value).__name__}: {value!r}")
    if "\x00" in value:
        raise ValueError("an SQL literal cannot hold a NUL character")
    if dialect == "hive":  # Hive and Spark SQL: backslash escapes, no doubled quotes
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    text = "'" + value.replace("'", "''") + "'"
    # With a backslash, an escape string whatever standard_conforming_strings says.
    return "E" + text.replace("\\", "\\\\") if "\\" in value else text


def _value(name: str, values: Mapping[str, Any], dialect: str) -> str:
    if name not in values:
        known = ", ".join(sorted(values)) or "none"
        raise KeyError(f"SQL placeholder {{{{ {name} }}}} has no value (known: {known})")
    value = values[name]
    if isinstance(value, Ident):
        return quote_ident(value.name, dialect)
    if isinstance(value, Raw):
        return value.sql
    return quote_literal(value, dialect)


# ------------------------------------------------------------------------------------------ scanning


def _pieces(text: str, dialect: str) -> Iterator[tuple[str, str]]:
    """Cut SQL text into ``(kind, text)``: ``code``; ``quoted`` (a string literal or quoted identifier, quotes
    included); ``line_comment`` / ``block_comment``; ``switch`` (the content of ``/*@greenplum ... */``);
    ``dollar`` (a PostgreSQL ``$tag$ ... $tag$`` body, tags included)."""
    hive = dialect == "hive"
    i, n, start = 0, len(text), 0
    while i < n:
        c = text[i]
        kind = None
        if c in "'\"" or (c == "`" and hive):
            # Hive: '...' and "..." are strings with backslash escapes, `...` identifiers. PostgreSQL: '...'
            # strings ('' inside; backslash escapes in E'...'), "..." identifiers ("" inside).
            escapes = hive and c != "`"
            if not hive and c == "'" and i > 0 and text[i - 1] in "eE":
                escapes = i < 2 or not _WORD_CHAR.match(text[i - 2])
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            end, kind = min(j + 1, n), "quoted"
        elif text.startswith("--", i):
            j = text.find("\n", i)
            end, kind = (n if j < 0 else j), "line_comment"
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            end = n if j < 0 else j + 2
            kind = "switch" if _SWITCH.match(text, i) else "block_comment"
        elif c == "$" and not hive and (i == 0 or not _WORD_CHAR.match(text[i - 1])):
            m = _DOLLAR.match(text, i)
            if m:
                j = text.find(m.group(0), m.end())
                end, kind = (n if j < 0 else j + len(m.group(0))), "dollar"
        if kind is None:
            i += 1
            continue
        if start < i:
            yield "code", text[start:i]
        piece = text[i:end]
        if kind == "switch":
            piece = piece[len("/*@greenplum") : -2 if piece.endswith("*/") else None]
        yield kind, piece
        i = start = end
    if start < n:
        yield "code", text[start:]


def _fill(code: str, values: Mapping[str, Any], dialect: str) -> str:
    out = _PLACEHOLDER.sub(lambda m: _value(m.group(1), values, dialect), code)
    if "{{" in _PLACEHOLDER.sub("", code):
        bad = code[code.index("{{") :].split("\n", 1)[0]
        raise ValueError(f"malformed SQL placeholder near {bad!r}: use {{{{ name }}}}")
    return out


def _render(text: str, dialect: str, values: Mapping[str, Any]) -> str:
    out: list[str] = []
    for kind, piece in _pieces(text, dialect):
        if kind == "code":
            out.append(_fill(piece, values, dialect))
        elif kind == "quoted":
            if "{{" in piece:
                raise ValueError(f"SQL placeholder inside quotes {piece[:60]!r}: placeholders are whole tokens")
            out.append(piece)
        elif kind == "block_comment":
            out.append(" ")
        elif kind == "switch":
            out.append(_render(piece, dialect, values).strip() if dialect == "greenplum" else "")
        elif kind == "dollar":  # a function or DO body: code, rendered like the rest
            tag = _DOLLAR.match(piece).group(0)  # type: ignore[union-attr]
            body = piece[len(tag) : -len(tag)] if len(piece) >= 2 * len(tag) else piece[len(tag) :]
            out.append(tag + _render(body, dialect, values) + tag)
        # line comments vanish (their line end is code and stays)
    return "".join(out)


def render(text: str, dialect: str, values: Mapping[str, Any] | None = None) -> str:
    """``text`` rendered for ``dialect``: comments removed, the Greenplum switch applied, every ``{{ name }}``
    replaced by ``values[name]`` written as its type says (see the module doc). Values no placeholder uses are
    ignored."""
    _check_dialect(dialect)
    return _render(text, dialect, values or {})


def render_file(path: str | Path, dialect: str, values: Mapping[str, Any] | None = None) -> str:
    """The .sql file at ``path`` rendered with :func:`render`."""
    return render(Path(path).read_text(encoding="utf-8"), dialect, values)


def split_statements(sql: str, dialect: str) -> list[str]:
    """The statements of SQL text: cut at every ``;`` outside quotes, comments and dollar-quoted bodies;
    empty statements dropped, each stripped, without its ``;``."""
    _check_dialect(dialect)
    statements: list[str] = []
    buf: list[str] = []
    for kind, piece in _pieces(sql, dialect):
        if kind != "code":
            buf.append(piece if kind in ("quoted", "dollar") else (" " if kind == "block_comment" else ""))
            continue
        parts = piece.split(";")
        for part in parts[:-1]:
            buf.append(part)
            statements.append("".join(buf))
            buf = []
        buf.append(parts[-1])
    statements.append("".join(buf))
    return [s.strip() for s in statements if s.strip()]


def file_statements(path: str | Path, dialect: str, values: Mapping[str, Any] | None = None) -> list[str]:
    """The statements of the .sql file at ``path``, rendered (:func:`render_file`, :func:`split_statements`)."""
    return split_statements(render_file(path, dialect, values), dialect)
