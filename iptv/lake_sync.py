"""Warehouse sync after landing (issue #5 part 2): new or changed date partitions of the lake are registered in
Hive, their aggregates recomputed in Hive, and their sessions loaded into Greenplum (which recomputes the marts).

Pure orchestration, no NiFi: the NiFi processor ``SyncWarehouse`` and ``scripts/sync_lake.py`` both call
:func:`sync` with a persisted *sync state*, a flat ``{key: fingerprint}`` dict of strings (JSON-able and a valid
NiFi state map) where a key is ``<kind>/dt=<date>`` (kind = sessions, raw_events, quarantine) or
``catalogs/<name>``, and a fingerprint is a hash of the names, lengths and modification times of the visible
data files of that directory (from one WebHDFS LISTSTATUS per directory).

A date is *changed* when one of its directories has a fingerprint other than the synced one (new files, a
rewrite, removed files). For the changed dates, in date order:

- every changed date: its partitions of viewing_events, sessions and quarantine are registered in Hive
  (``hive/register_partitions.sql``, idempotent);
- a date whose sessions changed: its sessions are loaded into Greenplum with :func:`iptv.warehouse.load_sessions`
  (one transaction per date, replaces the date, recomputes the marts of every date it touches; idempotent),
  then the Hive aggregates (``hive/aggregates/*.sql`` = ``hive/marts/*.sql`` stored with INSERT OVERWRITE into
  partition dt) of that date and the next date (sessions crossing midnight) are recomputed;
- a change of the catalogs reloads the dimensions (:func:`iptv.warehouse.load_dims`) and recomputes the Hive
  channel aggregates of the dates already synced.

The state is updated per date as soon as that date is done, so a failure (engine down) leaves the date changed
and the next sync retries it; the other dates still go on. Bad data never fails a date: rows with a wrong
number of fields or an unparseable value are rejected by the warehouse loader, counted by reason (in the load
summary lines and ``SyncResult.rejected``) and kept in ``iptv_dw.load_rejects`` (Hive reads them as NULLs).
Only an engine or storage failure is an error. Never a crash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from iptv.config import REPO_ROOT

log = logging.getLogger(__name__)

HIVE_DIR = REPO_ROOT / "hive"
#: Partitioned lake directories (config hdfs.paths keys) whose dt= subdirectories are watched.
KINDS = ("sessions", "raw_events", "quarantine")
CATALOGS = ("channels", "users")
#: Hive aggregates, computed by hive/marts/<name>.sql and stored by hive/aggregates/<name>.sql.
AGGREGATES = ("daily", "channel_daily", "hourly", "duration_hist")
AGG_TABLES = {name: f"agg_{name}" for name in AGGREGATES}

_DT_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")

Progress = Callable[[str, int, int], None]


# ------------------------------------------------------------------------------------------ pure logic


def _visible(name: str) -> bool:
    return not name.startswith(("_", "."))


def fingerprint(entries: Iterable[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The fingerprint of a directory from its LISTSTATUS entries ``(name, FileStatus)``: a hash over the
    visible files' names, lengths and modification times. None when it holds no visible data file (an empty
    directory counts as absent: registering a Hive partition creates empty directories)."""
    files = sorted(
        (name, int(st.get("length", 0)), int(st.get("modificationTime", 0)))
        for name, st in entries
        if st.get("type", "FILE") == "FILE" and _visible(name)
    )
    if not files:
        return None
    h = hashlib.sha1(usedforsecurity=False)
    for name, length, mtime in files:
        h.update(f"{name}\0{length}\0{mtime}\n".encode())
    return f"{len(files)}:{sum(f[1] for f in files)}:{h.hexdigest()[:16]}"


def partition_key(kind: str, day: str | dt.date) -> str:
    return f"{kind}/dt={day if isinstance(day, str) else day.isoformat()}"


def parse_key(key: str) -> tuple[str, dt.date | None]:
    """``sessions/dt=2026-03-02`` -> ("sessions", date); ``catalogs/users`` -> ("catalogs/users", None)."""
    kind, _, rest = key.partition("/")
    m = _DT_DIR.match(rest)
    if kind in KINDS and m:
        try:
            return kind, dt.date.fromisoformat(m.group(1))
        except ValueError:
            pass
    return key, None


