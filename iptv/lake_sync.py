"""Warehouse sync after landing (issue #5 part 2): new or changed date partitions of the lake are registered in
Hive, their Hive marts recomputed, and their sessions loaded into Greenplum (which recomputes its marts).

Pure orchestration, no NiFi: the NiFi processor ``SyncWarehouse`` and ``scripts/sync_lake.py`` both call
:func:`sync` with a persisted *sync state* (:mod:`iptv.lake_state`: fingerprints of the lake's directories,
what changed). For the changed dates, in date order:

- every changed date: its partitions of viewing_events, sessions, quarantine and programmes are registered in
  Hive (``hive/register_partitions.sql``, idempotent);
- a date whose programme guide changed (``<catalogs>/epg/dt=<date>/``: a guide that arrives before or after the
  sessions, or a corrected one): its guide is loaded into Greenplum with :func:`iptv.warehouse.load_programmes`
  (one transaction: dim_programme of the date replaced, bad rows and gaps rejected into load_rejects, the
  programme marts of the date recomputed; idempotent). Hive's programme audience is a view, nothing to
  recompute there;
- a date whose sessions changed: its new files are loaded into Greenplum with
  :func:`iptv.warehouse.load_sessions` (``append``: one transaction per date; the warehouse's ledger of loaded
  files says which files are new, their sessions are added to the facts and to the marts of every date they
  reach; a rewritten or removed file reloads the date whole; idempotent), then the Hive marts
  (``hive/marts/<name>.sql``: INSERT OVERWRITE of partition dt) of that date and the next date (sessions crossing
  midnight) are recomputed. When the guide and the sessions of a date change together the guide is loaded
  first (its programme marts recomputed from the facts already loaded), then the new sessions added;
- a date whose quarantine changed (``<quarantine>/dt=<date>/``, the records of the messages the ingestion
  rejected): its records are counted per reason into Greenplum's ``quarantine_daily`` with
  :func:`iptv.warehouse.load_quarantine` (one transaction, the date's rows replaced; a date whose files are gone
  has none), for the dashboards; the records stay on the lake, in Hive's ``quarantine`` table;
- a change of the catalogs reloads the dimensions (:func:`iptv.warehouse.load_dims`) and recomputes the Hive
  mart_channel_daily of the dates already synced.

Whole syncs of one warehouse schema are serialised (the NiFi processor and the command line may run at once, and
two Hive jobs writing the same mart table collide in Spark's ``_temporary`` directory): a sync that has something
to do first takes the schema's sync lock (``greenplum/sync_lock.sql``, a PostgreSQL session-level advisory lock
on a connection of its own), waiting at most ``postgres.sync_lock_timeout_s`` for another sync to finish, and
holds it until it ends. A sync that cannot take it (the timeout, PostgreSQL down) syncs nothing, reports one
error and is retried next run; an idle sync needs no lock.

The state is updated per date as soon as that date is done, so a failure (engine down) leaves the date changed
and the next sync retries it; the other dates still go on. Bad data never fails a date: rows with a wrong
number of fields or an unparseable value are rejected by the warehouse loader, counted by reason (in the load
summary lines and ``SyncResult.rejected``; the guide's in ``SyncResult.programmes_rejected``) and kept in
``iptv_dw.load_rejects`` (Hive reads them as NULLs).
Only an engine or storage failure is an error. Never a crash.

The configuration is read once, by :class:`Engines`, into what each side needs, and passed down from there:
:class:`~iptv.warehouse.sources.LakeFiles` (the HDFS layout and one WebHDFS client: the listing, the sessions and
catalog files), :class:`~iptv.hive_tables.HiveTables` (the Hive database and locations of the hive/*.sql files)
and :class:`~iptv.warehouse.schema.Warehouse` (dialect, roles and schema of the greenplum/*.sql files); the
connections take their endpoint from the config when they are opened.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from iptv.config import Config
from iptv.datasets import DATASETS
from iptv.hive_tables import HiveTables
from iptv.lake_state import (
    CATALOGS,
    DT_DIR,
    KINDS,
    SETTLED_S,
    Changes,
    ListingCache,
    apply_keys,
    detect_changes,
    fingerprint,
    hive_dates,
    parse_key,
    partition_key,
    synced_programme_dates,
    synced_session_dates,
)
from iptv.warehouse import (
    LakeFiles,
    LoadError,
    Warehouse,
    load_dims,
    load_programmes,
    load_quarantine,
    load_sessions,
)

log = logging.getLogger(__name__)

__all__ = [
    "CATALOGS",
    "KINDS",
    "SETTLED_S",
    "Changes",
    "Engines",
    "ListingCache",
    "SyncLockTimeoutError",
    "SyncResult",
    "apply_keys",
    "detect_changes",
    "fingerprint",
    "hive_dates",
    "lake_listing",
    "list_lake",
    "parse_key",
    "partition_key",
    "sync",
    "synced_programme_dates",
    "synced_session_dates",
]

Progress = Callable[[str, int, int], None]


# ------------------------------------------------------------------------------------------ listing


def lake_listing(files: LakeFiles, cache: ListingCache | None = None) -> dict[str, str]:
    """The current ``{key: fingerprint}`` of the lake: every non-empty dt= directory of viewing_events, sessions,
    quarantine and the programme guide, and the channels and users catalog directories (WebHDFS LISTSTATUS, one
    call per directory; with a ``cache``, dt= directories unchanged since a listing of it are not listed
    again)."""
    from iptv.hdfs_client import HdfsError

    client = files.client
    out: dict[str, str] = {}

    def listing(path: str) -> list[tuple[str, dict[str, Any]]] | None:
        try:
            return client.list(path, status=True)
        except HdfsError as exc:
            if "does not exist" in str(exc) or "FileNotFound" in str(exc):
                return None
            raise

    for kind in KINDS:
        base = DATASETS[kind].directory(files.paths)
        for name, st in listing(base) or []:
            m = DT_DIR.match(name)
            if st.get("type") != "DIRECTORY" or not m:
                continue
            directory, mtime = f"{base}/{name}", int(st.get("modificationTime", 0))
            hit, fp = cache.get(directory, mtime) if cache is not None else (False, None)
            if not hit:
                fp = fingerprint(listing(directory) or [])
                if cache is not None:
                    cache.put(directory, mtime, fp)
            if fp is not None:
                out[partition_key(kind, m.group(1))] = fp
    for cat in CATALOGS:
        fp = fingerprint(listing(files.catalog_dir(cat)) or [])
        if fp is not None:
            out[f"catalogs/{cat}"] = fp
    return out


def list_lake(cfg: Config) -> dict[str, str]:
    """:func:`lake_listing` of the lake of ``cfg``."""
    return lake_listing(LakeFiles.from_config(cfg))


# ------------------------------------------------------------------------------------------ sync


@dataclass
class SyncResult:
    dates: list[str] = field(default_factory=list)  # dates synced (some directory changed), in order
    hive_dates: list[str] = field(default_factory=list)  # dates whose Hive marts were recomputed
    loads: list[str] = field(default_factory=list)  # Greenplum load summary lines
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # rejected sessions rows by reason, over every load
    programmes_loaded: int = 0  # programmes loaded into dim_programme, over every guide load
    programmes_rejected: dict[str, int] = field(default_factory=dict)  # rejected guide rows and gaps by reason
    quarantined: dict[str, int] = field(default_factory=dict)  # quarantine records by reason, over every load
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
        guide_why = ", ".join(f"{k}={v}" for k, v in self.programmes_rejected.items() if v)
        guide = f"programmes={self.programmes_loaded}{f' ({guide_why})' if guide_why else ''} "
        quarantined = f"quarantined={sum(self.quarantined.values())} "
        return (
            f"sync: dates={len(self.dates)} ({span}) hive_dates={len(self.hive_dates)} "
            f"loaded={self.rows_loaded} rejected={self.rows_rejected}{f' ({why})' if why else ''} {guide}"
            f"{quarantined}dims={'yes' if self.dims else 'no'} errors={len(self.errors)} {self.seconds:.1f}s"
        )


#: What a sync updates: the warehouse (Greenplum: facts, guide, quarantine counts, dimensions and their marts) and
#: Hive (partitions and Hive marts). A sync of one target leaves the other's work to a sync of that target, so the
#: two can run apart (the warehouse often, for freshness; Hive's Spark jobs less often).
TARGETS = ("warehouse", "hive")
#: Second key of each target's advisory lock (greenplum/sync_lock.sql).
LOCK_KEYS = {"warehouse": 2, "hive": 3}


class SyncLockTimeoutError(RuntimeError):
    """Another sync of the same warehouse schema held the sync lock for longer than the timeout."""


class Engines:
    """What a sync works on, each set up from the config on first use (an idle sync opens no connection): the
    lake's files, Hive (a connection to the ``default`` database and the project's :class:`HiveTables`,
    created if missing), the warehouse (a loader connection and its :class:`Warehouse`, DDL applied) and the
    schema's sync lock (:meth:`lock`)."""

    def __init__(self, cfg: Config, schema: str = "iptv_dw") -> None:
        self.cfg, self.schema = cfg, schema
        self._lake: LakeFiles | None = None
        self._hive: Any = None
        self._hive_tables: HiveTables | None = None
        self._pg: Any = None
        self._wh: Warehouse | None = None
        self._lock: Any = None

    def lock(self, targets: tuple[str, ...] = TARGETS) -> None:
        """Take the schema's sync lock of each of ``targets`` (``greenplum/sync_lock.sql``), waiting at most
        ``postgres.sync_lock_timeout_s`` for each; :class:`SyncLockTimeoutError` when another sync held one all that
        time. They are held by a connection of their own (a failed step's :meth:`close` keeps them) until
        :meth:`release`."""
        if self._lock is not None:
            return
        import psycopg2.errors

        from iptv import db

        self._wh = self._wh or Warehouse(self.cfg, schema=self.schema)
        timeout = self.cfg.postgres.sync_lock_timeout_s
        # Keepalives: a client whose server went away notices it instead of holding a dead lock connection.
        conn = db.connect(self.cfg, "loader", application_name="iptv lake sync lock", keepalives=1)
        try:
            with conn, conn.cursor() as cur:
                for target in TARGETS:  # always in this order: two syncs cannot wait for each other
                    if target in targets:
                        cur.execute(
                            self._wh.sql("sync_lock.sql", lock_timeout_ms=timeout * 1000, lock_key=LOCK_KEYS[target])
                        )
        except psycopg2.errors.LockNotAvailable as exc:
            conn.close()
            raise SyncLockTimeoutError(
                f"another sync of {self.schema} held the sync lock for over {timeout}s (postgres.sync_lock_timeout_s)"
            ) from exc
        except BaseException:
            conn.close()
            raise
        self._lock = conn

    def release(self) -> None:
        """Release the sync lock (its connection closed)."""
        if self._lock is not None:
            try:
                self._lock.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection releases it all the same
                pass
            self._lock = None

    def lake(self) -> LakeFiles:
        if self._lake is None:
            self._lake = LakeFiles.from_config(self.cfg)
        return self._lake

    def hive(self) -> tuple[Any, HiveTables]:
        """A cursor on Hive and the project's tables there."""
        if self._hive is None:
            from iptv import hive_client

            tables = self._hive_tables or HiveTables.from_config(self.cfg)
            self._hive = hive_client.connect(self.cfg, database="default")
            tables.prepare(self._hive.cursor())
            self._hive_tables = tables
        return self._hive.cursor(), self._hive_tables

    def warehouse(self) -> tuple[Any, Warehouse]:
        """The loader's connection and the warehouse it loads."""
        if self._pg is None:
            from iptv import db
            from iptv.warehouse import apply_ddl

            self._wh = self._wh or Warehouse(self.cfg, schema=self.schema)
            self._pg = db.connect(self.cfg, "loader")
            apply_ddl(self._pg, self._wh)
        return self._pg, self._wh

    def close(self) -> None:
        """Close the Hive and warehouse connections (a failed step calls it: the next step reconnects); the sync
        lock stays held."""
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


