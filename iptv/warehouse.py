"""The warehouse loader (Greenplum on a cluster, PostgreSQL locally): DDL, dimensions, sessions and marts.

All SQL lives in ``greenplum/*.sql``; this module renders and runs it:

- :func:`render_sql` applies the dialect switch (``/*@greenplum ... */`` comments become their content when
  config ``postgres.dialect`` is ``greenplum`` and vanish otherwise), substitutes ``{{reader_user}}`` /
  ``{{loader_user}}`` with quoted role names, and can retarget the ``iptv_dw`` schema (tests use their own).
- :func:`apply_ddl` creates the schema, tables and grants (idempotent).
- :func:`load_dims` replaces dim_channel and dim_user from the catalog CSV files.
- :func:`load_sessions` loads the sessions CSV files of one date: every record COPYed as text into a staging
  temp table, validated and cast in SQL (rejects counted by reason and kept in ``load_rejects``), then in the
  same single transaction delete the date's fact rows, insert the valid staged rows and recompute the marts of
  every date they touch (the date itself and the following date(s) reached by sessions crossing midnight,
  before and after the reload) and mart_weekday_hour. Reloading a date therefore replaces it, atomically.

Sources are the HDFS layout of config ``hdfs.paths`` (through WebHDFS, :mod:`iptv.hdfs_client`) or the same
layout under a local directory (``local_root``): ``<local_root>/data/iptv/sessions/dt=YYYY-MM-DD/*.csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import posixpath
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from iptv.catalogs import CHANNEL_COLUMNS, USER_COLUMNS
from iptv.config import REPO_ROOT, ConfigError

log = logging.getLogger(__name__)

SQL_DIR = REPO_ROOT / "greenplum"
DEFAULT_SCHEMA = "iptv_dw"
DIALECTS = ("postgres", "greenplum")
#: Per-date mart computations, run in this order for every affected date.
DATE_MARTS = ("daily", "channel_daily", "hourly", "duration_hist")
MART_TABLES = (
    "mart_daily",
    "mart_channel_daily",
    "mart_hourly",
    "mart_weekday_hour",
    "mart_duration_hist",
)
#: The loader's quarantine: rejected sessions rows, replaced per dt (greenplum/load/replace_rejects.sql).
REJECTS_TABLE = "load_rejects"
TABLES = ("dim_channel", "dim_user", "fact_session", *MART_TABLES, REJECTS_TABLE)
#: Reject reasons of load/validate_sessions.sql, in the order they are checked.
REJECT_REASONS = (
    "malformed_csv",
    "wrong_field_count",
    "missing_field",
    "bad_session_id",
    "bad_id",
    "bad_timestamp",
    "bad_duration",
    "other_date",
    "negative_duration",
    "duration_mismatch",
    "duplicate",
)

_GREENPLUM = re.compile(r"/\*@greenplum\s(.*?)\*/", re.DOTALL)
_IDENT = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SCHEMA_REF = re.compile(r"\biptv_dw\b")


class LoadError(RuntimeError):
    """A load could not be done (missing source, bad data); one line, for the CLI."""


# --------------------------------------------------------------------------------------------------- SQL


def dialect_of(cfg: dict[str, Any]) -> str:
    dialect = str(cfg.get("postgres", {}).get("dialect", "postgres")).lower()
    if dialect not in DIALECTS:
        raise ConfigError(f"postgres.dialect is {dialect!r}: use one of {', '.join(DIALECTS)}")
    return dialect


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def render_sql(
    text: str,
    dialect: str = "postgres",
    *,
    schema: str = DEFAULT_SCHEMA,
    identifiers: dict[str, str] | None = None,
) -> str:
    """Render a greenplum/*.sql text for ``dialect``: ``/*@greenplum X */`` -> ``X`` on Greenplum, nothing on
    PostgreSQL; ``{{name}}`` -> the quoted identifier ``identifiers[name]``; schema ``iptv_dw`` -> ``schema``."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    out = _GREENPLUM.sub(lambda m: m.group(1).strip() if dialect == "greenplum" else "", text)
    idents = identifiers or {}

    def ident(m: re.Match[str]) -> str:
        if m.group(1) not in idents:
            raise KeyError(f"SQL placeholder {{{{{m.group(1)}}}}} has no value")
        return quote_ident(idents[m.group(1)])

    out = _IDENT.sub(ident, out)
    if schema != DEFAULT_SCHEMA:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        out = _SCHEMA_REF.sub(schema, out)
    return out


