#!/usr/bin/env python
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
import copy
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from iptv.config import load_config, state_dir  # noqa: E402

log = logging.getLogger("deploy_flows")

FLOW_FILE = REPO / "nifi" / "flows" / "iptv-ingestion.json"
PROCESSORS_DIR = REPO / "nifi" / "python-processors"
SCHEMA_FILE = REPO / "schemas" / "viewing_event.schema.json"
CATALOG_FILE = REPO / "data" / "reference" / "tv_rating.csv"
BASE_NAME = "IPTV ingestion"
BASE_CONTEXT = "iptv-ingestion"
_STAMP_RE = re.compile(r" flow, version (\S+(?: sha:[0-9a-f]+)?)")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PARAM_REF_RE = re.compile(r"#\{([^}]+)\}")

Position = tuple[float, float]
# NiFi 2 draws every process group as a fixed 384 x 176 box (the REST API reports no size for groups).
GROUP_SIZE: Position = (384.0, 176.0)
# One column per flow along the data's path, instances of a flow in rows below it; 96 px between boxes.
GROUP_PITCH: Position = (GROUP_SIZE[0] + 96.0, GROUP_SIZE[1] + 96.0)
# Where deploys before issue #17 left every group: the replace request moves a group to the snapshot's position,
# which was (0, 0) for all flows. A group found there was put there by the deploy, not by an operator.
LEGACY_POSITION: Position = (0.0, 0.0)
NEW_GROUP = "<new>"  # plan_layout's id for the group a deploy is about to create


@dataclass(frozen=True)
class FlowSpec:
    """One flow definition of nifi/flows/ and how to deploy it."""

    key: str
    file: Path
    base_name: str  # process group name (an instance gets " [<instance>]")
    base_context: str  # parameter context name (an instance gets "-<instance>")
    packages: tuple[str, ...]  # Python processor packages it runs (part of its version)
    source: str | None  # processor to stop first on an upgrade (then queues drain)
    params: Callable[[dict[str, Any], str | None], dict[str, str]]


# ---------------------------------------------------------------------------------------------- pure helpers
def load_snapshot(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or FLOW_FILE).read_text(encoding="utf-8"))


def _git(*args: str) -> str:
    res = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return res.stdout.strip() if res.returncode == 0 else ""


