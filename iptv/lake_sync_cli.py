"""Sync the data lake into Hive and the warehouse once (or keep watching), outside NiFi.

For every dt= directory of sessions, raw events, quarantine or the programme guide (and the catalogs) whose files
changed since the last sync: register the Hive partitions, append the date's new session files to Greenplum (its
ledger of loaded files says which; marts recomputed) and recompute the Hive aggregates of the date and the next
one, load a changed guide, and count a changed quarantine per reason into Greenplum's quarantine_daily
(iptv/lake_sync.py). The sync state (fingerprints of the synced directories) is kept in a JSON file, by default
.stack/lake-sync-state.json; the NiFi processor
SyncWarehouse keeps its own in NiFi's state, so both can run (every step is idempotent).

Examples:
  python scripts/sync_lake.py                      # sync what changed, print a summary
  python scripts/sync_lake.py --watch --interval 5
  python scripts/sync_lake.py --targets warehouse --state .stack/sync-warehouse.json --watch   # Greenplum only
  python scripts/sync_lake.py --reset              # forget the state: re-sync every date (idempotent)
  python scripts/sync_lake.py --json               # the summary as JSON on stdout

Exit codes: 0 done (or nothing to do); 1 some date failed (it is retried next time); 2 bad arguments;
3 configuration problem or HDFS unreachable.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from iptv import lake_sync
from iptv.config import Config, ConfigError, load_config, state_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
STATE_FILE = "lake-sync-state.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="sync_lake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    p.add_argument("--state", type=Path, metavar="FILE", help=f"sync state file (default: <state_dir>/{STATE_FILE})")
    p.add_argument("--schema", default="iptv_dw", help="warehouse schema (default: %(default)s)")
    p.add_argument("--reset", action="store_true", help="forget the sync state first (re-sync every date)")
    p.add_argument(
        "--targets",
        default=",".join(lake_sync.TARGETS),
        help="what to sync: warehouse, hive or both, comma-separated (default %(default)s); each target's state "
        "is its own, so use one --state file per target",
    )
    p.add_argument("--watch", action="store_true", help="keep syncing every --interval seconds (Ctrl-C stops)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between syncs with --watch (%(default)s)")
    p.add_argument("--json", action="store_true", help="print each sync's result as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.interval <= 0:
        p.error("--interval must be positive")
    args.targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if not args.targets or set(args.targets) - set(lake_sync.TARGETS):
        p.error(f"--targets: use some of {', '.join(lake_sync.TARGETS)}")
    return args


def load_state(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"{path} is not a sync state (a JSON object of strings): remove it or use --reset")
    return data


def save_state(path: Path, state: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def run_once(
    cfg: Config, state: dict[str, str], args: argparse.Namespace, cache: lake_sync.ListingCache | None = None
) -> tuple[lake_sync.SyncResult, dict]:
    show = not args.no_progress and not args.json and sys.stderr.isatty()
    if not show:
        return lake_sync.sync(cfg, state, schema=args.schema, cache=cache, targets=args.targets)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("sync {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task("listing", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total)

        return lake_sync.sync(cfg, state, schema=args.schema, progress=progress, cache=cache, targets=args.targets)


def report(res: lake_sync.SyncResult, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(res.to_dict()), flush=True)
        return
    if res.dims_summary:
        print(f"  {res.dims_summary}")
    for line in res.loads:
        print(f"  {line}")
    for err in res.errors:
        print(f"  error: {err}", file=sys.stderr)
    print(res.summary(), flush=True)


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
    if not args.verbose:
        logging.getLogger("iptv.lake_sync").setLevel(logging.ERROR)  # failures are reported in the summary
    try:
        cfg = load_config(args.config)
        path = args.state or state_dir(cfg) / STATE_FILE
        state = {} if args.reset else load_state(path)
    except (ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    cache = lake_sync.ListingCache()  # with --watch: only the directories that changed are listed again
    while True:
        res, state = run_once(cfg, state, args, cache)
        save_state(path, state)
        report(res, args)
        if not args.watch:
            break
        try:
            time.sleep(args.interval)
        except KeyboardInterrupt:
            return EXIT_OK
    if res.errors and any(e.startswith("list HDFS") for e in res.errors):
        return EXIT_CONFIG
    return EXIT_FAILED if res.errors else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
