"""Control the local data platform: install, up, down, status, logs.

Examples:
  python scripts/stack.py up                # install on first use, start all, wait until they answer
  python scripts/stack.py up kafka hdfs     # just these (and what they depend on)
  python scripts/stack.py status
  python scripts/stack.py logs nifi -n 100
  python scripts/stack.py down
"""

from __future__ import annotations

import argparse
import logging
import sys

from iptv.config import ConfigError, load_config
from local_stack import SERVICE_MODULES, control, services
from local_stack.base import StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, helptext in [
        ("install", "download and lay out the engines (no start)"),
        ("up", "start services and wait until they answer (idempotent)"),
        ("down", "stop every process the stack started"),
        ("status", "show each service: up/down, address, PIDs"),
    ]:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("services", nargs="*", metavar="SERVICE", help=f"subset of: {', '.join(SERVICE_MODULES)}")
    p = sub.add_parser("logs", help="print the tail of a service's log")
    p.add_argument("services", nargs="*", metavar="SERVICE")
    p.add_argument("-n", "--lines", type=int, default=50)
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # pyhive logs every statement (our readiness probes) at INFO.
    logging.getLogger("pyhive").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        cfg = load_config(args.config)
        names = args.services or None
        if args.command == "install":
            control.install(cfg, names)
            print("installed")
        elif args.command == "up":
            seconds = control.up(cfg, names)
            _print_status(control.status(cfg, names))
            print(f"stack up in {seconds:.1f} s")
        elif args.command == "down":
            stopped = control.down(cfg, names)
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        elif args.command == "status":
            rows = control.status(cfg, names)
            _print_status(rows)
            return 0 if all(r.up for r in rows) else 3
        elif args.command == "logs":
            for svc in services(cfg, names):
                for path in svc.log_files():
                    print(f"==> {path} <==")
                    if path.exists():
                        lines = path.read_text(errors="replace").splitlines()[-args.lines :]
                        print("\n".join(lines))
    except (StackError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        logging.getLogger("stack").debug("unexpected failure", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1
    return 0


def _print_status(rows: list[control.ServiceStatus]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="IPTV stack")
    for col in ("service", "state", "address", "pid"):
        table.add_column(col)
    for r in rows:
        state = ("[green]up[/green]" if r.up else "[red]down[/red]") + ("" if r.managed else " (external)")
        pids = ", ".join(f"{k}={v}" for k, v in r.pids.items()) or "-"
        table.add_row(r.name, state, r.address, pids)
    # Off a terminal rich assumes 80 columns and would cut the addresses; logs and CI want them whole.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


if __name__ == "__main__":
    raise SystemExit(main())