def content_hash(spec: FlowSpec | None = None) -> str:
    """Hash of the flow definition and the Python processors it runs (what a deployment depends on)."""
    spec = spec or FLOWS["ingestion"]
    h = hashlib.sha256(spec.file.read_bytes())
    for f in sorted(f for pkg in spec.packages for f in (PROCESSORS_DIR / pkg).rglob("*.py")):
        if "__pycache__" not in f.parts:
            h.update(str(f.relative_to(PROCESSORS_DIR)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def version_stamp(spec: FlowSpec | None = None) -> str:
    """``<git describe of the last commit touching the flow or processors>[+modified] sha:<content hash>``."""
    spec = spec or FLOWS["ingestion"]
    rel = [str(spec.file.relative_to(REPO))] + [str((PROCESSORS_DIR / pkg).relative_to(REPO)) for pkg in spec.packages]
    commit = _git("log", "-1", "--format=%H", "--", *rel)
    described = _git("describe", "--always", "--tags", commit) if commit else "untracked"
    dirty = bool(_git("status", "--porcelain", "--", *rel))
    return f"{described}{'+modified' if dirty else ''} sha:{content_hash(spec)}"


def names(instance: str | None, spec: FlowSpec | None = None) -> tuple[str, str]:
    """(process group name, parameter context name) of an instance (None: the production one)."""
    base_name, base_context = (spec.base_name, spec.base_context) if spec else (BASE_NAME, BASE_CONTEXT)
    if not instance:
        return base_name, base_context
    return f"{base_name} [{instance}]", f"{base_context}-{instance}"


def channel_catalog_spec() -> str:
    """Ids 1..N of the rating table (channel_id = place in the table)."""
    if not CATALOG_FILE.exists():
        return ""
    n = sum(1 for line in CATALOG_FILE.read_text(encoding="utf-8").splitlines()[1:] if line.strip())
    return f"1-{n}"


def parameters_from_config(
    cfg: dict[str, Any], instance: str | None = None, overrides: dict[str, str] | None = None, spec=None
) -> dict[str, str]:
    """Parameter values of a flow (default: ingestion) from the config, then ``overrides`` (known names only)."""
    params = (spec or FLOWS["ingestion"]).params(cfg, instance)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise SystemExit(f"error: unknown parameter {key!r} (known: {', '.join(sorted(params))})")
        params[key] = value
    return params


def warehouse_sync_parameters(cfg: dict[str, Any], instance: str | None) -> dict[str, str]:
    cfg_path = Path(cfg.get("_meta", {}).get("path") or REPO / "config" / "local.yaml").resolve()
    try:
        cfg_value = str(cfg_path.relative_to(REPO))
    except ValueError:
        cfg_value = str(cfg_path)
    return {
        "iptv.config.file": cfg_value,
        "warehouse.schema": str((cfg.get("postgres") or {}).get("schema", "iptv_dw")),
    }


def ingestion_parameters(cfg: dict[str, Any], instance: str | None) -> dict[str, str]:
    k, h = cfg["kafka"], cfg["hdfs"]
    ing = (cfg.get("nifi") or {}).get("ingestion") or {}
    local_nifi = bool((cfg.get("nifi") or {}).get("managed", True))
    params = {
        "kafka.bootstrap.servers": str(k["bootstrap_servers"]),
        "kafka.topic": str(k["topics"]["viewing_events"]["name"]),
        "kafka.group.id": "iptv-nifi-ingestion" + (f"-{instance}" if instance else ""),
        "kafka.offset.reset": str(ing.get("offset_reset", "earliest")),
        "batch.max.count": str(ing.get("batch_max_count", 50000)),
        "batch.max.size": str(ing.get("batch_max_size", "16 MB")),
        "batch.max.wait": str(ing.get("batch_max_wait", "10 sec")),
        "tick.interval": str(ing.get("tick_interval", "30 sec")),
        "pairing.event.timeout": str(ing.get("event_timeout", "12 hours")),
        "pairing.grace": str(ing.get("grace", "5 mins")),
        "pairing.retention": str(ing.get("retention", "24 hours")),
        "pairing.max.entries": str(ing.get("max_entries", 200000)),
        # Node-local pairing journal: beside NiFi's own local state for the managed stack, else relative to the
        # NiFi home of each node (override: nifi.ingestion.state_dir).
        "pairing.state.dir": str(
            ing.get("state_dir")
            or (state_dir(cfg) / "data" / "nifi" / "state" / "iptv-pairing" if local_nifi else "./state/iptv-pairing")
        ),
        "channel.catalog": str(ing.get("channel_catalog", channel_catalog_spec())),
        "event.schema.file": str(SCHEMA_FILE) if local_nifi and SCHEMA_FILE.exists() else "",
        "hdfs.webhdfs.url": str(h["webhdfs_url"]),
        "hdfs.user": str(h.get("user", "iptv")),
        "hdfs.raw.events.path": str(h["paths"]["raw_events"]),
        "hdfs.sessions.path": str(h["paths"]["sessions"]),
        "hdfs.quarantine.path": str(h["paths"]["quarantine"]),
        "hdfs.timeout": str(ing.get("hdfs_timeout", "30 sec")),
    }
    return params


def prepared_snapshot(params: dict[str, str], instance: str | None, stamp: str, spec=None) -> dict[str, Any]:
    """The flow definition with the instance's names, the version stamp and the parameter values."""
    spec = spec or FLOWS["ingestion"]
    snap = copy.deepcopy(load_snapshot(spec.file))
    pg_name, ctx_name = names(instance, spec)
    fc = snap["flowContents"]
    fc["name"] = pg_name
    fc["comments"] = fc["comments"].replace("@FLOW_VERSION@", stamp)
    old_ctx = fc.get("parameterContextName")
    fc["parameterContextName"] = ctx_name
    ctx = snap["parameterContexts"].pop(old_ctx)
    ctx["name"] = ctx_name
    for p in ctx["parameters"]:
        p["value"] = params.get(p["name"], p.get("value"))
    snap["parameterContexts"] = {ctx_name: ctx}
    for label in _labels(fc):
        label["label"] = render_canvas_text(label["label"], params, stamp)
    return snap


def _labels(group: dict[str, Any]) -> list[dict[str, Any]]:
    """Labels of a versioned process group and of the groups inside it."""
    out = list(group.get("labels") or [])
    for child in group.get("processGroups") or []:
        out += _labels(child)
    return out


def render_canvas_text(text: str, params: dict[str, str], stamp: str) -> str:
    """A label's text as the operator should read it: ``#{name}`` replaced by the parameter's value (NiFi leaves
    parameter references in labels unresolved) and ``@FLOW_VERSION@`` by the version stamp. A reference to a
    parameter the flow does not have is a mistake in the flow definition: ValueError."""
    unknown = sorted({m for m in _PARAM_REF_RE.findall(text) if m not in params})
    if unknown:
        raise ValueError(f"label refers to unknown parameter(s) {', '.join(unknown)}: {text[:60]!r}")
    rendered = _PARAM_REF_RE.sub(lambda m: params[m.group(1)] or "(empty)", text)
    return rendered.replace("@FLOW_VERSION@", stamp)


# ---------------------------------------------------------------------------------------------- canvas layout
@dataclass(frozen=True)
class CanvasGroup:
    """A process group on the root canvas as the layout sees it."""

    id: str
    name: str
    position: Position | None  # None: the group is about to be created
    column: int | None = None  # its flow's place on the data's path; None: not a group of this script
    production: bool = True  # False: a copy deployed with --instance


def slot(column: int, row: int) -> Position:
    """Top-left corner of the layout cell (column = place on the data's path, row 0 = production)."""
    return (column * GROUP_PITCH[0], row * GROUP_PITCH[1])


def boxes_overlap(a: Position, b: Position, size: Position = GROUP_SIZE) -> bool:
    """True if two process-group boxes with top-left corners ``a`` and ``b`` share any area."""
    return abs(a[0] - b[0]) < size[0] and abs(a[1] - b[1]) < size[1]


def _same(a: Position, b: Position) -> bool:
    return abs(a[0] - b[0]) < 0.5 and abs(a[1] - b[1]) < 0.5


def _on_own_slot(g: CanvasGroup) -> bool:
    if g.position is None or g.column is None:
        return False
    row = round(g.position[1] / GROUP_PITCH[1])
    return row >= 0 and _same(g.position, slot(g.column, row))


def _deploy_given(g: CanvasGroup) -> bool:
    """The position is one this script gives (or the group is new), so the layout may set it. Anything else was
    chosen by an operator (or belongs to a group this script does not manage) and is kept."""
    if g.column is None:
        return False
    return g.position is None or _same(g.position, LEGACY_POSITION) or _on_own_slot(g)


def plan_layout(groups: list[CanvasGroup]) -> dict[str, Position]:
    """Position of every group of the root canvas: a group at a position an operator chose, or not deployed by
    this script, stays; each of this script's groups goes to its flow's column (the data's path from left to
    right), production in row 0, instances below, in the first row whose box overlaps no other group. A group
    already on a free cell of its column stays there, so a second deploy moves nothing."""
    plan: dict[str, Position] = {}
    taken: list[Position] = []
    movable: list[CanvasGroup] = []
    for g in groups:
        if _deploy_given(g):
            movable.append(g)
        elif g.position is not None:
            plan[g.id] = g.position
            taken.append(g.position)
    movable.sort(key=lambda g: (g.column, not g.production, g.name))
    unplaced = []
    for g in movable:  # first those already on a free cell of their column: they keep it
        if g.position is not None and _on_own_slot(g) and not any(boxes_overlap(g.position, t) for t in taken):
            plan[g.id] = g.position
            taken.append(g.position)
        else:
            unplaced.append(g)
    for g in unplaced:
        assert g.column is not None  # only this script's groups are movable
        row = 0
        while any(boxes_overlap(slot(g.column, row), t) for t in taken):
            row += 1
        plan[g.id] = slot(g.column, row)
        taken.append(plan[g.id])
    return plan


def flow_column(name: str) -> tuple[int | None, bool]:
    """(column, production) of a root group by its name: the place of its flow in FLOWS (declared in the order of
    the data's path), and False for an instance copy "<base name> [<instance>]"; (None, True) for other groups."""
    for column, spec in enumerate(FLOWS.values()):
        if name == spec.base_name:
            return column, True
        if name.startswith(spec.base_name + " [") and name.endswith("]"):
            return column, False
    return None, True


def stamp_of(comments: str | None) -> str | None:
    m = _STAMP_RE.search(comments or "")
    return m.group(1) if m else None


# ---------------------------------------------------------------------------------------------- NiFi side
def _nipyapi():
    import nipyapi

    # stopping a group waits for running tasks (the consumer polls up to batch.max.wait): allow for it
    nipyapi.config.short_max_wait = max(nipyapi.config.short_max_wait, 120)
    return nipyapi


def find_group(name: str):
    nipyapi = _nipyapi()
    root_id = nipyapi.canvas.get_root_pg_id()
    for pg in nipyapi.nifi.ProcessGroupsApi().get_process_groups(root_id).process_groups or []:
        if pg.component.name == name:
            return pg
    return None


def find_context(name: str):
    nipyapi = _nipyapi()
    for ctx in nipyapi.parameters.list_all_parameter_contexts() or []:
        if ctx.component.name == name:
            return ctx
    return None


def root_groups() -> list:
    nipyapi = _nipyapi()
    return nipyapi.nifi.ProcessGroupsApi().get_process_groups(nipyapi.canvas.get_root_pg_id()).process_groups or []


def planned_position(pg_name: str, pg) -> Position:
    """Where the group ``pg_name`` (``pg`` None: about to be created) belongs on the root canvas (plan_layout)."""
    canvas = []
    for g in root_groups():
        column, production = flow_column(g.component.name)
        pos = (float(g.component.position.x), float(g.component.position.y))
        canvas.append(CanvasGroup(g.id, g.component.name, pos, column, production))
    if pg is None:
        column, production = flow_column(pg_name)
        canvas.append(CanvasGroup(NEW_GROUP, pg_name, None, column, production))
    return plan_layout(canvas)[pg.id if pg is not None else NEW_GROUP]


def move_group(pg_id: str, position: Position) -> None:
    nipyapi = _nipyapi()
    api = nipyapi.nifi.ProcessGroupsApi()
    pg = api.get_process_group(pg_id)
    body = nipyapi.nifi.ProcessGroupEntity(
        revision=pg.revision,
        component=nipyapi.nifi.ProcessGroupDTO(id=pg_id, position=nipyapi.nifi.PositionDTO(*position)),
    )
    api.update_process_group(body=body, id=pg_id)


def sync_labels(pg_id: str, snapshot: dict[str, Any], dry_run: bool) -> list[str]:
    """Set each label's text to the rendered one of the snapshot where it differs: a replace request only runs
    when the flow's version changes, a parameter value (say the topic) can change without it."""
    nipyapi = _nipyapi()
    wanted = {lb["identifier"]: lb["label"] for lb in snapshot["flowContents"].get("labels") or []}
    actions = []
    for entity in nipyapi.nifi.ProcessGroupsApi().get_labels(pg_id).labels or []:
        text = wanted.get(entity.component.versioned_component_id or "")
        if text is None or entity.component.label == text:
            continue
        actions.append(f"update label text: {text.splitlines()[0][:70]!r}...")
        if not dry_run:
            body = nipyapi.nifi.LabelEntity(
                revision=entity.revision, component=nipyapi.nifi.LabelDTO(id=entity.id, label=text)
            )
            nipyapi.nifi.LabelsApi().update_label(body=body, id=entity.id)
    return actions


def context_values(ctx) -> dict[str, str | None]:
    return {p.parameter.name: p.parameter.value for p in ctx.component.parameters or []}


def ensure_context(ctx_name: str, params: dict[str, str], dry_run: bool) -> list[str]:
    nipyapi = _nipyapi()
    actions: list[str] = []
    ctx = find_context(ctx_name)
    if ctx is None:
        actions.append(f"create parameter context {ctx_name!r} with {len(params)} parameters")
        if not dry_run:
            nipyapi.parameters.create_parameter_context(
                ctx_name,
                description="Endpoints, topic, paths and tuning of the IPTV ingestion flow (scripts/deploy_flows.py)",
                parameters=[nipyapi.parameters.prepare_parameter(k, v) for k, v in sorted(params.items())],
            )
        return actions
    current = context_values(ctx)
    changed = {k: v for k, v in params.items() if current.get(k) != v and not (v == "" and current.get(k) is None)}
    for k, v in sorted(changed.items()):
        actions.append(f"set parameter {k} = {v!r} (was {current.get(k)!r})")
    if changed and not dry_run:
        for k, v in changed.items():
            ctx = nipyapi.parameters.upsert_parameter_to_context(ctx, nipyapi.parameters.prepare_parameter(k, v))
        # upsert updates through a NiFi update request (which stops and restarts the referencing components)
    return actions


def queued_connections(pg_id: str) -> dict[str, int]:
    """versionedComponentId (or id) -> queued FlowFiles, for connections of the group that hold data."""
    nipyapi = _nipyapi()
    out = {}
    for c in nipyapi.canvas.list_all_connections(pg_id, descendants=False) or []:
        queued = c.status.aggregate_snapshot.flow_files_queued if c.status and c.status.aggregate_snapshot else 0
        if queued:
            out[c.component.versioned_component_id or c.id] = queued
    return out


def total_queued(pg_id: str) -> int:
    nipyapi = _nipyapi()
    status = nipyapi.nifi.FlowApi().get_process_group_status(pg_id).process_group_status
    return int(status.aggregate_snapshot.flow_files_queued or 0)


def processors(pg_id: str) -> list:
    return _nipyapi().canvas.list_all_processors(pg_id) or []


def stop_source_and_drain(pg_id: str, timeout: float, source: str | None) -> int:
    nipyapi = _nipyapi()
    for p in processors(pg_id):
        if source and p.component.name == source and p.component.state == "RUNNING":
            nipyapi.canvas.schedule_processor(p, False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = total_queued(pg_id)
        if left == 0:
            return 0
        time.sleep(2)
    return total_queued(pg_id)


def replace_flow(pg_id: str, snapshot: dict[str, Any], timeout: float = 600) -> None:
    """NiFi replace request: swap the group's contents for the flow definition (queues of kept connections stay)."""
    nipyapi = _nipyapi()
    api = nipyapi.nifi.ProcessGroupsApi()
    pg = api.get_process_group(pg_id)
    body = {
        "processGroupRevision": {"version": pg.revision.version, "clientId": "deploy_flows"},
        "versionedFlowSnapshot": snapshot,
    }
    req = api.initiate_replace_process_group(body=body, id=pg_id)
    rid = req.request.request_id
    deadline = time.monotonic() + timeout
    try:
        while True:
            req = api.get_replace_process_group_request(rid)
            if req.request.complete:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"replace request did not complete in {timeout:.0f} s: {req.request.state}")
            time.sleep(1)
        if req.request.failure_reason:
            raise RuntimeError(f"replace request failed: {req.request.failure_reason}")
    finally:
        try:
            api.delete_replace_process_group_request(rid)
        except Exception as exc:  # noqa: BLE001 - best effort clean-up
            log.debug("could not delete replace request %s: %s", rid, exc)


def wait_valid(pg_id: str, timeout: float) -> list[str]:
    """Wait until no processor is VALIDATING/INVALID (Python processors load asynchronously). Returns problems."""
    deadline = time.monotonic() + timeout
    problems: list[str] = []
    while True:
        problems = []
        for p in processors(pg_id):
            status = p.component.validation_status
            if status != "VALID":
                errs = "; ".join(p.component.validation_errors or []) or status
                problems.append(f"{p.component.name}: {errs}")
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(3)


def enable_services(pg_id: str, dry_run: bool) -> list[str]:
    nipyapi = _nipyapi()
    actions = []
    services = nipyapi.canvas.list_all_controllers(pg_id, descendants=True) or []
    disabled = [s for s in services if s.component.state != "ENABLED"]
    if disabled:
        actions.append(f"enable {len(disabled)} controller service(s)")
        if not dry_run:
            nipyapi.canvas.schedule_all_controllers(pg_id, True)
    return actions


def start_group(pg_id: str, dry_run: bool) -> list[str]:
    nipyapi = _nipyapi()
    stopped = [p for p in processors(pg_id) if p.component.state != "RUNNING"]
    if not stopped:
        return []
    if not dry_run:
        nipyapi.canvas.schedule_process_group(pg_id, True)
    return [f"start {len(stopped)} processor(s): {', '.join(sorted(p.component.name for p in stopped))}"]


def deploy(
    cfg: dict[str, Any],
    instance: str | None = None,
    overrides: dict[str, str] | None = None,
    dry_run: bool = False,
    start: bool = True,
    valid_timeout: float = 600,
    drain_timeout: float = 120,
    flow: str = "ingestion",
) -> dict[str, Any]:
    """Deploy/upgrade and start one flow of FLOWS. Returns {'actions', 'pg_id', 'stamp', 'problems', 'name'}."""
    from iptv.nifi_client import login

    spec = FLOWS[flow]
    nipyapi = _nipyapi()
    login(cfg)
    pg_name, ctx_name = names(instance, spec)
    params = parameters_from_config(cfg, instance, overrides, spec)
    stamp = version_stamp(spec)
    snapshot = prepared_snapshot(params, instance, stamp, spec)
    actions = ensure_context(ctx_name, params, dry_run)
    pg = find_group(pg_name)
    pg_id = pg.id if pg is not None else None
    position = planned_position(pg_name, pg)
    # A replace request moves the group to the snapshot's position: give it the planned one (for a group the
    # operator moved, that is where it stands now)
    snapshot["flowContents"]["position"] = {"x": position[0], "y": position[1]}
    if pg is None:
        actions.append(f"create process group {pg_name!r} at {_xy(position)} and import the flow at version {stamp}")
        if not dry_run:
            root = nipyapi.canvas.get_process_group(nipyapi.canvas.get_root_pg_id(), "id")
            pg = nipyapi.canvas.create_process_group(root, pg_name, position)
            pg_id = pg.id
            replace_flow(pg_id, snapshot)
    else:
        current = (float(pg.component.position.x), float(pg.component.position.y))
        if not _same(current, position):
            actions.append(f"move {pg_name!r} to {_xy(position)} (was {_xy(current)}, a position the deploy gave it)")
        deployed = stamp_of(pg.component.comments)
        upgrade = deployed != stamp
        if upgrade:
            actions.append(f"upgrade {pg_name!r} from version {deployed} to {stamp} (replace request)")
            if not dry_run:
                left = stop_source_and_drain(pg_id, drain_timeout, spec.source)
                if left:
                    kept = {c["identifier"] for c in snapshot["flowContents"]["connections"]}
                    lost = {k: v for k, v in queued_connections(pg_id).items() if k not in kept}
                    if lost:
                        raise RuntimeError(
                            f"upgrade would delete connections still holding FlowFiles: {lost}; not swapping"
                        )
                    log.info("%d FlowFiles still queued: kept in place across the swap", left)
                replace_flow(pg_id, snapshot)
        elif not dry_run and not _same(current, position):  # (an upgrade's replace request moves it)
            move_group(pg_id, position)
        if not upgrade:  # (an upgrade's replace request writes the labels)
            actions += sync_labels(pg_id, snapshot, dry_run)
    problems: list[str] = []
    if pg_id and not dry_run:
        actions += enable_services(pg_id, dry_run)
        problems = wait_valid(pg_id, valid_timeout)
        if start and not problems:
            actions += start_group(pg_id, dry_run)
    elif pg_id and start:
        actions += start_group(pg_id, dry_run=True)
    return {"actions": actions, "pg_id": pg_id, "stamp": stamp, "problems": problems, "name": pg_name}


def _xy(p: Position) -> str:
    return f"({p[0]:.0f}, {p[1]:.0f})"


def remove(cfg: dict[str, Any], instance: str | None, flow: str = "ingestion") -> list[str]:
    """Stop the instance's group, drop its queues, delete it and its parameter context (tests, decommissioning)."""
    from iptv.nifi_client import login

    nipyapi = _nipyapi()
    login(cfg)
    pg_name, ctx_name = names(instance, FLOWS[flow])
    actions = []
    pg = find_group(pg_name)
    if pg is not None:
        pairers = [
            p.id for p in nipyapi.canvas.list_all_processors(pg.id) or [] if p.component.type == "PairViewingEvents"
        ]
        nipyapi.canvas.schedule_process_group(pg.id, False)
        for c in nipyapi.canvas.list_all_connections(pg.id) or []:
            nipyapi.canvas.purge_connection(c.id)
        nipyapi.canvas.delete_process_group(nipyapi.canvas.get_process_group(pg.id, "id"), force=True)
        actions.append(f"deleted process group {pg_name!r}")
        actions += _remove_pairing_journals(cfg, instance, flow, pairers)
    ctx = find_context(ctx_name)
    if ctx is not None:
        nipyapi.parameters.delete_parameter_context(ctx)
        actions.append(f"deleted parameter context {ctx_name!r}")
    return actions


def _remove_pairing_journals(cfg: dict[str, Any], instance: str | None, flow: str, pairer_ids: list[str]) -> list[str]:
    """The deleted pairers' journals (State Directory/<processor id>), when NiFi runs on this machine (the managed
    stack): NiFi has no hook for a Python processor's removal, so nothing else would ever delete them."""
    if not pairer_ids or not bool((cfg.get("nifi") or {}).get("managed", True)):
        return []
    base = Path(FLOWS[flow].params(cfg, instance).get("pairing.state.dir", ""))
    if not base.is_absolute():
        return []
    removed = []
    for pid in pairer_ids:
        if (base / pid).is_dir():
            shutil.rmtree(base / pid)
            removed.append(f"deleted pairing journal {base / pid}")
    return removed


def _journal_in_use(directory: Path) -> bool:
    """True while a pairer holds the journal directory's lock (state_store.JournalStore flocks its LOCK file)."""
    try:
        fd = os.open(directory / "LOCK", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)  # also releases the lock if it was taken
    return False


def orphaned_journals(base: Path, live_ids: set[str]) -> tuple[list[Path], list[Path]]:
    """Pairing journals under ``base`` (one directory per processor id) whose pairer no longer exists:
    ``(orphans, in_use)``. A directory still locked by a running pairer is never an orphan; directories not
    named like a processor id are not journals and are left out."""
    orphans: list[Path] = []
    in_use: list[Path] = []
    if not base.is_dir():
        return orphans, in_use
    for d in sorted(base.iterdir()):
        if not d.is_dir() or not _UUID_RE.fullmatch(d.name) or d.name in live_ids:
            continue
        (in_use if _journal_in_use(d) else orphans).append(d)
    return orphans, in_use


def prune_journals(cfg: dict[str, Any], dry_run: bool = False) -> list[str]:
    """Delete the pairing journals of PairViewingEvents processors that no longer exist in the configured NiFi
    (deleted in the UI rather than with ``--remove``: NiFi has no removal hook for Python processors). Runs where
    the journals are: on the machine of the managed stack, or on a NiFi node with an absolute
    ``nifi.ingestion.state_dir``."""
    from iptv.nifi_client import login

    base = Path(FLOWS["ingestion"].params(cfg, None)["pairing.state.dir"])
    if not base.is_absolute():
        raise SystemExit(
            f"error: the pairing journals are under {base} relative to each NiFi node's home; set "
            "nifi.ingestion.state_dir to an absolute path and run --prune-journals on each node"
        )
    nipyapi = _nipyapi()
    login(cfg)
    live = {p.id for p in nipyapi.canvas.list_all_processors("root") or [] if p.component.type == "PairViewingEvents"}
    orphans, in_use = orphaned_journals(base, live)
    actions = [f"kept pairing journal {d}: locked by a running pairer" for d in in_use]
    for d in orphans:
        if not dry_run:
            shutil.rmtree(d)
        actions.append(f"{'would delete' if dry_run else 'deleted'} orphaned pairing journal {d}")
    return actions


# In the order of the data's path: plan_layout puts the flows' groups left to right in this order.
FLOWS: dict[str, FlowSpec] = {
    "ingestion": FlowSpec(
        "ingestion",
        FLOW_FILE,
        BASE_NAME,
        BASE_CONTEXT,
        ("iptv_ingest", "iptv_sessions"),
        "ConsumeViewingEvents",
        ingestion_parameters,
    ),
    "warehouse-sync": FlowSpec(
        "warehouse-sync",
        REPO / "nifi" / "flows" / "warehouse_sync.json",
        "IPTV warehouse sync",
        "iptv-warehouse-sync",
        ("iptv_warehouse",),
        None,
        warehouse_sync_parameters,
    ),
}


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
    cfg = load_config(args.config)
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
        print(f"{report['name']} at version {report['stamp']} ({cfg['nifi']['url']})")
        for a in report["actions"] or ["nothing to change"]:
            print(f"  {prefix}: {a}")
        for p in report["problems"]:
            print(f"  INVALID: {p}", file=sys.stderr)
        if report["problems"]:
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
