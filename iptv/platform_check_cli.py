"""Check the data platform end to end: events through Kafka -> HDFS -> Hive and back, on the configured
endpoints (the local stack by default; a real cluster with --config or IPTV_CONFIG). Exit 0 when every event
made it, 1 otherwise."""

from __future__ import annotations

import argparse
import logging
import sys

from iptv.config import ConfigError, load_config
from iptv.platform_check import expected_channel_sum, run_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    parser.add_argument("--sessions", type=int, default=5, help="sessions to send (two events each)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        cfg = load_config(args.config)
        res = run_check(cfg, sessions=args.sessions)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for the operator, whatever broke
        print(f"error: platform check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    ok = res.ok and res.hive_channel_sum == expected_channel_sum(args.sessions)
    print(
        f"platform check {'OK' if ok else 'FAILED'}: {res.sent} events sent to Kafka, {res.consumed} consumed, "
        f"landed in HDFS {res.hdfs_path}, Hive counted {res.hive_count} (sum channel_id {res.hive_channel_sum}) "
        f"in {res.seconds:.1f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
