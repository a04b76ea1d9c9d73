"""``python -m analytics report|forecast|score``: the insight report, the audience forecasts with their backtest,
and the per-subscriber scores, from the warehouse (read-only role) back into it (loader role).

Each command lives in its own module, which gives its options (``add_arguments``) and runs it (``run``):
``report`` in analytics/report.py, ``forecast`` in analytics/forecast.py, ``score`` in analytics/scores.py.

Exit codes: 0 done; 1 the command failed (one line says why); 2 bad arguments; 3 configuration problem or the
warehouse unreachable.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

import sqlalchemy as sa

from iptv.config import Config, ConfigError, load_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
COMMANDS = {
    "report": ("analytics.report", "write the insight report (HTML with its figures)"),
    "forecast": ("analytics.forecast", "backtest the models, forecast hourly viewers, write forecast_hourly"),
    "score": ("analytics.scores", "score every subscriber (viewing tomorrow, 7-day inactivity)"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="analytics", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(sp)
    return p


def run_command(name: str, argv: list[str], cfg: Config) -> int:
    """Run one command (``report``, ``forecast``, ``score``) with its own options ``argv`` and a loaded config,
    importing only that command's module (tests and benches call this in-process)."""
    module = importlib.import_module(COMMANDS[name][0])
    p = argparse.ArgumentParser(prog=f"analytics {name}")
    module.add_arguments(p)
    return module.run(p.parse_args(argv), cfg)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"analytics: configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return importlib.import_module(COMMANDS[args.command][0]).run(args, cfg)
    except sa.exc.OperationalError as exc:  # refused, timed out, bad password: one line, no traceback
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"analytics {args.command}: the warehouse is unreachable: {reason}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:  # one line, not a traceback (-v logs it whole)
        logging.getLogger("analytics").debug("failed", exc_info=True)
        print(f"analytics {args.command}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return EXIT_FAILED