def _load_catalogs(
    engines: Engines, ch: Changes, state: dict[str, str], res: SyncResult, targets: tuple[str, ...]
) -> dict[str, str]:
    """Reload the dimensions (warehouse) and the Hive mart_channel_daily of the dates synced before (hive); the new
    state."""
    if "warehouse" in targets:
        conn, wh = engines.warehouse()
        lake = engines.lake()
        dims = load_dims(conn, wh, lake.catalog_sources("channels"), lake.catalog_sources("users"))
        res.dims_summary = (
            f"dims: channels={dims.channels} users={dims.users} skipped={dims.skipped} files={dims.files}"
        )
    # Names and universe feed the channel mart of the dates synced before.
    old = [d for d in synced_session_dates(state) if d not in ch.session_dates]
    if old and "hive" in targets:
        cur, tables = engines.hive()
        for d in hive_dates(old):
            tables.recompute_marts(cur, [d], ("channel_daily",))
    res.dims = True
    return apply_keys(state, {k: v for k, v in ch.keys.items() if k.startswith("catalogs/")})


def _load_programmes(engines: Engines, day: dt.date, res: SyncResult) -> None:
    """Load the programme guide of ``day`` into Greenplum, its programme marts recomputed."""
    conn, wh = engines.warehouse()
    try:
        sources = engines.lake().programme_sources(day)
    except LoadError:
        sources = []  # directory removed: the date's guide loads empty (the lake is the truth)
    pr = load_programmes(conn, wh, day, sources)
    res.loads.append(pr.summary())
    res.programmes_loaded += pr.programmes
    for reason, n in [*pr.rejected.items(), ("gap", pr.gaps)]:
        if n:
            res.programmes_rejected[reason] = res.programmes_rejected.get(reason, 0) + n