@dataclass
class Warehouse:
    """The rendering context of one warehouse: config (dialect, role names) and target schema."""

    cfg: dict[str, Any]
    schema: str = DEFAULT_SCHEMA
    dialect: str = field(init=False)

    def __post_init__(self) -> None:
        self.dialect = dialect_of(self.cfg)
        if not _SCHEMA_NAME.match(self.schema):
            raise ValueError(f"bad schema name {self.schema!r}")

    def sql(self, name: str) -> str:
        pg = self.cfg["postgres"]
        text = (SQL_DIR / name).read_text(encoding="utf-8")
        return render_sql(
            text,
            self.dialect,
            schema=self.schema,
            identifiers={"reader_user": str(pg["reader_user"]), "loader_user": str(pg["loader_user"])},
        )

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"


def _as_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LoadError(f"bad date {value!r}: use YYYY-MM-DD") from None


# ----------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One input file: an HDFS path (read through WebHDFS) or a local file."""

    path: str
    hdfs: bool = False

    def __str__(self) -> str:
        return ("hdfs:" if self.hdfs else "") + self.path


def _visible(name: str) -> bool:
    # Like Hive: files starting with '_' or '.' (e.g. _SUCCESS, .crc, in-progress files) are not data.
    return not name.startswith(("_", "."))


def list_sources(cfg: dict[str, Any], directory: str, local_root: str | Path | None = None) -> list[Source]:
    """The data files of an HDFS directory (path as in config hdfs.paths), or of its mirror under
    ``local_root``. Raises LoadError if the directory does not exist."""
    if local_root is not None:
        d = Path(local_root) / directory.lstrip("/")
        if not d.is_dir():
            raise LoadError(f"no directory {d}")
        return [Source(str(f)) for f in sorted(d.iterdir()) if f.is_file() and _visible(f.name)]
    from iptv import hdfs_client

    if not hdfs_client.exists(cfg, directory):
        raise LoadError(f"no HDFS directory {directory}")
    entries = hdfs_client.list_dir(cfg, directory, status=True)
    return [
        Source(posixpath.join(directory, name), hdfs=True)
        for name, st in sorted(entries)
        if st.get("type") == "FILE" and _visible(name)
    ]


def session_dir(cfg: dict[str, Any], day: str | dt.date) -> str:
    return f"{cfg['hdfs']['paths']['sessions'].rstrip('/')}/dt={_as_date(day).isoformat()}"


def catalog_dir(cfg: dict[str, Any], name: str) -> str:
    return f"{cfg['hdfs']['paths']['catalogs'].rstrip('/')}/{name}"


@contextmanager
def open_source(cfg: dict[str, Any], src: Source) -> Iterator[IO[bytes]]:
    if src.hdfs:
        from iptv import hdfs_client

        with hdfs_client.client(cfg).read(src.path) as reader:
            yield reader
    else:
        with open(src.path, "rb") as fh:
            yield fh


def _records(text: str) -> Iterator[tuple[int, str, list[str] | None]]:
    """Split headerless RFC 4180 CSV text with the csv module: ``(first line number, raw text, fields)`` per
    record (fields None when the csv module cannot split it). Empty lines are skipped."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines())
    line_no = 1
    while True:
        try:
            fields: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            fields = None
        raw = "".join(consumed)
        n = len(consumed)
        consumed.clear()
        if fields is not None and not fields and not raw.strip("\r\n"):
            line_no += n
            continue
        yield line_no, raw.rstrip("\r\n"), fields
        line_no += n


def _read_text(cfg: dict[str, Any], src: Source) -> str:
    with open_source(cfg, src) as fh:
        data = fh.read()
    # Undecodable bytes and NULs (which PostgreSQL text cannot hold) become U+FFFD; the row is then checked.
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class _Stream:
    """A read()-able text stream over an iterator of strings (for COPY FROM STDIN without a full copy)."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._it = iter(chunks)
        self._buf = ""

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if size < 0:
            out, self._buf = self._buf, ""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readline(self, size: int = -1) -> str:  # pragma: no cover - psycopg2 uses read()
        return self.read(size)


