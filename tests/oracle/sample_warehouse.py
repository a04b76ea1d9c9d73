"""A lake in the HDFS layout, written locally (the deterministic sample of :mod:`oracle.sample_lake` or the
producer's simulation of :mod:`oracle.simulated_lake`), loaded by the pipeline's own loader (:mod:`iptv.warehouse`)
into a warehouse schema, for the integration tests and benches that need a warehouse with data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iptv import db, warehouse
from iptv.config import Config
from oracle.sample_lake import write_sample_lake


def load_lake(cfg: Config, wh: warehouse.Warehouse, root: str | Path, dates: Sequence[dt.date]) -> None:
    """Load the lake under ``root`` into ``wh``'s schema as the loader role: DDL, catalogs, then for each date its
    guide (when it has one), its sessions and its quarantine counts (when it has a quarantine)."""
    root = Path(root)
    conn = db.connect(cfg, "loader")
    try:
        warehouse.apply_ddl(conn, wh)
        cat = cfg.hdfs.paths.catalogs
        warehouse.load_dims(
            conn, wh, warehouse.list_sources(cfg, cat + "/channels", root),
            warehouse.list_sources(cfg, cat + "/users", root),
        )  # fmt: skip
        for d in dates:
            guide_dir = warehouse.programme_dir(cfg, d)
            if (root / guide_dir.lstrip("/")).is_dir():
                warehouse.load_programmes(conn, wh, d, warehouse.list_sources(cfg, guide_dir, root))
            warehouse.load_sessions(conn, wh, d, warehouse.list_sources(cfg, warehouse.session_dir(cfg, d), root))
            quarantine_dir = warehouse.quarantine_dir(cfg, d)
            if (root / quarantine_dir.lstrip("/")).is_dir():
                warehouse.load_quarantine(conn, wh, d, warehouse.list_sources(cfg, quarantine_dir, root))
    finally:
        conn.close()


def load_sample_warehouse(
    cfg: Config, wh: warehouse.Warehouse, root: Path, dates: Sequence[dt.date], **lake: Any
) -> dict[str, Any]:
    """Write the sample lake of ``dates`` under ``root`` (``lake``: the options of :func:`write_sample_lake`)
    and load it into ``wh``'s schema (:func:`load_lake`). Returns the written files (:func:`write_sample_lake`)."""
    files = write_sample_lake(root, cfg.hdfs.paths.as_dict(), dates, **lake)
    load_lake(cfg, wh, root, dates)
    return files


def fetch_rows(cfg: Config, sql: str, role: db.Role = "reader") -> list[tuple]:
    """The rows of ``sql`` as the warehouse role ``role``, on a connection of its own (closed after)."""
    conn = db.connect(cfg, role)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def drop_schema(cfg: Config, wh: warehouse.Warehouse) -> None:
    """Drop ``wh``'s schema and everything in it."""
    conn = db.connect(cfg, "loader")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{wh.schema}" CASCADE')
    finally:
        conn.close()