def _load_quarantine(engines: Engines, day: dt.date, res: SyncResult) -> None:
    """Count the quarantine records of ``day`` per reason into Greenplum's quarantine_daily."""
    conn, wh = engines.warehouse()
    try:
        sources = engines.lake().quarantine_sources(day)
    except LoadError:
        sources = []  # directory removed: the date has no quarantine (the lake is the truth)
    qr = load_quarantine(conn, wh, day, sources)
    res.loads.append(qr.summary())
    for reason, n in qr.events.items():
        res.quarantined[reason] = res.quarantined.get(reason, 0) + n


def _load_sessions(engines: Engines, day: dt.date, res: SyncResult) -> None:
    """Append the new sessions files of ``day`` to the warehouse (the ledger says which)."""
    conn, wh = engines.warehouse()
    try:
        sources = engines.lake().session_sources(day)
    except LoadError:
        sources = []  # directory removed: the date loads empty (the lake is the truth)
    lr = load_sessions(conn, wh, day, sources, append=True)
    res.loads.append(lr.summary())
    res.rows_read += lr.rows_read
    res.rows_loaded += lr.rows_loaded
    res.rows_rejected += lr.rows_rejected
    for reason, n in lr.rejected.items():
        res.rejected[reason] = res.rejected.get(reason, 0) + n


