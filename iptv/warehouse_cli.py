"""Load the IPTV warehouse (Greenplum, or PostgreSQL locally): DDL, catalogs and sessions of given dates.

Every run applies the DDL first (idempotent, schema iptv_dw). Each date is loaded in one transaction that
replaces the date's sessions and recomputes the marts of the dates they touch, so loads can be repeated. With
--append only the files of a date its ledger of loaded files does not hold are read and their rows added (the
date is reloaded whole when a loaded file was rewritten or removed); the lake sync loads this way.

Examples:
  python scripts/load_greenplum.py --ddl-only
  python scripts/load_greenplum.py --dims                          # catalogs from HDFS
  python scripts/load_greenplum.py --dt 2026-03-02 2026-03-03       # sessions from HDFS
  python scripts/load_greenplum.py --from 2026-03-01 --to 2026-03-07 --dims
  python scripts/load_greenplum.py --local-root /tmp/lake --dt 2026-03-02   # /tmp/lake/data/iptv/sessions/...
  python scripts/load_greenplum.py --dt 2026-03-02 --append        # only the files not loaded yet

Exit codes: 0 all done (bad rows are rejected, counted by reason and kept in iptv_dw.load_rejects: not a
failure); 1 a load failed (missing source directory, database error; other dates are still attempted);
2 bad arguments; 3 configuration or connection problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

import psycopg2

from iptv import db
from iptv import warehouse as wh_mod
from iptv.config import ConfigError, load_config

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="load_greenplum", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    p.add_argument("--dt", nargs="+", type=_date, default=[], metavar="DATE", help="session dates to load")
    p.add_argument("--from", dest="date_from", type=_date, metavar="DATE", help="first date of a range (with --to)")
    p.add_argument("--to", dest="date_to", type=_date, metavar="DATE", help="last date of a range (inclusive)")
    p.add_argument("--dims", action="store_true", help="(re)load dim_channel and dim_user from the catalogs")
    p.add_argument("--ddl-only", action="store_true", help="only create/upgrade the schema and grants")
    p.add_argument(
        "--append",
        action="store_true",
        help="read only the session files not in the date's ledger (whole reload if one was rewritten or removed)",
    )
    p.add_argument("--recompute-all", action="store_true", help="recompute every mart of every covered date")
    p.add_argument(
        "--local-root",
        type=Path,
        metavar="DIR",
        help="read the HDFS layout of config hdfs.paths under this local directory instead of HDFS",
    )
    p.add_argument("--schema", default=wh_mod.DEFAULT_SCHEMA, help="target schema (default: %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if (args.date_from is None) != (args.date_to is None):
        p.error("--from and --to go together")
    if args.date_from and args.date_from > args.date_to:
        p.error("--from is after --to")
    dates = set(args.dt)
    if args.date_from:
        dates.update(args.date_from + dt.timedelta(days=i) for i in range((args.date_to - args.date_from).days + 1))
    args.dates = sorted(dates)
    if args.ddl_only and (args.dates or args.dims or args.recompute_all):
        p.error("--ddl-only excludes the other actions")
    if not (args.ddl_only or args.dates or args.dims or args.recompute_all):
        p.error("nothing to do: give --dt/--from/--to, --dims, --recompute-all or --ddl-only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = load_config(args.config)
        wh = wh_mod.Warehouse(cfg, schema=args.schema)
        conn = db.connect(cfg, "loader", application_name="iptv-load-greenplum")
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except psycopg2.OperationalError as exc:
        print(f"error: cannot connect to the warehouse: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_CONFIG
    failed = 0
    try:
        try:
            wh_mod.apply_ddl(conn, wh)
        except psycopg2.Error as exc:
            print(f"error: DDL failed: {' '.join(str(exc).split())}", file=sys.stderr)
            return EXIT_FAILED
        print(f"ddl: schema {wh.schema} ready ({wh.dialect})")
        if args.dims:
            try:
                channels = wh_mod.list_sources(cfg, wh_mod.catalog_dir(cfg, "channels"), args.local_root)
                users = wh_mod.list_sources(cfg, wh_mod.catalog_dir(cfg, "users"), args.local_root)
                r = wh_mod.load_dims(conn, wh, channels, users)
                print(
                    f"dims: channels={r.channels} users={r.users} skipped={r.skipped} files={r.files} "
                    f"recomputed_dates={r.recomputed_dates} {r.seconds:.1f}s"
                )
            except (wh_mod.LoadError, psycopg2.Error, OSError) as exc:
                failed += 1
                print(f"dims: FAILED: {' '.join(str(exc).split())}", file=sys.stderr)
        for day in args.dates:
            try:
                sources = wh_mod.list_sources(cfg, wh_mod.session_dir(cfg, day), args.local_root)
                print(wh_mod.load_sessions(conn, wh, day, sources, append=args.append).summary())
            except (wh_mod.LoadError, psycopg2.Error, OSError) as exc:
                failed += 1
                print(f"dt={day} FAILED: {' '.join(str(exc).split())}", file=sys.stderr)
        if args.recompute_all:
            try:
                dates = wh_mod.recompute_all(conn, wh)
                print(f"recompute: {len(dates)} dates")
            except psycopg2.Error as exc:
                failed += 1
                print(f"recompute: FAILED: {' '.join(str(exc).split())}", file=sys.stderr)
    finally:
        conn.close()
    total = len(args.dates) + int(args.dims) + int(args.recompute_all)
    print(f"summary: {total - failed} of {total} steps done" if total else "summary: ddl only")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
