"""Staging: the records of the input files streamed into the all-TEXT staging tables with ``COPY ... FROM STDIN``
(``greenplum/load/copy_stage.sql``), without holding a second copy of the data in memory.

Sessions, the programme guide and the quarantine: every record lands in ``stg_session_raw`` / ``stg_programme_raw``
/ ``stg_quarantine_raw`` whatever its content (file, line, field count, raw text and the fields), so COPY never
fails on the data; the SQL checks come after (``load/validate_sessions.sql``, ``load/validate_programmes.sql``,
``load/replace_quarantine.sql``). A dataset written with escaped line breaks (the quarantine) is split one record
per physical line, as Hive reads it.
A sessions record in the canonical form the pipeline writes (:class:`CanonicalSessionRecord`: every field of the
shape its check wants, every timestamp a real date and time) lands typed in ``stg_session_typed`` instead (file,
line and the fields, without its raw text, which the fields rebuild exactly): COPY casts it in C, so neither the
text table's extra copy of it nor the row-by-row text checks cost anything for the millions of such records of a
day; only the checks between fields (date, order, duration, duplicates) are left for them.
Catalogs: the records with the contract's number of fields land in ``stg_channel`` / ``stg_user``; the others
are counted and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iptv.datasets import CHANNELS, PROGRAMMES, QUARANTINE, SESSIONS, USERS
from iptv.sql import Ident
from iptv.warehouse.schema import Warehouse
from iptv.warehouse.sources import Source, csv_records

log = logging.getLogger(__name__)

#: Fields of a sessions record (dataset ``sessions`` of schemas/datasets.json, files ``sessions/dt=<date>/``).
SESSION_FIELDS = SESSIONS.column_names
#: Fields of a guide record (dataset ``programmes``, files ``catalogs/epg/dt=<date>/``).
PROGRAMME_FIELDS = PROGRAMMES.column_names
#: Fields of a quarantine record (dataset ``quarantine``, files ``quarantine/dt=<arrival date>/``).
QUARANTINE_FIELDS = QUARANTINE.column_names
#: Catalog staging tables (greenplum/load/dims.sql) and the number of fields of their records.
CATALOG_STAGING = {
    CHANNELS.name: ("stg_channel", len(CHANNELS.columns)),
    USERS.name: ("stg_user", len(USERS.columns)),
}


#: Bytes psycopg2 asks of a COPY stream at a time.
COPY_CHUNK = 1 << 16


class CopyStream:
    """A read()-able text stream over an iterator of strings (for COPY FROM STDIN without a full copy)."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._it = iter(chunks)
        self._buf = ""

    def read(self, size: int = -1) -> str:
        parts, have = [self._buf], len(self._buf)
        while size < 0 or have < size:  # joined once: appending to a string copies it every time
            try:
                chunk = next(self._it)
            except StopIteration:
                break
            parts.append(chunk)
            have += len(chunk)
        buf = "".join(parts)
        if size < 0:
            out, self._buf = buf, ""
        else:
            out, self._buf = buf[:size], buf[size:]
        return out

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 uses read()
        return self.read(size)


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Rows as CSV text for COPY ... WITH (FORMAT csv): every value quoted (so a raw line ``\\.`` is data, not
    the end-of-data marker), None as an unquoted empty field (NULL)."""
    for row in rows:
        fields = ["" if v is None else '"' + str(v).replace('"', '""') + '"' for v in row]
        yield ",".join(fields) + "\n"


def copy_rows(cur: Any, wh: Warehouse, table: str, rows: Iterable[Iterable[Any]]) -> None:
    copy_lines(cur, wh, table, csv_lines(rows))


def copy_lines(cur: Any, wh: Warehouse, table: str, lines: Iterable[str]) -> None:
    """COPY the CSV text ``lines`` (rows as :func:`csv_lines` renders them) into ``table``."""
    cur.copy_expert(wh.sql("load/copy_stage.sql", table=Ident(table)), CopyStream(lines), COPY_CHUNK)


#: Characters after which a text needs the csv module to be split: a quote, or a carriage return (a line break of
#: its own to the csv module).
_NEEDS_CSV_MODULE = ('"', "\r")

#: A sessions record that passes every single-field check of load/validate_sessions.sql as it stands: a 32-hex
#: session_id; user_id, channel_id and duration_s of up to 18 digits without a leading zero (so that their text is
#: the integer's, and the record is rebuilt exactly from its typed fields); timestamps 'YYYY-MM-DD HH:MM:SS'
#: (groups 1 and 2; whether each is a real date and time is checked apart). ASCII digits only ([0-9], not \d).
_CANONICAL_SESSION = re.compile(
    r"[0-9a-fA-F]{32},(?:0|[1-9][0-9]{0,17}),(?:0|[1-9][0-9]{0,17}),"
    r"([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}),([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}),"
    r"(?:0|[1-9][0-9]{0,17})"
)


def _real_timestamp(text: str) -> bool:
    """Whether a 'YYYY-MM-DD HH:MM:SS' text names a real date and time: what parse_timestamp (functions.sql)
    accepts of that shape (year 0001-9999, no 30 February, hour 24 or second 60)."""
    try:
        dt.datetime(*(int(text[a:b]) for a, b in ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19))))
    except ValueError:
        return False
    return True


class CanonicalSessionRecord:
    """Whether a sessions record (one line, no line break) is canonical (:data:`_CANONICAL_SESSION` with real
    timestamps), so that it can be staged typed. A day has at most 86,400 distinct timestamps: each is checked
    once per instance (one instance per load)."""

    def __init__(self) -> None:
        self._real: dict[str, bool] = {}

    def __call__(self, line: str) -> bool:
        m = _CANONICAL_SESSION.fullmatch(line)
        if m is None:
            return False
        real = self._real
        for ts in m.group(1, 2):
            ok = real.get(ts)
            if ok is None:
                ok = real[ts] = _real_timestamp(ts)
            if not ok:
                return False
        return True


@dataclass
class StagedLines:
    """The COPY lines of one file: ``raw`` for its text staging table (as :func:`csv_lines` renders
    :func:`staging_rows`), ``typed`` for its typed one (file, line number and the record as it is)."""

    raw: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)


def simple_staging_lines(
    text: str, name: str, width: int, *, one_line: bool = False, typed: Callable[[str], bool] | None = None
) -> StagedLines | None:
    """:func:`staging_rows` of ``text`` (file ``name``) as :func:`csv_lines` renders them, split with
    ``str.split`` instead of the csv module -- or None when the text needs the csv module: it holds a quote or a
    carriage return, or a field longer than the csv module's limit (which it rejects; not checked with
    ``one_line``, whose split lifts the limit). Without those, every record is one physical line and its fields
    are the text between commas, so the lines are the same; a day of sessions is split about 3 times faster.
    A record of ``width`` fields that ``typed`` accepts goes to the typed lines instead."""
    if any(c in text for c in _NEEDS_CSV_MODULE):
        return None
    limit = None if one_line else csv.field_size_limit()
    file = '"' + name.replace('"', '""') + '"'
    no_fields = "," * width  # the fields of a record of another width: NULL
    out = StagedLines()
    raw, typed_out = out.raw, out.typed
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        if limit is not None and len(line) > limit and max(len(f) for f in line.split(",")) > limit:
            return None
        n = line.count(",") + 1
        if n == width:
            if typed is not None and typed(line):
                typed_out.append(f'{file},"{line_no}",{line}\n')
            else:
                raw.append(f'{file},"{line_no}","{n}","{line}","' + line.replace(",", '","') + '"\n')
        else:
            raw.append(f'{file},"{line_no}","{n}","{line}"{no_fields}\n')
    return out


def staging_rows(text: str, name: str, width: int, *, one_line: bool = False) -> Iterator[tuple[Any, ...]]:
    """The staging rows of the records of ``text`` (file ``name``): file, line, field count, raw text and -- for
    records with exactly ``width`` fields -- the fields (else NULLs); field count None when the csv module cannot
    split the record."""
    for line_no, raw, fields in csv_records(text, one_line=one_line):
        if fields is not None and len(fields) == width:
            yield (name, line_no, width, raw, *fields)
        else:
            yield (name, line_no, None if fields is None else len(fields), raw, *([None] * width))


@dataclass(frozen=True)
class TypedStaging:
    """Where the records ``accepts`` takes are staged typed: ``table``, columns file, line and the fields."""

    table: str
    accepts: Callable[[str], bool]


def stage_records(
    cur: Any,
    wh: Warehouse,
    table: str,
    width: int,
    sources: Iterable[Source],
    *,
    one_line: bool = False,
    typed: TypedStaging | None = None,
) -> int:
    """Stage every record of ``sources`` into the raw staging table ``table``: file, line, field count, raw text
    and -- for records with exactly ``width`` fields -- the fields; with ``typed``, the records it accepts into its
    table instead (found by the str.split staging only: a file that needs the csv module is staged raw whole).
    ``one_line``: one record per physical line (:func:`~iptv.warehouse.sources.csv_records`). Never fails on the
    data itself. Returns the number of files."""
    n = 0
    for src in sources:
        text = src.read_text()
        simple = simple_staging_lines(
            text, src.path, width, one_line=one_line, typed=typed.accepts if typed is not None else None
        )
        if simple is None:
            copy_rows(cur, wh, table, staging_rows(text, src.path, width, one_line=one_line))
        else:
            if simple.raw:
                copy_lines(cur, wh, table, simple.raw)
            if simple.typed and typed is not None:
                copy_lines(cur, wh, typed.table, simple.typed)
        n += 1
    return n


def stage_sessions(cur: Any, wh: Warehouse, sources: Iterable[Source]) -> int:
    """Stage every record of ``sources`` into stg_session_raw, or the canonical ones typed into stg_session_typed
    (load/stage_sessions.sql); returns the number of files."""
    typed = TypedStaging("stg_session_typed", CanonicalSessionRecord())
    return stage_records(cur, wh, "stg_session_raw", len(SESSION_FIELDS), sources, typed=typed)


def stage_programmes(cur: Any, wh: Warehouse, sources: Iterable[Source]) -> int:
    """Stage every record of the guide files ``sources`` into stg_programme_raw (load/stage_programmes.sql);
    returns the number of files."""
    return stage_records(cur, wh, "stg_programme_raw", len(PROGRAMME_FIELDS), sources)


def stage_quarantine(cur: Any, wh: Warehouse, sources: Iterable[Source]) -> int:
    """Stage every record of the quarantine files ``sources`` into stg_quarantine_raw (load/stage_quarantine.sql),
    one per physical line as the dataset is written (escaped line breaks); returns the number of files."""
    one_line = QUARANTINE.csv.escaped_line_breaks
    return stage_records(cur, wh, "stg_quarantine_raw", len(QUARANTINE_FIELDS), sources, one_line=one_line)


def stage_catalog(cur: Any, wh: Warehouse, catalog: str, sources: Iterable[Source]) -> tuple[int, int]:
    """Stage the records of the files of ``catalog`` (channels, users) that have the contract's number of
    fields into its staging table (all TEXT); returns the number of files and of records skipped."""
    table, width = CATALOG_STAGING[catalog]
    files = skipped = 0
    for src in sources:
        good: list[list[str]] = []
        for line_no, _, fields in csv_records(src.read_text()):
            if fields is not None and len(fields) == width:
                good.append(fields)
            else:
                skipped += 1
                log.warning(
                    "%s line %d: %s fields, expected %d: not loaded", src, line_no, fields and len(fields), width
                )
        copy_rows(cur, wh, table, good)
        files += 1
    return files, skipped
