"""Operator's view of the IPTV NiFi flows (ingestion, warehouse sync) beside the canvas (nipyapi, mutual TLS
from the iptv config).

    .venv/bin/python scripts/flow_status.py                 # one report of every "IPTV ..." group
    .venv/bin/python scripts/flow_status.py --watch 5       # refresh every 5 s (Ctrl-C to leave)
    .venv/bin/python scripts/flow_status.py --instance t1 --json

Per processor: run state, validity, FlowFiles in/out and bytes (NiFi's 5-minute window), tasks, FlowFiles and
bytes queued in front of it, back-pressure on its input, and its recent bulletins. Per connection: queue and
back-pressure use. Exit code 1 when a component is invalid, stopped unexpectedly (not RUNNING while its group is
meant to run), a queue is at back-pressure for failures, or a bulletin is at ERROR level; 0 otherwise. After a NiFi
start, NiFi runs a placeholder ("ghost") for each Python processor until its extension has loaded, and the ghost's
failed starts leave ERROR bulletins for 5 minutes: they are shown, marked, but not a problem once the processor
itself is valid and running. The text report ends with the last stored reconciliation of the pipeline's counts
(scripts/reconcile.py --store): when it ran and its gaps, if any (informative: it does not change the exit code).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from iptv.config import Config, ConfigError, load_config
from iptv.nifi.client import login

BASE_NAME = "IPTV ingestion"
#: Every project flow's process group name starts with this (ingestion, warehouse sync).
PROJECT_PREFIX = "IPTV "
FAILURE_SINK = "FUNNEL"


def _nipyapi():
    import nipyapi

    return nipyapi


def groups(instance: str | None) -> list:
    nipyapi = _nipyapi()
    root = nipyapi.canvas.get_root_pg_id()
    out = []
    for pg in nipyapi.nifi.ProcessGroupsApi().get_process_groups(root).process_groups or []:
        name = pg.component.name
        if not name.startswith(PROJECT_PREFIX):
            continue
        if instance is None:
            out.append(pg)
        elif name.endswith(f" [{instance}]") if instance else "[" not in name:
            out.append(pg)
    return out


def _bytes(n: int | None) -> str:
    n = int(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def collect(pg) -> dict[str, Any]:
    """Status of one process group as a plain dict (also used by the integration tests)."""
    nipyapi = _nipyapi()
    flow = nipyapi.nifi.FlowApi()
    snap = flow.get_process_group_status(pg.id, recursive=True).process_group_status.aggregate_snapshot
    procs = {p.id: p for p in nipyapi.canvas.list_all_processors(pg.id) or []}
    conns = nipyapi.canvas.list_all_connections(pg.id) or []
    board = flow.get_bulletin_board(group_id=pg.id, limit=100).bulletin_board.bulletins or []
    bulletins: dict[str, list[dict]] = {}
    for b in board:
        if b.bulletin is None:
            continue
        bulletins.setdefault(b.source_id, []).append(
            {"level": b.bulletin.level, "time": b.bulletin.timestamp, "message": (b.bulletin.message or "")[:300]}
        )
    queued_in: dict[str, dict[str, Any]] = {}
    connections = []
    for c in conns:
        cs = c.status.aggregate_snapshot
        bp = max(int(cs.percent_use_count or 0), int(cs.percent_use_bytes or 0))
        entry = {
            "name": c.component.name or ",".join(c.component.selected_relationships or []),
            "source": c.component.source.name,
            "destination": c.component.destination.name,
            "destination_type": c.component.destination.type,
            "queued": int(cs.flow_files_queued or 0),
            "queued_bytes": int(cs.bytes_queued or 0),
            "back_pressure_pct": bp,
        }
        connections.append(entry)
        q = queued_in.setdefault(c.component.destination.id, {"queued": 0, "queued_bytes": 0, "back_pressure": False})
        q["queued"] += entry["queued"]
        q["queued_bytes"] += entry["queued_bytes"]
        q["back_pressure"] = q["back_pressure"] or bp >= 100
    processors = []
    for ps in snap.processor_status_snapshots or []:
        s = ps.processor_status_snapshot
        comp = procs.get(s.id)
        q = queued_in.get(s.id, {"queued": 0, "queued_bytes": 0, "back_pressure": False})
        processors.append(
            {
                "name": s.name,
                "id": s.id,
                "type": s.type,
                "state": s.run_status,
                "valid": comp.component.validation_status if comp else None,
                "validation_errors": list(comp.component.validation_errors or []) if comp else [],
                "in": int(s.flow_files_in or 0),
                "in_bytes": int(s.bytes_in or 0),
                "out": int(s.flow_files_out or 0),
                "out_bytes": int(s.bytes_out or 0),
                "tasks": int(s.task_count or 0),
                "task_ms": int((s.tasks_duration_nanos or 0) / 1e6),
                "threads": int(s.active_thread_count or 0),
                **q,
                "bulletins": bulletins.get(s.id, []),
            }
        )
    processors.sort(key=lambda p: p["name"])
    return {
        "group": pg.component.name,
        "id": pg.id,
        "comments": pg.component.comments,
        "queued": int(snap.flow_files_queued or 0),
        "queued_bytes": int(snap.bytes_queued or 0),
        "processors": processors,
        "connections": connections,
        "problems": find_problems(processors, connections),
    }


def startup_ghost(bulletin: dict[str, Any], processor_id: str) -> bool:
    """A bulletin of the placeholder ("ghost") NiFi runs in a Python processor's place after a NiFi start, until
    the Python extension has loaded (it fails to start, its properties being unknown). Once the processor itself is
    valid and running, that bulletin is start-up noise, not a problem."""
    return bulletin["message"].startswith(f"GhostProcessor[id={processor_id}]")


def find_problems(processors: list[dict[str, Any]], connections: list[dict[str, Any]]) -> list[str]:
    """What makes the exit code 1: invalid or not running processors, ERROR bulletins (but a start-up ghost's of
    a processor now valid and running), FlowFiles queued for the failure funnel."""
    problems = []
    for p in processors:
        healthy = p["valid"] in ("VALID", None) and p["state"] == "Running"
        if p["valid"] not in ("VALID", None) or p["state"] == "Invalid":
            problems.append(f"{p['name']} is invalid: {'; '.join(p['validation_errors']) or p['valid']}")
        elif p["state"] != "Running":
            problems.append(f"{p['name']} is {p['state']}")
        errors = [b for b in p["bulletins"] if b["level"] == "ERROR" and not (healthy and startup_ghost(b, p["id"]))]
        if errors:
            problems.append(f"{p['name']} has ERROR bulletins")
    for c in connections:
        if c["destination_type"] == FAILURE_SINK and c["queued"]:
            problems.append(
                f"{c['queued']} FlowFile(s) failed in {c['source']} (queue '{c['name']}'; to replay them see "
                "README, 'Failed batches')"
            )
    return problems


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['group']}  ({report['comments'] or 'no version stamp'})",
        f"  queued: {report['queued']} FlowFiles, {_bytes(report['queued_bytes'])}",
        f"  {'processor':<22} {'state':<9} {'in(5m)':>8} {'out(5m)':>8} {'bytes out':>10} {'queued':>7} "
        f"{'q bytes':>9} {'bp':>3} {'tasks':>6}",
    ]
    for p in report["processors"]:
        lines.append(
            f"  {p['name']:<22} {p['state']:<9} {p['in']:>8} {p['out']:>8} {_bytes(p['out_bytes']):>10} "
            f"{p['queued']:>7} {_bytes(p['queued_bytes']):>9} {'YES' if p['back_pressure'] else '-':>3} {p['tasks']:>6}"
        )
        for b in p["bulletins"][-3:]:
            note = " (start-up, before the Python processor loaded)" if startup_ghost(b, p["id"]) else ""
            lines.append(f"      [{b['level']}]{note} {b['time']} {b['message']}")
    for c in report["connections"]:
        if c["queued"] or c["back_pressure_pct"] >= 80:
            lines.append(
                f"  queue {c['source']} -> {c['destination']} ({c['name']}): {c['queued']} FlowFiles, "
                f"{_bytes(c['queued_bytes'])}, back-pressure {c['back_pressure_pct']}%"
            )
    for prob in report["problems"]:
        lines.append(f"  PROBLEM: {prob}")
    if not report["problems"]:
        lines.append("  OK")
    return "\n".join(lines)


def reconcile_line(cfg: Config, schema: str) -> str:
    """The last stored reconciliation (scripts/reconcile.py --store), read as the warehouse's read-only role;
    a warehouse that cannot be read is said in the line, it is not a flow problem."""
    from iptv import db
    from iptv.reconcile_sources import last_result
    from iptv.warehouse.schema import Warehouse

    try:
        conn = db.connect(cfg, "reader", connect_timeout=5)
        try:
            return last_result(conn, Warehouse(cfg, schema))
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"reconcile: no stored result readable ({first})"


def snapshot(cfg: Config, instance: str | None) -> list[dict[str, Any]]:
    login(cfg)
    return [collect(pg) for pg in groups(instance)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="config file (default: $IPTV_CONFIG or config/local.yaml)")
    ap.add_argument("--instance", help="only this instance's group ('' = the production group)")
    ap.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--schema", default="iptv_dw", help="warehouse schema of the stored reconciliation (%(default)s)")
    ap.add_argument("--no-reconcile", action="store_true", help="leave out the last reconciliation's line")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rc = 0
    try:
        while True:
            reports = snapshot(cfg, args.instance)
            if not reports:
                print("no 'IPTV ...' process group on this NiFi (deploy with scripts/deploy_flows.py)")
                rc = 1
            rc = 1 if not reports or any(r["problems"] for r in reports) else 0
            if args.watch:
                print("\033[2J\033[H", end="")
                print(time.strftime("%Y-%m-%d %H:%M:%S"), cfg.nifi.url)
            if args.json:
                print(json.dumps(reports, indent=2, default=str))
            else:
                print("\n\n".join(render(r) for r in reports))
                if not args.no_reconcile:
                    print(reconcile_line(cfg, args.schema))
            if not args.watch:
                return rc
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return rc
    except Exception as exc:  # noqa: BLE001 - one line for the operator
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