def _csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Rows as CSV text for COPY ... WITH (FORMAT csv): every value quoted (so a raw line ``\\.`` is data, not
    the end-of-data marker), None as an unquoted empty field (NULL)."""
    for row in rows:
        fields = ["" if v is None else '"' + str(v).replace('"', '""') + '"' for v in row]
        yield ",".join(fields) + "\n"


def _copy_rows(cur: Any, table: str, rows: Iterable[Iterable[Any]]) -> None:
    cur.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", _Stream(_csv_lines(rows)))


#: Fields of a sessions record (the data contract of ``sessions/dt=<date>/``).
SESSION_FIELDS = ("session_id", "user_id", "channel_id", "time_start", "time_end", "duration_s")


def _stage_sessions(cur: Any, cfg: dict[str, Any], sources: Iterable[Source]) -> int:
    """Stage every record of ``sources`` into the text table stg_session_raw (load/stage_sessions.sql): file,
    line, field count, raw text and -- for records with the right number of fields -- the fields. Never fails
    on the data itself. Returns the number of files."""
    n = 0
    for src in sources:
        text = _read_text(cfg, src)

        def rows(text: str = text, name: str = src.path) -> Iterator[tuple[Any, ...]]:
            width = len(SESSION_FIELDS)
            for line_no, raw, fields in _records(text):
                if fields is not None and len(fields) == width:
                    yield (name, line_no, width, raw, *fields)
                else:
                    yield (name, line_no, None if fields is None else len(fields), raw, *([None] * width))

        _copy_rows(cur, "stg_session_raw", rows())
        n += 1
    return n


def _stage_catalog(cur: Any, cfg: dict[str, Any], table: str, width: int, sources: Iterable[Source]) -> tuple[int, int]:
    """Stage the records of catalog files with exactly ``width`` fields into ``table`` (all TEXT); returns the
    number of files and of records skipped for another field count."""
    files = skipped = 0
    for src in sources:
        good: list[list[str]] = []
        for line_no, _, fields in _records(_read_text(cfg, src)):
            if fields is not None and len(fields) == width:
                good.append(fields)
            else:
                skipped += 1
                log.warning(
                    "%s line %d: %s fields, expected %d: not loaded", src, line_no, fields and len(fields), width
                )
        _copy_rows(cur, table, good)
        files += 1
    return files, skipped


# ------------------------------------------------------------------------------------------------ loads


def apply_ddl(conn: Any, wh: Warehouse) -> None:
    """Create the schema (if missing), the tables (if missing) and the grants, in one transaction."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (wh.schema,))
        if cur.fetchone() is None:
            cur.execute(wh.sql("schema.sql"))
        cur.execute(wh.sql("ddl.sql"))
        cur.execute(wh.sql("grants.sql"))
    log.info("DDL applied to schema %s (%s dialect)", wh.schema, wh.dialect)


def _lock(cur: Any, wh: Warehouse) -> None:
    # Serialises loaders (the lock conflicts with itself), readers are not blocked.
    cur.execute(f"LOCK TABLE {wh.table('fact_session')} IN SHARE ROW EXCLUSIVE MODE")


def recompute_dates(cur: Any, wh: Warehouse, dates: Iterable[dt.date], marts: Iterable[str] = DATE_MARTS) -> None:
    """Recompute the per-date marts of ``dates`` and then mart_weekday_hour (inside the caller's transaction)."""
    marts = list(marts)
    for day in dates:
        for mart in marts:
            cur.execute(wh.sql(f"marts/{mart}.sql"), {"dt": day})
    cur.execute(wh.sql("marts/weekday_hour.sql"))


def mart_dates(cur: Any, wh: Warehouse) -> list[dt.date]:
    """Every date the marts cover (a session starts on it or overlaps it)."""
    cur.execute(wh.sql("load/mart_dates.sql"))
    return [r[0] for r in cur.fetchall()]


@dataclass
class DimsResult:
    files: int
    channels: int
    users: int
    recomputed_dates: int
    seconds: float
    skipped: int = 0  # catalog records with a field count other than the contract's (not loaded)


def load_dims(
    conn: Any,
    wh: Warehouse,
    channels: Iterable[Source],
    users: Iterable[Source],
    *,
    recompute: bool = True,
) -> DimsResult:
    """Replace dim_channel and dim_user from the catalog files, in one transaction; with ``recompute``
    mart_channel_daily (names, universe) is recomputed for every covered date in the same transaction."""
    t0 = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/dims.sql"))
        f1, s1 = _stage_catalog(cur, wh.cfg, "stg_channel", len(CHANNEL_COLUMNS), channels)
        f2, s2 = _stage_catalog(cur, wh.cfg, "stg_user", len(USER_COLUMNS), users)
        files, skipped = f1 + f2, s1 + s2
        _lock(cur, wh)
        cur.execute(wh.sql("load/replace_dims.sql"))
        cur.execute(
            f"SELECT (SELECT count(*) FROM {wh.table('dim_channel')}), "  # noqa: S608
            f"(SELECT count(*) FROM {wh.table('dim_user')})"
        )
        n_channels, n_users = cur.fetchone()
        dates = mart_dates(cur, wh) if recompute else []
        if dates:
            recompute_dates(cur, wh, dates, marts=("channel_daily",))
    res = DimsResult(files, n_channels, n_users, len(dates), time.monotonic() - t0, skipped)
    log.info(
        "dims loaded: %d channels, %d users from %d files (%d records skipped)", n_channels, n_users, files, skipped
    )
    return res


