"""Deploy or upgrade the IPTV NiFi flows (nifi/flows/: ingestion, warehouse sync) on the configured NiFi with nipyapi.

    .venv/bin/python scripts/deploy_flows.py                  # local NiFi of config/local.yaml
    .venv/bin/python scripts/deploy_flows.py --dry-run        # print the plan only
    .venv/bin/python scripts/deploy_flows.py --config cluster.yaml
    .venv/bin/python scripts/deploy_flows.py --instance test1 --param kafka.topic=t1 --param pairing.grace="30 sec"
    .venv/bin/python scripts/deploy_flows.py --remove --instance test1
    .venv/bin/python scripts/deploy_flows.py --prune-journals [--dry-run]   # journals of pairers deleted in the UI
    .venv/bin/python scripts/deploy_flows.py --flow ingestion   # one flow only (default: all)

Steps: parameter context (values from the iptv config, then --param overrides) created or updated where a value
differs; process group created (empty) if missing; the flow definition swapped in with a NiFi *replace request*
when its version stamp differs from the one in the group's comments (NiFi stops the affected components, keeps
every connection whose identifier persists together with its queued FlowFiles, swaps, and restarts them; the
script first stops the Kafka consumer and lets the queues drain for --drain-timeout, and refuses an upgrade that
would delete a connection still holding FlowFiles); label texts rendered with the parameter values (NiFi does not
resolve #{...} in labels); the group placed on the root canvas (plan_layout: one column per flow in the order of
the data's path, a group the operator moved stays where it is); controller services enabled; every processor
checked valid (Python processors first build their virtualenv); the group started. A second run changes nothing.
Exit codes: 0 deployed and running; 1 error or an invalid component; 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys

from iptv.config import ConfigError, load_config
from iptv.nifi.deploy import deploy, prune_journals, remove
from iptv.nifi.flows import FLOWS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    ap.add_argument("--instance", help="deploy a separate copy (own group, parameter context, consumer group)")
    ap.add_argument(
        "--flow",
        choices=["all", *FLOWS],
        default="all",
        help="which flow of nifi/flows/ (default: every one whose file exists)",
    )
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    ap.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    ap.add_argument("--no-start", action="store_true", help="deploy but leave the group stopped")
    ap.add_argument("--remove", action="store_true", help="stop and delete the (instance's) group and context")
    ap.add_argument(
        "--prune-journals",
        action="store_true",
        help="delete the pairing journals of pairers that no longer exist in NiFi (with --dry-run: list them)",
    )
    ap.add_argument("--valid-timeout", type=float, default=600, help="seconds to wait for valid processors")
    ap.add_argument("--drain-timeout", type=float, default=120, help="seconds to let queues drain before a swap")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    overrides = {}
    for item in args.param:
        if "=" not in item:
            ap.error(f"--param expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.prune_journals:
        try:
            actions = prune_journals(cfg, dry_run=args.dry_run)
        except Exception as exc:  # noqa: BLE001 - one line for the operator
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for a in actions or ["no orphaned pairing journals"]:
            print(a)
        return 0
    keys = [k for k, spec in FLOWS.items() if spec.file.exists()] if args.flow == "all" else [args.flow]
    known = {name for k in keys for name in FLOWS[k].params(cfg, args.instance)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        ap.error(f"unknown parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    rc = 0
    for key in keys:
        spec = FLOWS[key]
        mine = {k: v for k, v in overrides.items() if k in spec.params(cfg, args.instance)}
        try:
            if args.remove:
                for a in remove(cfg, args.instance, key) or [f"{key}: nothing to remove"]:
                    print(a)
                continue
            report = deploy(
                cfg,
                args.instance,
                mine,
                dry_run=args.dry_run,
                start=not args.no_start,
                valid_timeout=args.valid_timeout,
                drain_timeout=args.drain_timeout,
                flow=key,
            )
        except Exception as exc:  # noqa: BLE001 - one line for the operator
            print(f"error: {key}: {exc}", file=sys.stderr)
            rc = 1
            continue
        prefix = "plan" if args.dry_run else "done"
        print(f"{report['name']} at version {report['stamp']} ({cfg.nifi.url})")
        for a in report["actions"] or ["nothing to change"]:
            print(f"  {prefix}: {a}")
        for p in report["problems"]:
            print(f"  INVALID: {p}", file=sys.stderr)
        if report["problems"]:
            rc = 1
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
