"""The loads of the warehouse (Greenplum on a cluster, PostgreSQL locally): DDL, dimensions, the programme guide,
sessions and marts, each one transaction of ``greenplum/*.sql`` files rendered by
:class:`~iptv.warehouse.schema.Warehouse`.

- :func:`apply_ddl` creates the schema, tables and grants (idempotent).
- :func:`load_dims` replaces dim_channel and dim_user from the catalog files.
- :func:`load_programmes` loads the guide files of one date: every record staged as text, validated in SQL
  (bad rows and the gaps of a channel's guide are rejected by reason into ``load_rejects``, dataset
  ``programmes``), then in the same transaction the date's rows of dim_programme are replaced and the programme
  marts of the date recomputed. The session marts are not touched.
- :func:`load_sessions` loads the sessions files of one date: every record COPYed as text into a staging
  temp table (:mod:`iptv.warehouse.staging`), validated and cast in SQL (rejects counted by reason and kept in
  ``load_rejects``), then in the same single transaction the date's fact rows, rejects and ledger of loaded files
  (:mod:`iptv.warehouse.ledger`) are replaced and the marts of every date they touch (the date itself and the
  following date(s) reached by sessions crossing midnight, before and after the reload) and mart_weekday_hour
  recomputed. Reloading a date therefore replaces it, atomically. Asked to append (the lake sync), it reads
  only the files the ledger does not hold, adds their rows and recomputes the marts of the dates they reach.
- :func:`load_quarantine` counts the quarantine records of one date (the lake's rejected messages) per reason:
  every record staged as text (one per physical line), counted in SQL (an unreadable record under a label of
  the loader), the date's rows of ``quarantine_daily`` replaced in one transaction. Nothing else is touched.
- :func:`recompute_all` recomputes every mart of every covered date.

Every sessions load recomputes the programme marts of the dates it touches too (a session that runs past
midnight counts toward the programmes of the next date), so the marts are right whichever of the guide and the
sessions of a date arrives first.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from iptv.sql import Ident
from iptv.warehouse import ledger
from iptv.warehouse.schema import DATE_MARTS, MART_VIEWER_TABLES, PROGRAMME_MARTS, SESSION_MARTS, Warehouse
from iptv.warehouse.sources import Source, as_date
from iptv.warehouse.staging import copy_rows, stage_catalog, stage_programmes, stage_quarantine, stage_sessions

log = logging.getLogger(__name__)

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
#: Reject reasons of the guide (load/validate_programmes.sql, in the order they are checked), then the gaps
#: between the accepted programmes of a channel (load/programme_gaps.sql), which are not rows of a file.
PROGRAMME_REJECT_REASONS = (
    "malformed_csv",
    "wrong_field_count",
    "missing_field",
    "bad_id",
    "bad_timestamp",
    "bad_genre",
    "other_date",
    "end_before_start",
    "ends_after_day",
    "unknown_channel",
    "duplicate",
    "overlap",
)
GAP = "gap"
#: Labels of load/replace_quarantine.sql for a quarantine record the loader cannot read (the others count under
#: the record's own reason).
QUARANTINE_UNREADABLE = ("malformed_csv", "wrong_field_count", "bad_reason")


def _has_table(cur: Any, wh: Warehouse, table: str) -> bool:
    cur.execute(wh.sql("load/has_table.sql", table_name=table))
    return cur.fetchone() is not None


def apply_ddl(conn: Any, wh: Warehouse) -> None:
    """Create the schema (if missing), the tables (if missing), the functions and the grants, in one transaction
    (serialised with other loaders' DDL by ddl_lock.sql). A schema whose marts predate the tables of the viewers
    they count (MART_VIEWER_TABLES, in their present form) has every mart recomputed once, in the same
    transaction, so that loads can add to them."""
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("ddl_lock.sql"))
        cur.execute(wh.sql("schema_exists.sql"))
        if cur.fetchone() is None:
            cur.execute(wh.sql("schema.sql"))
        has_viewers = all(_has_table(cur, wh, table) for table in MART_VIEWER_TABLES)
        has_marts = _has_table(cur, wh, "mart_daily")
        cur.execute(wh.sql("ddl.sql"))
        cur.execute(wh.sql("functions.sql"))
        cur.execute(wh.sql("grants.sql"))
        if has_marts and not has_viewers:
            log.warning("schema %s: marts from before their viewer counts: recomputing every date once", wh.schema)
            _recompute_all(cur, wh)
    log.info("DDL applied to schema %s (%s dialect)", wh.schema, wh.dialect)


def _lock(cur: Any, wh: Warehouse) -> None:
    cur.execute(wh.sql("load/lock.sql"))


#: The tables holding a date's rows of each per-date mart: the mart and the viewers (or users' seconds) it
#: counted, cleared together when the date is recomputed.
MART_DATE_TABLES = {
    "daily": ("mart_daily", "viewer_daily"),
    "channel_daily": ("mart_channel_daily", "viewer_channel_set"),
    "hourly": ("mart_hourly", "viewer_hour_mask"),
    "duration_hist": ("mart_duration_hist",),
    "programme": ("mart_programme", "watch_programme_user"),
    "genre_hourly": ("mart_genre_hourly", "viewer_genre_hourly"),
}


def _add_to_marts(cur: Any, wh: Warehouse, day: dt.date, marts: Iterable[str]) -> None:
    """Add what the sessions of delta_session bring to ``day`` to its ``marts`` (greenplum/marts/<mart>.sql)."""
    cur.execute(wh.sql("marts/delta_day.sql", dt=day))
    for mart in marts:
        cur.execute(wh.sql(f"marts/{mart}.sql", dt=day))


def update_marts(cur: Any, wh: Warehouse, dates: Iterable[dt.date], marts: Iterable[str] = DATE_MARTS) -> None:
    """Add the sessions of the temp table delta_session (marts/delta_session.sql, filled by the caller) to the
    per-date ``marts`` of ``dates`` -- at a cost that follows the delta, not the dates' size -- then recompute
    mart_weekday_hour (inside the caller's transaction). An empty delta re-derives the figures that depend on the
    dimensions (channel names, the universe)."""
    marts = list(marts)
    for day in dates:
        _add_to_marts(cur, wh, day, marts)
    cur.execute(wh.sql("marts/weekday_hour.sql"))


def recompute_dates(cur: Any, wh: Warehouse, dates: Iterable[dt.date], marts: Iterable[str] = DATE_MARTS) -> None:
    """Recompute the per-date ``marts`` of ``dates`` from fact_session, then mart_weekday_hour (inside the caller's
    transaction): each date's rows and counted viewers cleared, then every session that reaches it added."""
    marts = list(marts)
    cur.execute(wh.sql("marts/delta_session.sql"))
    for day in dates:
        for mart in marts:
            for table in MART_DATE_TABLES[mart]:
                cur.execute(wh.sql("marts/clear_date.sql", table=Ident(table), dt=day))
        cur.execute(wh.sql("marts/delta_from_facts.sql", dt=day))
        _add_to_marts(cur, wh, day, marts)
    cur.execute(wh.sql("marts/weekday_hour.sql"))


def recompute_programme_marts(cur: Any, wh: Warehouse, dates: Iterable[dt.date]) -> None:
    """Recompute the programme marts (mart_programme, mart_genre_hourly) of ``dates`` from fact_session and the
    guide (in the caller's transaction)."""
    recompute_dates(cur, wh, dates, marts=PROGRAMME_MARTS)


def _derive_marts(cur: Any, wh: Warehouse, dates: Iterable[dt.date], marts: Iterable[str]) -> None:
    """Re-derive the figures of ``marts`` of ``dates`` that depend on the dimensions (an empty delta)."""
    cur.execute(wh.sql("marts/delta_session.sql"))
    update_marts(cur, wh, dates, marts)


def mart_dates(cur: Any, wh: Warehouse) -> list[dt.date]:
    """Every date the session marts cover (a session starts on it or overlaps it)."""
    cur.execute(wh.sql("load/mart_dates.sql"))
    return [r[0] for r in cur.fetchall()]


def programme_dates(cur: Any, wh: Warehouse) -> list[dt.date]:
    """Every date with a programme guide in dim_programme."""
    cur.execute(wh.sql("load/programme_dates.sql"))
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
    mart_channel_daily (names, universe) is recomputed for every covered date, and the programme marts (universe)
    for every date with a guide, in the same transaction. The guide already loaded is kept as it is (its
    unknown_channel rejects are decided when the guide of a date is loaded)."""
    t0 = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/dims.sql"))
        f1, s1 = stage_catalog(cur, wh, "channels", channels)
        f2, s2 = stage_catalog(cur, wh, "users", users)
        files, skipped = f1 + f2, s1 + s2
        _lock(cur, wh)
        cur.execute(wh.sql("load/replace_dims.sql"))
        cur.execute(wh.sql("load/count_dims.sql"))
        n_channels, n_users = cur.fetchone()
        dates = mart_dates(cur, wh) if recompute else []
        if dates:
            _derive_marts(cur, wh, dates, ("channel_daily",))
        if recompute:
            _derive_marts(cur, wh, programme_dates(cur, wh), PROGRAMME_MARTS)
    res = DimsResult(files, n_channels, n_users, len(dates), time.monotonic() - t0, skipped)
    log.info(
        "dims loaded: %d channels, %d users from %d files (%d records skipped)", n_channels, n_users, files, skipped
    )
    return res


@dataclass
class LoadResult:
    dt: dt.date
    files: int = 0  # files read by this load
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    mart_dates: list[dt.date] = field(default_factory=list)
    seconds: float = 0.0
    #: whole (the date replaced by its files), appended (only new files read, their rows added) or
    #: unchanged (every file already loaded: nothing read, nothing recomputed)
    mode: str = "whole"
    reload_reason: str = ""  # why a load asked to append reloaded the date whole

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
        mode = self.mode + (f" ({self.reload_reason})" if self.reload_reason else "")
        return (
            f"dt={self.dt} {mode} files={self.files} read={self.rows_read} loaded={self.rows_loaded} "
            f"rejected={self.rows_rejected}{f' ({why})' if why else ''} marts={marts} {self.seconds:.1f}s"
        )


class _Reload(Exception):  # noqa: N818 - a signal, not an error
    """A load asked to append must reload the date whole (the reason is the message)."""


def _stage_and_validate(cur: Any, wh: Warehouse, day: dt.date, sources: list[Source], res: LoadResult) -> None:
    """Stage ``sources`` (their records and their versions) and validate the records (load/validate_sessions.sql);
    the counts by reason go into ``res``."""
    cur.execute(wh.sql("load/stage_sessions.sql"))
    cur.execute(wh.sql("load/stage_files.sql"))
    versions = [src.version() for src in sources]
    copy_rows(cur, wh, "stg_loaded_file", ((v.path, v.length, v.mtime_ms) for v in versions))
    res.files = stage_sessions(cur, wh, sources)
    cur.execute(wh.sql("load/validate_sessions.sql", dt=day))
    cur.execute(wh.sql("load/check_sessions.sql"))
    counts = {reason: int(n) for reason, n in cur.fetchall()}
    res.rows_read = sum(counts.values())
    res.rejected = {r: counts[r] for r in REJECT_REASONS if counts.get(r)}


def _last_date(cur: Any, wh: Warehouse, file: str, day: dt.date) -> dt.date | None:
    cur.execute(wh.sql(file, dt=day))
    return cur.fetchone()[0]


def _date_ledger(cur: Any, wh: Warehouse, day: dt.date) -> dict[str, tuple[int, int]]:
    cur.execute(wh.sql("load/ledger.sql", dt=day))
    return {path: (int(length), int(mtime)) for path, length, mtime in cur.fetchall()}


def _append_sessions(conn: Any, wh: Warehouse, day: dt.date, sources: list[Source], res: LoadResult) -> None:
    """Bring ``day`` up to date by appending the rows of its new files (one transaction); :class:`_Reload` when
    the date must be reloaded whole instead (a file rewritten or removed, no ledger, an id already loaded)."""
    by_path = {src.path: src for src in sources}
    with conn, conn.cursor() as cur:
        _lock(cur, wh)  # before the ledger is read: no other load may change it until this one commits
        todo = ledger.plan((src.version() for src in sources), _date_ledger(cur, wh, day))
        if not todo.appendable:
            raise _Reload(todo.why_reload())
        if todo.up_to_date:
            res.mode = "unchanged"
            return
        res.mode = "appended"
        _stage_and_validate(cur, wh, day, [by_path[f.path] for f in todo.new], res)
        cur.execute(wh.sql("load/loaded_ids.sql", dt=day))
        if int(cur.fetchone()[0]):
            raise _Reload("a session_id already loaded")
        cur.execute(wh.sql("load/insert_sessions.sql", dt=day))
        res.rows_loaded = res.rows_read - sum(res.rejected.values())
        last = _last_date(cur, wh, "load/staged_last_date.sql", day) or day
        res.mart_dates = [day + dt.timedelta(days=i) for i in range((max(last, day) - day).days + 1)]
        cur.execute(wh.sql("marts/delta_session.sql"))
        cur.execute(wh.sql("load/delta_from_stage.sql", dt=day))
        update_marts(cur, wh, res.mart_dates)


def _replace_sessions(conn: Any, wh: Warehouse, day: dt.date, sources: list[Source], res: LoadResult) -> None:
    """Replace everything the warehouse holds of ``day`` by what its files give (one transaction)."""
    with conn, conn.cursor() as cur:
        _stage_and_validate(cur, wh, day, sources, res)
        _lock(cur, wh)
        old_last = _last_date(cur, wh, "load/last_date.sql", day)
        cur.execute(wh.sql("load/clear_sessions.sql", dt=day))
        cur.execute(wh.sql("load/insert_sessions.sql", dt=day))
        cur.execute(wh.sql("load/count_sessions.sql", dt=day))
        res.rows_loaded = int(cur.fetchone()[0])
        new_last = _last_date(cur, wh, "load/last_date.sql", day)
        last = max(d for d in (day, old_last, new_last) if d is not None)
        res.mart_dates = [day + dt.timedelta(days=i) for i in range((last - day).days + 1)]
        recompute_dates(cur, wh, res.mart_dates)


def load_sessions(
    conn: Any, wh: Warehouse, day: str | dt.date, sources: Iterable[Source], *, append: bool = False
) -> LoadResult:
    """Load the sessions files ``sources`` of ``day``, the facts, rejects, ledger and affected marts in one
    transaction (staging COPY included). Every record is staged as text, then validated and cast in SQL
    (load/validate_sessions.sql); invalid ones -- wrong field count, missing or unparseable field, another
    date, negative or inconsistent duration, repeated session_id -- are counted by reason in the result and kept
    in ``load_rejects``. Bad data never fails the load; a database error does.

    By default the date is replaced whole: its fact rows, rejects and ledger (:mod:`iptv.warehouse.ledger`) by
    what ``sources`` give, and the marts of every date its old or new sessions reach recomputed. With ``append``
    only the files the ledger does not hold are read and their rows added, and only the marts of the dates the
    new sessions reach recomputed; when the ledger shows a file rewritten or removed, has nothing of the date, or
    a new row repeats a session_id the date holds, the date is replaced whole instead (``reload_reason``). Either
    way the date ends as a whole load of ``sources`` leaves it."""
    day = as_date(day)
    sources = list(sources)
    t0 = time.monotonic()
    res = LoadResult(dt=day)
    if append:
        try:
            _append_sessions(conn, wh, day, sources, res)
        except _Reload as why:
            res = LoadResult(dt=day, reload_reason=str(why))
        else:
            res.seconds = time.monotonic() - t0
            log.info("%s", res.summary())
            return res
    _replace_sessions(conn, wh, day, sources, res)
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res


def _recompute_all(cur: Any, wh: Warehouse) -> list[dt.date]:
    dates = mart_dates(cur, wh)
    guide_dates = programme_dates(cur, wh)
    cur.execute(wh.sql("load/clear_marts.sql"))
    recompute_dates(cur, wh, dates, marts=SESSION_MARTS)
    recompute_programme_marts(cur, wh, guide_dates)
    return sorted(set(dates) | set(guide_dates))


def recompute_all(conn: Any, wh: Warehouse) -> list[dt.date]:
    """Recompute every mart of every covered date (after a change of definitions), in one transaction: the
    session marts of the dates with sessions, the programme marts of the dates with a guide."""
    with conn, conn.cursor() as cur:
        _lock(cur, wh)
        return _recompute_all(cur, wh)


@dataclass
class ProgrammeLoadResult:
    """What :func:`load_programmes` did for one date."""

    dt: dt.date
    files: int = 0
    rows_read: int = 0
    programmes: int = 0  # rows loaded into dim_programme
    rejected: dict[str, int] = field(default_factory=dict)  # rejected rows by reason
    gaps: int = 0  # intervals of a channel's day that no accepted programme covers (rejects of reason 'gap')
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.programmes

    def summary(self) -> str:
        why = ", ".join(f"{k}={v}" for k, v in self.rejected.items() if v)
        return (
            f"guide dt={self.dt} files={self.files} read={self.rows_read} loaded={self.programmes} "
            f"rejected={self.rows_rejected}{f' ({why})' if why else ''} gaps={self.gaps} {self.seconds:.1f}s"
        )


def load_programmes(
    conn: Any, wh: Warehouse, day: str | dt.date, sources: Iterable[Source], *, recompute: bool = True
) -> ProgrammeLoadResult:
    """Replace the programmes of ``day`` in dim_programme by the valid rows of the guide files ``sources`` and
    (with ``recompute``) recompute the programme marts of the date, all in one transaction. Every record is
    staged as text, then validated and cast in SQL (load/validate_programmes.sql: malformed or unparseable
    rows, an unknown genre or channel, another date, an end not after the start or after midnight, a repeated
    programme_id, an overlap with an earlier programme of the channel); the gaps left between the accepted
    programmes of a channel are recorded too (load/programme_gaps.sql). Rejects and gaps replace the date's
    ``programmes`` rows of ``load_rejects``. Bad data never fails the load, nor touches the session marts; a
    database error does fail it. ``recompute=False`` leaves the marts to a sessions load of the same date that
    follows (which recomputes them in its own transaction)."""
    day = as_date(day)
    res = ProgrammeLoadResult(dt=day)
    t0 = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/stage_programmes.sql"))
        res.files = stage_programmes(cur, wh, sources)
        cur.execute(wh.sql("load/validate_programmes.sql", dt=day))
        cur.execute(wh.sql("load/programme_gaps.sql", dt=day))
        cur.execute(wh.sql("load/check_programmes.sql"))
        counts: dict[str | None, int] = {}
        gaps = 0
        for reason, n in cur.fetchall():
            if reason == GAP:
                gaps += int(n)
            else:
                counts[reason] = counts.get(reason, 0) + int(n)
        res.rows_read = sum(counts.values())
        res.rejected = {r: counts[r] for r in PROGRAMME_REJECT_REASONS if counts.get(r)}
        res.gaps = gaps
        _lock(cur, wh)
        cur.execute(wh.sql("load/replace_programmes.sql", dt=day))
        cur.execute(wh.sql("load/replace_programme_rejects.sql", dt=day))
        cur.execute(wh.sql("load/count_programmes.sql", dt=day))
        res.programmes = int(cur.fetchone()[0])
        if recompute:
            recompute_programme_marts(cur, wh, [day])
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res


@dataclass
class QuarantineLoadResult:
    """What :func:`load_quarantine` did for one date."""

    dt: dt.date
    files: int = 0
    events: dict[str, int] = field(default_factory=dict)  # quarantined records by reason, as in quarantine_daily
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.events.values())

    def summary(self) -> str:
        why = ", ".join(f"{k}={v}" for k, v in self.events.items())
        return (
            f"quarantine dt={self.dt} files={self.files} events={self.total}{f' ({why})' if why else ''} "
            f"{self.seconds:.1f}s"
        )


def load_quarantine(conn: Any, wh: Warehouse, day: str | dt.date, sources: Iterable[Source]) -> QuarantineLoadResult:
    """Replace the rows of ``day`` in quarantine_daily by the records of the quarantine files ``sources``
    counted per reason, in one transaction (staging COPY included; idempotent). Every record is staged as text,
    one per physical line, whatever its content; one the loader cannot read (not CSV, another field count, a
    reason that is no lower-case name) counts under one of :data:`QUARANTINE_UNREADABLE`. No sources: the date
    has no rows. Bad data never fails the load; a database error does."""
    day = as_date(day)
    res = QuarantineLoadResult(dt=day)
    t0 = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute(wh.sql("load/stage_quarantine.sql"))
        res.files = stage_quarantine(cur, wh, sources)
        _lock(cur, wh)
        cur.execute(wh.sql("load/replace_quarantine.sql", dt=day))
        cur.execute(wh.sql("load/count_quarantine.sql", dt=day))
        res.events = {reason: int(n) for reason, n in cur.fetchall()}
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res
