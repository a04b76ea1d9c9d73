"""``python -m analytics report``: every insight of :data:`analytics.insights.BUILDERS` from the warehouse (the
read-only role), written as a self-contained HTML page with the figures as PNG files and the sentences as JSON
beside it (:mod:`analytics.render`)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from analytics.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from analytics.db import SQL_SUBDIR, WarehouseReader
from analytics.insight import Insight, NoDataError
from analytics.insights import BUILDERS, InsightBuilder
from analytics.render import write_report
from iptv.config import Config, ConfigError, state_dir
from iptv.warehouse.schema import DEFAULT_SCHEMA

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, help="directory of the report's files (default: <state dir>/report)")
    p.add_argument("--schema", default=DEFAULT_SCHEMA, help=f"warehouse schema to read (default: {DEFAULT_SCHEMA})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


class FrameCache:
    """The frames of greenplum/analytics/*.sql, each query run once however many insights read it."""

    def __init__(self, reader: WarehouseReader) -> None:
        self.reader = reader
        self.frames: dict[str, pd.DataFrame] = {}

    def get(self, name: str) -> pd.DataFrame:
        if name not in self.frames:
            try:
                self.frames[name] = self.reader.frame(name)
            except sa.exc.DBAPIError as exc:
                raise QueryError(f"greenplum/{SQL_SUBDIR}/{name}.sql failed: {_first_line(exc)}") from None
        return self.frames[name]


def _first_line(exc: Exception) -> str:
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


def build_all(
    frames: FrameCache, builders: list[InsightBuilder], progress: bool = True
) -> tuple[list[Insight], dict[str, str]]:
    """The insights of ``builders`` in order, and those left out for want of data (key -> why)."""
    from tqdm import tqdm

    insights, skipped = [], {}
    bar = tqdm(builders, unit="insight", desc="report", disable=None if progress else True, leave=False)
    for builder in bar:
        bar.set_postfix_str(builder.key)
        try:
            insights.append(builder.build(*(frames.get(q) for q in builder.queries)))
        except NoDataError as exc:
            log.info("%s left out: %s", builder.key, exc)
            skipped[builder.key] = str(exc)
    return insights, skipped


class WarehouseUnreachableError(RuntimeError):
    """The warehouse cannot be connected to (or its credentials are missing); the message is one line."""


class QueryError(RuntimeError):
    """A query of the report failed (e.g. the schema has no such table); the message is one line."""


class EmptyWarehouseError(RuntimeError):
    """The warehouse holds no viewing (mart_daily is empty)."""


@dataclass
class Report:
    """The built insights, those left out (key -> why) and the dates covered (the rows of mart_daily)."""

    insights: list[Insight]
    skipped: dict[str, str]
    daily: pd.DataFrame

    @property
    def heading(self) -> str:
        return f"IPTV viewing, {self.daily['dt'].min():%d %b %Y} to {self.daily['dt'].max():%d %b %Y}"


def collect(cfg: Config, schema: str = DEFAULT_SCHEMA, progress: bool = True) -> Report:
    """Every insight of :data:`BUILDERS` from the warehouse schema ``schema`` as the read-only role."""
    try:
        reader = WarehouseReader(cfg, schema)
        with reader.engine.connect():
            pass
    except (ConfigError, sa.exc.OperationalError) as exc:
        raise WarehouseUnreachableError(
            f"warehouse {cfg.postgres.host}:{cfg.postgres.port} unreachable: {_first_line(exc)}"
        ) from None
    try:
        frames = FrameCache(reader)
        daily = frames.get("daily")
        if daily.empty:
            raise EmptyWarehouseError(f"{schema}.mart_daily is empty: load the warehouse first (make demo)")
        insights, skipped = build_all(frames, BUILDERS, progress=progress)
    finally:
        reader.close()
    return Report(insights, skipped, daily)


def run(args: argparse.Namespace, cfg: Config) -> int:
    started = time.monotonic()
    out_dir = args.out or state_dir(cfg) / "report"
    try:
        built = collect(cfg, args.schema, progress=not args.no_progress)
    except WarehouseUnreachableError as exc:
        print(f"analytics report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (EmptyWarehouseError, QueryError) as exc:
        print(f"analytics report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    html_file = write_report(out_dir, built.insights, built.skipped, built.heading, dt.datetime.now(dt.UTC))
    skipped = built.skipped
    left_out = f", {len(skipped)} left out ({', '.join(skipped)})" if skipped else ""
    print(
        f"report: {len(built.insights)} insights{left_out} over {len(built.daily)} days in "
        f"{time.monotonic() - started:.1f} s -> {html_file}"
    )
    return EXIT_OK
