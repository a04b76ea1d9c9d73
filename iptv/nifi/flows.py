"""The project's NiFi flows (nifi/flows/) and what one deployment of a flow is made of, without NiFi: the process
group and parameter context names of an instance, the parameter values from the iptv config, the version stamp (git
and a hash of the flow and its Python processors), and the flow definition prepared for a replace request (names,
stamp, values, label texts). :mod:`iptv.nifi.deploy` sends it to NiFi."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iptv.config import REPO_ROOT, Config, ConfigError, state_dir
from iptv.kafka_security import client_settings

FLOW_FILE = REPO_ROOT / "nifi" / "flows" / "iptv-ingestion.json"
PROCESSORS_DIR = REPO_ROOT / "nifi" / "python-processors"
SCHEMA_FILE = REPO_ROOT / "schemas" / "viewing_event.schema.json"
CATALOG_FILE = REPO_ROOT / "data" / "reference" / "tv_rating.csv"
BASE_NAME = "IPTV ingestion"
BASE_CONTEXT = "iptv-ingestion"
_STAMP_RE = re.compile(r" flow, version (\S+(?: sha:[0-9a-f]+)?)")
_PARAM_REF_RE = re.compile(r"#\{([^}]+)\}")


@dataclass(frozen=True)
class FlowSpec:
    """One flow definition of nifi/flows/ and how to deploy it."""

    key: str
    file: Path
    base_name: str  # process group name (an instance gets " [<instance>]")
    base_context: str  # parameter context name (an instance gets "-<instance>")
    packages: tuple[str, ...]  # Python processor packages it runs (part of its version)
    source: str | None  # processor to stop first on an upgrade (then queues drain)
    params: Callable[[Config, str | None], dict[str, str]]


def load_snapshot(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or FLOW_FILE).read_text(encoding="utf-8"))


def _git(*args: str) -> str:
    res = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True)
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
    rel = [str(spec.file.relative_to(REPO_ROOT))] + [
        str((PROCESSORS_DIR / pkg).relative_to(REPO_ROOT)) for pkg in spec.packages
    ]
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
    cfg: Config, instance: str | None = None, overrides: dict[str, str] | None = None, spec=None
) -> dict[str, str]:
    """Parameter values of a flow (default: ingestion) from the config, then ``overrides`` (known names only)."""
    params = (spec or FLOWS["ingestion"]).params(cfg, instance)
    for key, value in (overrides or {}).items():
        if key not in params:
            raise SystemExit(f"error: unknown parameter {key!r} (known: {', '.join(sorted(params))})")
        params[key] = value
    return params


def warehouse_sync_parameters(cfg: Config, instance: str | None) -> dict[str, str]:
    cfg_path = Path(cfg.source or REPO_ROOT / "config" / "local.yaml").resolve()
    try:
        cfg_value = str(cfg_path.relative_to(REPO_ROOT))
    except ValueError:
        cfg_value = str(cfg_path)
    return {
        "iptv.config.file": cfg_value,
        "warehouse.schema": cfg.postgres.schema,
    }


def ingestion_parameters(cfg: Config, instance: str | None) -> dict[str, str]:
    k, h, ing = cfg.kafka, cfg.hdfs, cfg.nifi.ingestion
    local_nifi = cfg.nifi.managed
    sec = k.security
    if sec.sasl and sec.sasl_mechanism == "GSSAPI":
        raise ConfigError("the NiFi consumer (ConsumeViewingEvents) supports SCRAM and PLAIN, not GSSAPI")
    kafka_conf = client_settings(cfg, "nifi")
    params = {
        "kafka.bootstrap.servers": k.bootstrap_servers,
        "kafka.security.protocol": sec.protocol,
        "kafka.sasl.mechanism": sec.sasl_mechanism,  # (a valid value of the property even when unused)
        "kafka.sasl.username": kafka_conf.get("sasl.username", ""),
        "kafka.sasl.password": kafka_conf.get("sasl.password", ""),
        "kafka.ssl.ca.file": kafka_conf.get("ssl.ca.location", ""),
        "kafka.topic": k.topics["viewing_events"].name,
        "kafka.group.id": ing.group_id + (f"-{instance}" if instance else ""),
        "kafka.offset.reset": ing.offset_reset,
        "batch.max.count": str(ing.batch_max_count),
        "batch.max.size": ing.batch_max_size,
        "batch.max.wait": ing.batch_max_wait,
        "tick.interval": ing.tick_interval,
        "pairing.event.timeout": ing.event_timeout,
        "pairing.grace": ing.grace,
        "pairing.retention": ing.retention,
        "pairing.max.entries": str(ing.max_entries),
        # Node-local pairing journal: beside NiFi's own local state for the managed stack, else relative to the
        # NiFi home of each node (override: nifi.ingestion.state_dir).
        "pairing.state.dir": str(
            ing.state_dir
            or (state_dir(cfg) / "data" / "nifi" / "state" / "iptv-pairing" if local_nifi else "./state/iptv-pairing")
        ),
        "channel.catalog": channel_catalog_spec() if ing.channel_catalog is None else ing.channel_catalog,
        "event.schema.file": str(SCHEMA_FILE) if local_nifi and SCHEMA_FILE.exists() else "",
        "hdfs.webhdfs.url": h.webhdfs_url,
        "hdfs.user": h.user,
        "hdfs.viewing.events.path": h.paths.viewing_events,
        "hdfs.sessions.path": h.paths.sessions,
        "hdfs.quarantine.path": h.paths.quarantine,
        "hdfs.ingest.batches.path": h.paths.ingest_batches,
        "hdfs.timeout": ing.hdfs_timeout,
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
        # A secret goes to NiFi only through the parameter context (deploy.ensure_context), never in the flow.
        p["value"] = None if p.get("sensitive") else params.get(p["name"], p.get("value"))
    snap["parameterContexts"] = {ctx_name: ctx}
    for label in _labels(fc):
        label["label"] = render_canvas_text(label["label"], params, stamp)
    return snap


def sensitive_parameters(spec: FlowSpec | None = None) -> set[str]:
    """The names of the flow's sensitive parameters (``"sensitive": true`` in its definition)."""
    snap = load_snapshot((spec or FLOWS["ingestion"]).file)
    return {p["name"] for ctx in snap["parameterContexts"].values() for p in ctx["parameters"] if p.get("sensitive")}


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


def stamp_of(comments: str | None) -> str | None:
    m = _STAMP_RE.search(comments or "")
    return m.group(1) if m else None


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
        REPO_ROOT / "nifi" / "flows" / "warehouse_sync.json",
        "IPTV warehouse sync",
        "iptv-warehouse-sync",
        ("iptv_warehouse",),
        None,
        warehouse_sync_parameters,
    ),
}
