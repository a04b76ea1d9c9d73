"""The warehouse loader (Greenplum on a cluster, PostgreSQL locally): DDL, dimensions, sessions and marts.

All SQL lives in ``greenplum/*.sql``; this module renders and runs it:

- :func:`render_sql` applies the dialect switch (``/*@greenplum ... */`` comments become their content when
  config ``postgres.dialect`` is ``greenplum`` and vanish otherwise), substitutes ``{{reader_user}}`` /
  ``{{loader_user}}`` with quoted role names, and can retarget the ``iptv_dw`` schema (tests use their own).
- :func:`apply_ddl` creates the schema, tables and grants (idempotent).
- :func:`load_dims` replaces dim_channel and dim_user from the catalog CSV files.
- :func:`load_sessions` loads the sessions CSV files of one date: COPY into a staging temp table, then in the
  same single transaction delete the date's fact rows, insert the valid staged rows and recompute the marts of
  every date they touch (the date itself and the following date(s) reached by sessions crossing midnight,
  before and after the reload) and mart_weekday_hour. Reloading a date therefore replaces it, atomically.

Sources are the HDFS layout of config ``hdfs.paths`` (through WebHDFS, :mod:`iptv.hdfs_client`) or the same
layout under a local directory (``local_root``): ``<local_root>/data/iptv/sessions/dt=YYYY-MM-DD/*.csv``.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

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
TABLES = ("dim_channel", "dim_user", "fact_session", *MART_TABLES)

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


def _copy(cur: Any, cfg: dict[str, Any], table: str, sources: Iterable[Source]) -> int:
    """COPY every source (headerless RFC 4180 CSV) into ``table``; the number of files."""
    n = 0
    for src in sources:
        with open_source(cfg, src) as fh:
            cur.copy_expert(f"COPY {table} FROM STDIN WITH (FORMAT csv)", fh)
        n += 1
    return n


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
        files = _copy(cur, wh.cfg, "stg_channel", channels) + _copy(cur, wh.cfg, "stg_user", users)
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
    res = DimsResult(files, n_channels, n_users, len(dates), time.monotonic() - t0)
    log.info("dims loaded: %d channels, %d users from %d files", n_channels, n_users, files)
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
        reasons = dict(self.rejected)
        reasons["duplicate"] = self.rows_rejected - sum(self.rejected.values())
        why = ", ".join(f"{k}={v}" for k, v in reasons.items() if v)
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
    """Replace the fact rows of ``day`` by the sessions in ``sources`` and recompute the affected marts, all in
    one transaction (staging COPY included). Rows that do not start on ``day``, end before they start or lack
    a field are rejected (counted in the result); a repeated session_id is loaded once."""
    day = _as_date(day)
    res = LoadResult(dt=day)
    t0 = time.monotonic()
    params = {"dt": day}
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/stage_sessions.sql"))
        res.files = _copy(cur, wh.cfg, "stg_session", sources)
        cur.execute(wh.sql("load/check_sessions.sql"), params)
        read, missing, other_date, negative = (int(x or 0) for x in cur.fetchone())
        res.rows_read = read
        res.rejected = {"missing_field": missing, "other_date": other_date, "negative_duration": negative}
        _lock(cur, wh)
        cur.execute(wh.sql("load/last_date.sql"), params)
        old_last = cur.fetchone()[0]
        cur.execute(wh.sql("load/replace_sessions.sql"), params)
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
