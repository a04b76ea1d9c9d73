"""Deploy, upgrade and remove the project's NiFi flows on the configured NiFi (nipyapi, mutual TLS from the config).

:func:`deploy` makes a flow's parameter context, process group, version, labels, canvas position, controller
services and run state match :mod:`iptv.nifi.flows` (a second run changes nothing); :func:`remove` deletes an
instance; :func:`prune_journals` deletes the pairing journals of pairers no longer in NiFi. The command line is
:mod:`iptv.nifi.deploy_cli` (``scripts/deploy_flows.py``)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from iptv.config import Config
from iptv.nifi.client import login
from iptv.nifi.flows import (
    FLOWS,
    names,
    parameters_from_config,
    prepared_snapshot,
    sensitive_parameters,
    stamp_of,
    version_stamp,
)
from iptv.nifi.layout import NEW_GROUP, CanvasGroup, Position, flow_column, plan_layout, same_position

log = logging.getLogger(__name__)

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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


def _fingerprint(value: str) -> str:
    return "[value sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12] + "]"


def _parameter(name: str, value: str, sensitive: set[str]) -> Any:
    """A parameter entity; a sensitive one carries a fingerprint of its value in its description, since NiFi
    never returns the value itself (deploy compares fingerprints to see that a secret changed)."""
    nipyapi = _nipyapi()
    if name in sensitive:
        return nipyapi.parameters.prepare_parameter(name, value, description=_fingerprint(value), sensitive=True)
    return nipyapi.parameters.prepare_parameter(name, value)


def ensure_context(
    ctx_name: str, params: dict[str, str], dry_run: bool, sensitive: set[str] | None = None
) -> list[str]:
    """Create the parameter context or set the parameters whose value differs (``sensitive``: names set as
    sensitive parameters, compared by fingerprint and never written to the actions)."""
    nipyapi = _nipyapi()
    sensitive = sensitive or set()
    actions: list[str] = []
    ctx = find_context(ctx_name)
    if ctx is None:
        actions.append(f"create parameter context {ctx_name!r} with {len(params)} parameters")
        if not dry_run:
            nipyapi.parameters.create_parameter_context(
                ctx_name,
                description="Endpoints, topic, paths and tuning of the IPTV ingestion flow (scripts/deploy_flows.py)",
                parameters=[_parameter(k, v, sensitive) for k, v in sorted(params.items())],
            )
        return actions
    current = context_values(ctx)
    described = {p.parameter.name: p.parameter.description for p in ctx.component.parameters or []}
    changed = {
        k: v
        for k, v in params.items()
        if (described.get(k) != _fingerprint(v) if k in sensitive else current.get(k) != v)
        and not (v == "" and current.get(k) is None)
    }
    for k, v in sorted(changed.items()):
        shown = ("(sensitive, changed)", "") if k in sensitive else (repr(v), f" (was {current.get(k)!r})")
        actions.append(f"set parameter {k} = {shown[0]}{shown[1]}")
    if changed and not dry_run:
        for k, v in changed.items():
            ctx = nipyapi.parameters.upsert_parameter_to_context(ctx, _parameter(k, v, sensitive))
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
    cfg: Config,
    instance: str | None = None,
    overrides: dict[str, str] | None = None,
    dry_run: bool = False,
    start: bool = True,
    valid_timeout: float = 600,
    drain_timeout: float = 120,
    flow: str = "ingestion",
) -> dict[str, Any]:
    """Deploy/upgrade and start one flow of FLOWS. Returns {'actions', 'pg_id', 'stamp', 'problems', 'name'}."""
    spec = FLOWS[flow]
    nipyapi = _nipyapi()
    login(cfg)
    pg_name, ctx_name = names(instance, spec)
    params = parameters_from_config(cfg, instance, overrides, spec)
    stamp = version_stamp(spec)
    snapshot = prepared_snapshot(params, instance, stamp, spec)
    actions = ensure_context(ctx_name, params, dry_run, sensitive_parameters(spec))
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
        if not same_position(current, position):
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
        elif not dry_run and not same_position(current, position):  # (an upgrade's replace request moves it)
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


def remove(cfg: Config, instance: str | None, flow: str = "ingestion") -> list[str]:
    """Stop the instance's group, drop its queues, delete it and its parameter context (tests, decommissioning)."""
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


def _remove_pairing_journals(cfg: Config, instance: str | None, flow: str, pairer_ids: list[str]) -> list[str]:
    """The deleted pairers' journals (State Directory/<processor id>), when NiFi runs on this machine (the managed
    stack): NiFi has no hook for a Python processor's removal, so nothing else would ever delete them."""
    if not pairer_ids or not cfg.nifi.managed:
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


def prune_journals(cfg: Config, dry_run: bool = False) -> list[str]:
    """Delete the pairing journals of PairViewingEvents processors that no longer exist in the configured NiFi
    (deleted in the UI rather than with ``--remove``: NiFi has no removal hook for Python processors). Runs where
    the journals are: on the machine of the managed stack, or on a NiFi node with an absolute
    ``nifi.ingestion.state_dir``."""
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
