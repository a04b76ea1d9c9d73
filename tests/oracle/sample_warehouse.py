"""The deterministic sample lake (:mod:`oracle.sample_lake`) loaded by the pipeline's own loader
(:mod:`iptv.warehouse`) into a warehouse schema, for the integration tests that need a warehouse with data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iptv import db, warehouse
from iptv.config import Config
from oracle.sample_lake import write_sample_lake


def load_sample_warehouse(
    cfg: Config, wh: warehouse.Warehouse, root: Path, dates: Sequence[dt.date], **lake: Any
) -> dict[str, Any]:
    """Write the sample lake of ``dates`` under ``root`` (``lake``: the options of :func:`write_sample_lake`)
    and load it into ``wh``'s schema (DDL, catalogs, then each date's guide and sessions, and its quarantine
    counts when the lake has a quarantine) as the loader role. Returns the written files (:func:`write_sample_lake`)."""
    files = write_sample_lake(root, cfg.hdfs.paths.as_dict(), dates, **lake)
    conn = db.connect(cfg, "loader")
    try:
        warehouse.apply_ddl(conn, wh)
        cat = cfg.hdfs.paths.catalogs
        warehouse.load_dims(
            conn, wh, warehouse.list_sources(cfg, cat + "/channels", root),
            warehouse.list_sources(cfg, cat + "/users", root),
        )  # fmt: skip
        for d in dates:
            warehouse.load_programmes(conn, wh, d, warehouse.list_sources(cfg, warehouse.programme_dir(cfg, d), root))
            warehouse.load_sessions(conn, wh, d, warehouse.list_sources(cfg, warehouse.session_dir(cfg, d), root))
        for d in files["quarantine"]:
            warehouse.load_quarantine(conn, wh, d, warehouse.list_sources(cfg, warehouse.quarantine_dir(cfg, d), root))
    finally:
        conn.close()
    return files


def drop_schema(cfg: Config, wh: warehouse.Warehouse) -> None:
    """Drop ``wh``'s schema and everything in it."""
    conn = db.connect(cfg, "loader")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {wh.schema} CASCADE")
    finally:
        conn.close()