def _hive_marts(engines: Engines, day: dt.date, done_hive: set[dt.date]) -> None:
    """Recompute the Hive marts of ``day`` and the next date (sessions crossing midnight), once each per sync."""
    cur, tables = engines.hive()
    days = [d for d in hive_dates([day]) if d not in done_hive]
    tables.recompute_marts(cur, days)
    done_hive.update(days)


def sync(
    cfg: Config,
    state: Mapping[str, str] | None,
    *,
    schema: str = "iptv_dw",
    progress: Progress | None = None,
    listing: Mapping[str, str] | None = None,
    cache: ListingCache | None = None,
    targets: tuple[str, ...] = TARGETS,
) -> tuple[SyncResult, dict[str, str]]:
    """Sync every changed date of the lake into Hive and Greenplum. Returns the result and the new state
    (``state`` with the keys of the dates and catalogs that were synced). Never raises for a failed date or
    engine: the error is in ``result.errors`` and the date stays changed (retried next time). ``cache`` keeps the
    fingerprints of unchanged directories from one sync to the next (:class:`ListingCache`); ``targets`` (some of
    :data:`TARGETS`) limits the sync to the warehouse or to Hive -- its state then says what that target has
    synced; ``listing`` replaces the lake's listing (tests)."""
    unknown = set(targets) - set(TARGETS)
    if unknown or not targets:
        raise ValueError(f"sync targets {sorted(targets)}: use some of {', '.join(TARGETS)}")
    to_warehouse, to_hive = "warehouse" in targets, "hive" in targets
    t0 = time.monotonic()
    res = SyncResult()
    state = dict(state or {})
    engines = Engines(cfg, schema)
    try:
        current = dict(listing) if listing is not None else lake_listing(engines.lake(), cache)
    except Exception as exc:  # noqa: BLE001 - HDFS down: report, retry next time
        res.errors.append(_err("list HDFS", exc))
        res.seconds = time.monotonic() - t0
        return res, state
    ch = detect_changes(current, state)
    if ch.stale:
        state = apply_keys(state, dict.fromkeys(ch.stale))
    if not ch:
        res.seconds = time.monotonic() - t0
        return res, state
    try:
        engines.lock(targets)
    except Exception as exc:  # noqa: BLE001 - another sync too long, or PostgreSQL down: retried next run
        log.warning("sync lock of %s not taken: %s", schema, exc)
        res.errors.append(_err(f"sync lock of {schema} (nothing synced, retried next run)", exc))
        res.seconds = time.monotonic() - t0
        return res, state

    total = len(ch.dates) + (1 if ch.catalogs else 0)
    step = 0
    try:
        if ch.catalogs:
            if progress:
                progress("catalogs", step, total)
            try:
                state = _load_catalogs(engines, ch, state, res, targets)
            except Exception as exc:  # noqa: BLE001
                res.errors.append(_err("catalogs", exc))
            step += 1

        # Register every changed date first: the marts of a date read the partition of the day before.
        failed: set[dt.date] = set()
        for day in ch.dates if to_hive else []:
            try:
                cur, tables = engines.hive()
                tables.register(cur, day)
            except Exception as exc:  # noqa: BLE001 - the date stays changed and is retried
                log.warning("registering %s failed: %s", day, exc)
                res.errors.append(_err(f"{day} register", exc))
                failed.add(day)
                engines.close()
        done_hive: set[dt.date] = set()
        for day in ch.dates:
            if progress:
                progress(day.isoformat(), step, total)
            step += 1
            if day in failed:
                continue
            try:
                # Greenplum first: its load validates the files (a malformed file fails the date before any Hive
                # work); a failure after it is harmless, the loads are idempotent.
                if to_warehouse and day in ch.programme_dates:
                    _load_programmes(engines, day, res)
                if to_warehouse and day in ch.session_dates:
                    _load_sessions(engines, day, res)
                if to_hive and day in ch.session_dates:
                    _hive_marts(engines, day, done_hive)
                if to_warehouse and day in ch.quarantine_dates:
                    _load_quarantine(engines, day, res)
                state = apply_keys(state, ch.keys_of(day))
                res.dates.append(day.isoformat())
            except Exception as exc:  # noqa: BLE001 - the date stays changed and is retried
                log.warning("sync of %s failed: %s", day, exc)
                res.errors.append(_err(str(day), exc))
                engines.close()
        res.hive_dates = [d.isoformat() for d in sorted(done_hive)]
        if progress:
            progress("done", total, total)
    finally:
        engines.close()
        engines.release()
    res.seconds = time.monotonic() - t0
    log.info("%s", res.summary())
    return res, state