@dataclass
class Changes:
    """What differs between a listing and the synced state."""

    dates: list[dt.date] = field(default_factory=list)  # every date with a changed directory, sorted
    session_dates: list[dt.date] = field(default_factory=list)  # dates whose sessions changed, sorted
    catalogs: bool = False
    keys: dict[str, str | None] = field(default_factory=dict)  # changed key -> new fingerprint (None: removed)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def keys_of(self, day: dt.date) -> dict[str, str | None]:
        return {k: v for k, v in self.keys.items() if parse_key(k)[1] == day}


def detect_changes(current: Mapping[str, str], state: Mapping[str, str]) -> Changes:
    """Compare a listing (``{key: fingerprint}``, see :func:`list_lake`) with the synced state. A key missing
    from the listing but present in the state is a removal (its date changed)."""
    ch = Changes()
    for key in sorted(set(current) | set(state)):
        new, old = current.get(key), state.get(key)
        if new == old:
            continue
        ch.keys[key] = new
        kind, day = parse_key(key)
        if day is None:
            if kind.startswith("catalogs/"):
                ch.catalogs = True
            continue
        if day not in ch.dates:
            ch.dates.append(day)
        if kind == "sessions" and day not in ch.session_dates:
            ch.session_dates.append(day)
    ch.dates.sort()
    ch.session_dates.sort()
    return ch


def apply_keys(state: Mapping[str, str], keys: Mapping[str, str | None]) -> dict[str, str]:
    """A new state: ``state`` with ``keys`` set (None removes the key)."""
    out = dict(state)
    for k, v in keys.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def synced_session_dates(state: Mapping[str, str]) -> list[dt.date]:
    return sorted(d for k in state for kind, d in [parse_key(k)] if kind == "sessions" and d is not None)


def hive_dates(session_dates: Iterable[dt.date]) -> list[dt.date]:
    """Dates whose Hive aggregates a change of ``session_dates`` affects: each date and the next one."""
    out = set()
    for d in session_dates:
        out.update((d, d + dt.timedelta(days=1)))
    return sorted(out)


# ------------------------------------------------------------------------------------------ listing


def list_lake(cfg: dict[str, Any]) -> dict[str, str]:
    """The current ``{key: fingerprint}`` of the lake: every non-empty dt= directory of sessions, raw events and
    quarantine, and the catalog directories (WebHDFS LISTSTATUS, one call per directory)."""
    from iptv import hdfs_client

    client = hdfs_client.client(cfg)
    paths = cfg["hdfs"]["paths"]
    out: dict[str, str] = {}

    def listing(path: str) -> list[tuple[str, dict[str, Any]]] | None:
        try:
            return client.list(path, status=True)
        except hdfs_client.HdfsError as exc:
            if "does not exist" in str(exc) or "FileNotFound" in str(exc):
                return None
            raise

    for kind in KINDS:
        base = paths[kind].rstrip("/")
        for name, st in listing(base) or []:
            m = _DT_DIR.match(name)
            if st.get("type") != "DIRECTORY" or not m:
                continue
            fp = fingerprint(listing(f"{base}/{name}") or [])
            if fp is not None:
                out[partition_key(kind, m.group(1))] = fp
    for cat in CATALOGS:
        fp = fingerprint(listing(f"{paths['catalogs'].rstrip('/')}/{cat}") or [])
        if fp is not None:
            out[f"catalogs/{cat}"] = fp
    return out


# ------------------------------------------------------------------------------------------ catalogs


def catalog_sources(cfg: dict[str, Any], name: str) -> list[Any]:
    """The files of catalog ``name`` on HDFS, as the producer writes them (the columns of
    :mod:`iptv.catalogs`; :func:`iptv.warehouse.load_dims` reads them as they are)."""
    from iptv import warehouse as W

    return W.list_sources(cfg, W.catalog_dir(cfg, name))


# ------------------------------------------------------------------------------------------ Hive


def _hive_run(cursor: Any, path: Path, params: dict[str, Any]) -> None:
    from iptv.hive_client import split_statements, substitute

    for stmt in split_statements(path.read_text(encoding="utf-8")):
        cursor.execute(substitute(stmt, params))
        if cursor.description:
            cursor.fetchall()