@dataclass
class LoadResult:
    dt: dt.date
    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    mart_dates: list[dt.date] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_loaded

    def summary(self) -> str:
        why = ", ".join(f"{k}={v}" for k, v in self.rejected.items() if v)
        if not self.mart_dates:
            marts = "-"
        elif len(self.mart_dates) == 1:
            marts = str(self.mart_dates[0])
        else:
            marts = f"{self.mart_dates[0]}..{self.mart_dates[-1]}"
        return (
            f"dt={self.dt} files={self.files} read={self.rows_read} loaded={self.rows_loaded} "
            f"rejected={self.rows_rejected}{f' ({why})' if why else ''} marts={marts} {self.seconds:.1f}s"
        )


def load_sessions(conn: Any, wh: Warehouse, day: str | dt.date, sources: Iterable[Source]) -> LoadResult:
    """Replace the fact rows of ``day`` by the valid sessions in ``sources`` and recompute the affected marts,
    all in one transaction (staging COPY included). Every record is staged as text, then validated and cast in
    SQL (load/validate_sessions.sql); invalid ones -- wrong field count, missing or unparseable field, another
    date, negative or inconsistent duration, repeated session_id -- are counted by reason in the result and
    replace the date's rows of ``load_rejects``. Bad data never fails the load; a database error does."""
    day = _as_date(day)
    res = LoadResult(dt=day)
    t0 = time.monotonic()
    params = {"dt": day}
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/stage_sessions.sql"))
        res.files = _stage_sessions(cur, wh.cfg, sources)
        cur.execute(wh.sql("load/validate_sessions.sql"), params)
        cur.execute(wh.sql("load/check_sessions.sql"))
        counts = {reason: int(n) for reason, n in cur.fetchall()}
        res.rows_read = sum(counts.values())
        res.rejected = {r: counts[r] for r in REJECT_REASONS if counts.get(r)}
        _lock(cur, wh)
        cur.execute(wh.sql("load/last_date.sql"), params)
        old_last = cur.fetchone()[0]
        cur.execute(wh.sql("load/replace_sessions.sql"), params)
        cur.execute(wh.sql("load/replace_rejects.sql"), params)
        cur.execute(f"SELECT count(*) FROM {wh.table('fact_session')} WHERE dt = %(dt)s", params)  # noqa: S608
        res.rows_loaded = int(cur.fetchone()[0])
        cur.execute(wh.sql("load/last_date.sql"), params)
        new_last = cur.fetchone()[0]
        last = max(d for d in (day, old_last, new_last) if d is not None)
        res.mart_dates = [day + dt.timedelta(days=i) for i in range((last - day).days + 1)]
        recompute_dates(cur, wh, res.mart_dates)
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res


def recompute_all(conn: Any, wh: Warehouse) -> list[dt.date]:
    """Recompute every mart of every covered date (after a change of definitions), in one transaction."""
    with conn, conn.cursor() as cur:
        _lock(cur, wh)
        dates = mart_dates(cur, wh)
        for table in ("mart_daily", "mart_channel_daily", "mart_hourly", "mart_duration_hist"):
            cur.execute(f"DELETE FROM {wh.table(table)}")  # noqa: S608
        recompute_dates(cur, wh, dates)
    return dates


# ------------------------------------------------------------------------------------------------- Hive


def hive_sql_params(cfg: dict[str, Any], day: str | dt.date | None = None, lookback_days: int = 1) -> dict[str, str]:
    """The ``${...}`` values of the hive/*.sql files: database and HDFS locations from the config, and for a
    date ``dt`` plus ``min_dt`` = dt - ``lookback_days`` (the earliest start date of a session that may still
    run into dt; sessions last under 6 h, so 1 day is enough)."""
    paths = cfg["hdfs"]["paths"]
    params = {
        "database": str(cfg["hive"].get("database", "iptv")),
        "hdfs_base": str(cfg["hdfs"]["default_fs"]).rstrip("/"),
        "raw_events_path": paths["raw_events"].rstrip("/"),
        "sessions_path": paths["sessions"].rstrip("/"),
        "quarantine_path": paths["quarantine"].rstrip("/"),
        "catalogs_path": paths["catalogs"].rstrip("/"),
    }
    if day is not None:
        d = _as_date(day)
        params["dt"] = d.isoformat()
        params["min_dt"] = (d - dt.timedelta(days=lookback_days)).isoformat()
    return params
