"""Reconcile the pipeline's counts end to end and name every gap (iptv/reconcile.py, iptv/reconcile_sources.py).

(a) per Kafka partition: the topic's offsets and the ingestion consumer group's commits against the ingestion's
    accounting (ingest_batches on the lake), and per batch the accounting against the batch's files: events
    sent = landed (viewing_events) + rejected (quarantine) + duplicates dropped;
(b) per date (of time_start): the lake's sessions against fact_session (+ load rejects), and the marts' totals
    (mart_daily, mart_channel_daily, mart_hourly) against fact_session's.

Examples:
  python scripts/reconcile.py                               # everything on the lake; gaps, then a summary line
  python scripts/reconcile.py --from 2026-03-01 --to 2026-03-07
  python scripts/reconcile.py --json                        # figures and gaps as JSON on stdout
  python scripts/reconcile.py --store                       # also into the warehouse (Pipeline health dashboard)

Exit codes: 0 no gap; 1 at least one gap (each printed on its own line); 2 bad arguments; 3 configuration
problem or an engine unreachable (Kafka, HDFS, the warehouse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from iptv import reconcile as rc
from iptv import reconcile_sources as sources
from iptv.config import ConfigError, load_config
from iptv.nifi import flows
from iptv.warehouse.schema import Warehouse

EXIT_OK, EXIT_GAPS, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="reconcile", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    p.add_argument(
        "--from",
        dest="date_from",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="first date (YYYY-MM-DD) of the per-batch (arrival) and per-date (time_start) checks",
    )
    p.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, metavar="DATE", help="last date, inclusive")
    p.add_argument("--topic", help="Kafka topic (default: config kafka.topics.viewing_events.name)")
    p.add_argument("--group", help="the ingestion's consumer group (default: the one deploy_flows gives --instance)")
    p.add_argument("--instance", help="flow instance deployed with deploy_flows.py --instance (its consumer group)")
    p.add_argument("--schema", default="iptv_dw", help="warehouse schema (default: %(default)s)")
    p.add_argument("--no-warehouse", action="store_true", help="check Kafka -> lake only, not the warehouse")
    p.add_argument("--store", action="store_true", help="write the result into <schema>.reconcile_results")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)  # fmt: skip
    if args.date_from and args.date_to and args.date_from > args.date_to:
        p.error("--from is after --to")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return 130


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = load_config(args.config)
        params = flows.parameters_from_config(cfg, args.instance)
        target = sources.Target(
            topic=args.topic or params["kafka.topic"],
            group=args.group or params["kafka.group.id"],
            paths=cfg.hdfs.paths.as_dict(),
            schema=args.schema,
            date_from=args.date_from,
            date_to=args.date_to,
        )
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    conn = None
    try:
        if not args.no_warehouse or args.store:
            from iptv import db

            conn = db.connect(cfg, "loader" if args.store else "reader")
        report = sources.run(cfg, target, None if args.no_warehouse else conn)
        if args.store:
            sources.store(conn, Warehouse(cfg, args.schema), report, target, dt.datetime.now(dt.UTC))
    except Exception as exc:  # noqa: BLE001 - an engine that cannot be read: one line naming it
        print(f"error: cannot reconcile: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)  # fmt: skip
        return EXIT_ENGINE
    finally:
        if conn is not None:
            conn.close()
    if args.json:
        print(json.dumps({"summary": rc.summary_line(report), **report.as_dict()}, default=str))
    else:
        for gap in report.gaps:
            print(f"  gap {gap}")
        print(rc.summary_line(report), flush=True)
    return EXIT_OK if report.ok else EXIT_GAPS


if __name__ == "__main__":
    raise SystemExit(main())