def aggregate_statement(name: str, params: dict[str, Any]) -> str:
    """The INSERT OVERWRITE of aggregate ``name`` for ``params['dt']``: hive/aggregates/<name>.sql wrapped
    around the query of hive/marts/<name>.sql (both with their placeholders filled)."""
    from iptv.hive_client import split_statements, substitute

    (mart,) = split_statements((HIVE_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8"))
    (wrapper,) = split_statements((HIVE_DIR / "aggregates" / f"{name}.sql").read_text(encoding="utf-8"))
    return substitute(wrapper, {**params, "mart": substitute(mart, params)})


def hive_prepare(cursor: Any, cfg: dict[str, Any]) -> None:
    """Tables, views and aggregate tables of the configured Hive database (idempotent)."""
    from iptv.warehouse import hive_sql_params

    params = hive_sql_params(cfg)
    for f in ("create_tables.sql", "views.sql", "aggregates_ddl.sql"):
        _hive_run(cursor, HIVE_DIR / f, params)


def hive_register(cursor: Any, cfg: dict[str, Any], day: dt.date) -> None:
    from iptv.warehouse import hive_sql_params

    _hive_run(cursor, HIVE_DIR / "register_partitions.sql", hive_sql_params(cfg, day))


def hive_aggregate(cursor: Any, cfg: dict[str, Any], day: dt.date, names: Iterable[str] = AGGREGATES) -> None:
    """Recompute the Hive aggregates ``names`` of ``day`` (INSERT OVERWRITE of partition dt=day)."""
    from iptv.warehouse import hive_sql_params

    params = hive_sql_params(cfg, day)
    for name in names:
        cursor.execute(aggregate_statement(name, params))


# ------------------------------------------------------------------------------------------ sync


@dataclass
class SyncResult:
    dates: list[str] = field(default_factory=list)  # dates synced (some directory changed), in order
    hive_dates: list[str] = field(default_factory=list)  # dates whose Hive aggregates were recomputed
    loads: list[str] = field(default_factory=list)  # Greenplum load summary lines
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # rejected rows by reason, over every load
    dims: bool = False
    dims_summary: str = ""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def idle(self) -> bool:
        return not self.dates and not self.dims and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.idle:
            return f"sync: nothing changed ({self.seconds:.1f}s)"
        span = "-" if not self.dates else self.dates[0] + (f"..{self.dates[-1]}" if len(self.dates) > 1 else "")
        why = ", ".join(f"{k}={v}" for k, v in self.rejected.items() if v)
        return (
            f"sync: dates={len(self.dates)} ({span}) hive_dates={len(self.hive_dates)} "
            f"loaded={self.rows_loaded} rejected={self.rows_rejected}{f' ({why})' if why else ''} "
            f"dims={'yes' if self.dims else 'no'} errors={len(self.errors)} {self.seconds:.1f}s"
        )


@dataclass
class Targets:
    """Connections used by a sync, opened lazily (an idle sync opens none)."""

    cfg: dict[str, Any]
    schema: str = "iptv_dw"
    _hive: Any = None
    _pg: Any = None
    _wh: Any = None

    def hive(self) -> Any:
        if self._hive is None:
            from iptv import hive_client

            self._hive = hive_client.connect(self.cfg, database="default")
            hive_prepare(self._hive.cursor(), self.cfg)
        return self._hive.cursor()

    def warehouse(self) -> tuple[Any, Any]:
        if self._pg is None:
            from iptv import db
            from iptv import warehouse as W

            self._wh = W.Warehouse(self.cfg, schema=self.schema)
            self._pg = db.connect(self.cfg, "loader")
            W.apply_ddl(self._pg, self._wh)
        return self._pg, self._wh

    def close(self) -> None:
        for c in (self._hive, self._pg):
            if c is not None:
                try:
                    c.close()
                except Exception:  # noqa: BLE001, S110 - closing a broken connection
                    pass
        self._hive = self._pg = None


def _err(what: str, exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{what}: {type(exc).__name__}: {text}"


def sync(
    cfg: dict[str, Any],
    state: Mapping[str, str] | None,
    *,
    schema: str = "iptv_dw",
    progress: Progress | None = None,
    listing: Mapping[str, str] | None = None,
) -> tuple[SyncResult, dict[str, str]]:
    """Sync every changed date of the lake into Hive and Greenplum. Returns the result and the new state
    (``state`` with the keys of the dates and catalogs that were synced). Never raises for a failed date or
    engine: the error is in ``result.errors`` and the date stays changed (retried next time)."""
    from iptv import warehouse as W

    t0 = time.monotonic()
    res = SyncResult()
    state = dict(state or {})
    try:
        current = dict(listing) if listing is not None else list_lake(cfg)
    except Exception as exc:  # noqa: BLE001 - HDFS down: report, retry next time
        res.errors.append(_err("list HDFS", exc))
        res.seconds = time.monotonic() - t0
        return res, state
    ch = detect_changes(current, state)
    if not ch:
        res.seconds = time.monotonic() - t0
        return res, state

    tg = Targets(cfg, schema)
    total = len(ch.dates) + (1 if ch.catalogs else 0)
    step = 0
    try:
        if ch.catalogs:
            if progress:
                progress("catalogs", step, total)
            cat_keys = {k: v for k, v in ch.keys.items() if k.startswith("catalogs/")}
            try:
                conn, wh = tg.warehouse()
                srcs = {c: catalog_sources(cfg, c) for c in CATALOGS}
                dims = W.load_dims(conn, wh, srcs["channels"], srcs["users"])
                res.dims_summary = (
                    f"dims: channels={dims.channels} users={dims.users} skipped={dims.skipped} files={dims.files}"
                )
                # Names and universe feed the channel aggregates of the dates synced before.
                old = [d for d in synced_session_dates(state) if d not in ch.session_dates]
                if old:
                    cur = tg.hive()
                    for d in hive_dates(old):
                        hive_aggregate(cur, cfg, d, ("channel_daily",))
                state = apply_keys(state, cat_keys)
                res.dims = True
            except Exception as exc:  # noqa: BLE001
                res.errors.append(_err("catalogs", exc))
            step += 1

        # Register every changed date first: the aggregates of a date read the partition of the day before.
        failed: set[dt.date] = set()
        for day in ch.dates:
            try:
                hive_register(tg.hive(), cfg, day)
            except Exception as exc:  # noqa: BLE001 - the date stays changed and is retried
                log.warning("registering %s failed: %s", day, exc)
                res.errors.append(_err(f"{day} register", exc))
                failed.add(day)
                tg.close()
        done_hive: set[dt.date] = set()
        for day in ch.dates:
            if progress:
                progress(day.isoformat(), step, total)
            step += 1
            if day in failed:
                continue
            try:
                if day in ch.session_dates:
                    # Greenplum first: its load validates the files (a malformed file fails the date before
                    # any Hive work); a failure after it is harmless, the reload is idempotent.
                    conn, wh = tg.warehouse()
                    try:
                        sources = W.list_sources(cfg, W.session_dir(cfg, day))
                    except W.LoadError:
                        sources = []  # directory removed: the date loads empty (the lake is the truth)
                    lr = W.load_sessions(conn, wh, day, sources)
                    res.loads.append(lr.summary())
                    res.rows_read += lr.rows_read
                    res.rows_loaded += lr.rows_loaded
                    res.rows_rejected += lr.rows_rejected
                    for reason, n in lr.rejected.items():
                        res.rejected[reason] = res.rejected.get(reason, 0) + n
                    cur = tg.hive()
                    for d in hive_dates([day]):
                        if d not in done_hive:
                            hive_aggregate(cur, cfg, d)
                            done_hive.add(d)
                state = apply_keys(state, ch.keys_of(day))
                res.dates.append(day.isoformat())
            except Exception as exc:  # noqa: BLE001 - the date stays changed and is retried
                log.warning("sync of %s failed: %s", day, exc)
                res.errors.append(_err(str(day), exc))
                tg.close()
        res.hive_dates = [d.isoformat() for d in sorted(done_hive)]
        if progress:
            progress("done", total, total)
    finally:
        tg.close()
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res, state
