"""``python -m analytics report``: every insight of :data:`analytics.insights.BUILDERS` from the warehouse (the
read-only role), written as a self-contained HTML page with the figures as PNG files and the sentences as JSON
beside it (:mod:`analytics.render`)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from analytics.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from analytics.db import WarehouseReader
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
            self.frames[name] = self.reader.frame(name)
        return self.frames[name]


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


def run(args: argparse.Namespace, cfg: Config) -> int:
    started = time.monotonic()
    out_dir = args.out or state_dir(cfg) / "report"
    try:
        reader = WarehouseReader(cfg, args.schema)
        with reader.engine.connect():
            pass
    except (ConfigError, sa.exc.OperationalError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"analytics report: warehouse {cfg.postgres.host}:{cfg.postgres.port} unreachable: {first}",
              file=sys.stderr)  # fmt: skip
        return EXIT_CONFIG
    try:
        frames = FrameCache(reader)
        daily = frames.get("daily")
        if daily.empty:
            print(f"analytics report: {args.schema}.mart_daily is empty: load the warehouse first (make demo)",
                  file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
        insights, skipped = build_all(frames, BUILDERS, progress=not args.no_progress)
    finally:
        reader.close()
    heading = f"IPTV viewing, {daily['dt'].min():%d %b %Y} to {daily['dt'].max():%d %b %Y}"
    html_file = write_report(out_dir, insights, skipped, heading, dt.datetime.now(dt.UTC))
    left_out = f", {len(skipped)} left out ({', '.join(skipped)})" if skipped else ""
    print(
        f"report: {len(insights)} insights{left_out} over {len(daily)} days in "
        f"{time.monotonic() - started:.1f} s -> {html_file}"
    )
    return EXIT_OK
