"""The dashboards tree (``superset/``) and Superset's asset bundles.

The tree holds one YAML file per object, in the layout of Superset's export: ``databases/*.yaml``,
``datasets/<database>/*.yaml``, ``charts/*.yaml``, ``dashboards/*.yaml``, every object with an explicit ``uuid``
and no password. :func:`build_bundle` zips it for ``POST /api/v1/assets/import/`` (one top-level folder, a
``metadata.yaml``), with the warehouse's address from the config. :func:`normalise_export` turns an export of a
running Superset back into tree form (its ids replaced by the tree's, volatile keys dropped, lists sorted), so a
dashboard edited in the UI can be reviewed as a diff.

The tree names the warehouse schema :data:`TREE_SCHEMA` (``iptv_dw``, in every dataset's ``schema`` and the
qualified table names of the virtual datasets' SQL); :func:`for_instance` puts config ``postgres.schema`` in its
place (:func:`rename_schema`) and an export in tree form puts it back, so the tree stays the same whatever
schema an installation uses. :func:`changes` compares the tree with an export: what a
deploy would change.
"""

from __future__ import annotations

import copy
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from iptv.config import REPO_ROOT, Config
from iptv.warehouse.schema import DEFAULT_SCHEMA, check_schema_name

TREE = REPO_ROOT / "superset"
KINDS = ("databases", "datasets", "charts", "dashboards")
BUNDLE_ROOT = "iptv_dashboards"
#: What Superset's export writes in place of a password.
MASKED = "XXXXXXXXXX"
#: The warehouse schema the tree's datasets name (the deploy writes config postgres.schema in its place).
TREE_SCHEMA = DEFAULT_SCHEMA
#: Chart params the UI adds and that say nothing about the chart (ids of this instance, the last form state).
VOLATILE_PARAMS = ("slice_id", "datasource", "dashboards", "url_params", "extra_form_data", "applied_time_extras")


class TreeError(RuntimeError):
    """The tree is inconsistent (a file without uuid, a chart naming an unknown dataset, ...)."""


@dataclass
class Asset:
    kind: str
    path: str  # relative to the tree, posix
    data: dict[str, Any]

    @property
    def uuid(self) -> str:
        return str(self.data["uuid"])

    @property
    def name(self) -> str:
        d = self.data
        return str(d.get("database_name") or d.get("table_name") or d.get("slice_name") or d.get("dashboard_title"))


def kind_of(path: str) -> str:
    first = PurePosixPath(path).parts[0]
    if first not in KINDS:
        raise TreeError(f"{path}: not under one of {', '.join(KINDS)}")
    return first


def load_tree(root: Path = TREE) -> dict[str, Asset]:
    """Every asset of the tree by uuid; checks that each has a uuid and that references resolve."""
    assets: dict[str, Asset] = {}
    for kind in KINDS:
        for file in sorted((root / kind).rglob("*.yaml")):
            rel = file.relative_to(root).as_posix()
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not data.get("uuid"):
                raise TreeError(f"{rel}: no uuid")
            asset = Asset(kind, rel, data)
            if asset.uuid in assets:
                raise TreeError(f"{rel}: uuid {asset.uuid} also in {assets[asset.uuid].path}")
            assets[asset.uuid] = asset
    check_references(assets)
    return assets


def check_references(assets: dict[str, Asset]) -> None:
    by_kind = {k: {a.uuid for a in assets.values() if a.kind == k} for k in KINDS}
    for a in assets.values():
        if a.kind == "databases" and f":{MASKED}@" not in str(a.data.get("sqlalchemy_uri", f":{MASKED}@")):
            raise TreeError(f"{a.path}: sqlalchemy_uri must not hold a password (write {MASKED})")
        if a.kind == "datasets" and a.data.get("database_uuid") not in by_kind["databases"]:
            raise TreeError(f"{a.path}: database_uuid {a.data.get('database_uuid')} is not in the tree")
        if a.kind == "datasets" and not a.data.get("schema"):
            raise TreeError(f"{a.path}: schema must be set (a null schema creates duplicate datasets)")
        if a.kind == "charts" and a.data.get("dataset_uuid") not in by_kind["datasets"]:
            raise TreeError(f"{a.path}: dataset_uuid {a.data.get('dataset_uuid')} is not in the tree")
        if a.kind == "dashboards":
            for node in chart_nodes(a.data):
                meta = node.get("meta", {})
                if meta.get("uuid") not in by_kind["charts"] or not isinstance(meta.get("chartId"), int):
                    raise TreeError(f"{a.path}: {node.get('id')} needs meta.uuid of a chart in the tree and chartId")
            for nf in a.data.get("metadata", {}).get("native_filter_configuration", []):
                for target in nf.get("targets", []):
                    if "datasetUuid" in target and target["datasetUuid"] not in by_kind["datasets"]:
                        raise TreeError(f"{a.path}: filter {nf.get('name')!r} targets an unknown dataset")


def chart_nodes(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    position = dashboard.get("position") or {}
    return [n for n in position.values() if isinstance(n, dict) and n.get("type") == "CHART"]


def database_uri(cfg: Config) -> str:
    """The warehouse connection as the read-only role, password masked (it travels apart, in ``passwords``)."""
    pg = cfg.postgres
    return f"postgresql+psycopg2://{pg.reader_user}:{MASKED}@{pg.host}:{pg.port}/{pg.database}"


def _qualified(schema: str) -> re.Pattern[str]:
    """``schema`` as the qualifier of a table name in SQL (``iptv_dw.fact_session``), not part of a longer name."""
    return re.compile(rf"(?<![\w.\"]){re.escape(schema)}(?=\.)")


def rename_schema(dataset: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A dataset of schema ``old`` moved to ``new``: its ``schema`` and the ``old.`` qualified table names of its
    SQL (a dataset of another schema is returned as it is). TreeError if its SQL already names ``new.``: the
    rename could not be undone."""
    if old == new or dataset.get("schema") != old:
        return dataset
    out = copy.deepcopy(dataset)
    out["schema"] = new
    sql = out.get("sql")
    if sql:
        if _qualified(new).search(sql):
            raise TreeError(f"dataset {out.get('table_name')}: its SQL names schema {new} already")
        out["sql"] = _qualified(old).sub(new, sql)
    return out


def for_instance(assets: dict[str, Asset], cfg: Config) -> dict[str, Asset]:
    """The tree as this configuration deploys it: the database's address and name from the config, the datasets
    in the configured warehouse schema (config ``postgres.schema``)."""
    try:
        schema = check_schema_name(cfg.postgres.schema)
    except ValueError as exc:
        raise TreeError(f"postgres.schema: {exc}") from None
    out = {}
    for u, a in assets.items():
        data = copy.deepcopy(a.data)
        if a.kind == "databases":
            data["sqlalchemy_uri"] = database_uri(cfg)
            data["database_name"] = cfg.superset.database_name
        elif a.kind == "datasets":
            data = rename_schema(data, TREE_SCHEMA, schema)
        out[u] = Asset(a.kind, a.path, data)
    return out


def build_bundle(assets: Iterable[Asset]) -> bytes:
    """A ZIP for ``/api/v1/assets/import/``: one top-level folder with metadata.yaml and the assets."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        meta = {"version": "1.0.0", "type": "assets", "timestamp": "1970-01-01T00:00:00+00:00"}
        zf.writestr(f"{BUNDLE_ROOT}/metadata.yaml", yaml.safe_dump(meta))
        for a in assets:
            zf.writestr(f"{BUNDLE_ROOT}/{a.path}", yaml.safe_dump(a.data, sort_keys=False, allow_unicode=True))
    return buf.getvalue()


def database_paths(assets: Iterable[Asset]) -> list[str]:
    return [a.path for a in assets if a.kind == "databases"]


# ------------------------------------------------------------------------------------------------ export -> tree


def read_bundle(content: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(path below the bundle's folder, object) of every asset in an exported ZIP."""
    out = []
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        for name in zf.namelist():
            parts = PurePosixPath(name).parts
            if len(parts) < 3 or parts[1] not in KINDS or not name.endswith(".yaml"):
                continue
            out.append(("/".join(parts[1:]), yaml.safe_load(zf.read(name))))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "unnamed"


def normalise_export(
    exported: list[tuple[str, dict[str, Any]]],
    tree: dict[str, Asset],
    *,
    keep_address: bool = False,
    schema: str = TREE_SCHEMA,
) -> dict[str, Asset]:
    """The exported objects in tree form. Files keep the tree's names (new objects get a name from their title);
    chart ids of the instance become the tree's ``chartId`` numbers; ``keep_address``: the database keeps the
    tree's name and address (those of the instance come from the config, not from the tree) and the datasets of
    the instance's warehouse schema ``schema`` (config ``postgres.schema``) go back to :data:`TREE_SCHEMA`."""
    out: dict[str, Asset] = {}
    for path, data in exported:
        kind = kind_of(path)
        u = str(data.get("uuid"))
        known = tree.get(u)
        data = normalise(kind, data, known.data if known else None)
        if keep_address and kind == "databases" and known:
            data["sqlalchemy_uri"] = known.data["sqlalchemy_uri"]
            data["database_name"] = known.data["database_name"]
        if keep_address and kind == "datasets":
            data = rename_schema(data, schema, TREE_SCHEMA)
        if known:
            rel = known.path
        elif kind == "datasets":
            rel = f"datasets/{PurePosixPath(path).parts[1]}/{_slug(data.get('table_name', u))}.yaml"
        else:
            rel = f"{kind}/{_slug(Asset(kind, path, data).name)}.yaml"
        out[u] = Asset(kind, rel, data)
    return out


def normalise(kind: str, data: dict[str, Any], tree_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """One object in tree form (see :func:`normalise_export`); idempotent."""
    data = copy.deepcopy(data)
    if kind == "datasets":
        data["columns"] = sorted(data.get("columns") or [], key=lambda c: c["column_name"])
        data["metrics"] = sorted(data.get("metrics") or [], key=lambda m: m["metric_name"])
    elif kind == "charts":
        params = data.get("params") or {}
        for key in VOLATILE_PARAMS:
            params.pop(key, None)
        data["params"] = params
        data["query_context"] = None
    elif kind == "dashboards":
        _normalise_dashboard(data, tree_data)
    return data


def _normalise_dashboard(data: dict[str, Any], tree_data: dict[str, Any] | None) -> None:
    tree_ids = {n["meta"]["uuid"]: n["meta"]["chartId"] for n in chart_nodes(tree_data or {})}
    nodes = sorted(chart_nodes(data), key=lambda n: n["id"])
    id_map: dict[int, int] = {}
    next_id = max(tree_ids.values(), default=0) + 1
    for node in nodes:
        meta = node["meta"]
        local = tree_ids.get(meta.get("uuid"))
        if local is None:
            local, next_id = next_id, next_id + 1
        if isinstance(meta.get("chartId"), int):
            id_map[meta["chartId"]] = local
        meta["chartId"] = local
    metadata = data.get("metadata") or {}
    for key in (
        "chart_configuration",
        "global_chart_configuration",
        "positions",
        "show_native_filters",
        "default_filters",
    ):
        metadata.pop(key, None)
    for nf in metadata.get("native_filter_configuration", []):
        scope = nf.get("scope") or {}
        if "excluded" in scope:
            scope["excluded"] = sorted(id_map.get(i, i) for i in scope["excluded"])
        if "chartsInScope" in nf:
            nf["chartsInScope"] = sorted(id_map.get(i, i) for i in nf["chartsInScope"])
    data["metadata"] = metadata


# ------------------------------------------------------------------------------------------------ plan


def project(actual: Any, wanted: Any) -> Any:
    """``actual`` cut down to the keys ``wanted`` has (recursively): keys the instance adds by itself are not
    changes of the tree."""
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return {k: project(actual.get(k), v) for k, v in wanted.items()}
    if isinstance(wanted, list) and isinstance(actual, list) and len(wanted) == len(actual):
        return [project(a, w) for a, w in zip(actual, wanted, strict=True)]
    return actual


def changes(wanted: dict[str, Asset], actual: dict[str, Asset]) -> dict[str, list[str]]:
    """``{"create": [...], "update": [...], "unchanged": [...]}``: tree paths by what a deploy does to them."""
    plan: dict[str, list[str]] = {"create": [], "update": [], "unchanged": []}
    for u, a in sorted(wanted.items(), key=lambda kv: kv[1].path):
        have = actual.get(u)
        want = normalise(a.kind, a.data, a.data)
        if have is None:
            plan["create"].append(a.path)
        elif project(have.data, want) != want:
            plan["update"].append(a.path)
        else:
            plan["unchanged"].append(a.path)
    return plan


def diff_keys(want: Any, have: Any, where: str = "") -> list[str]:
    """Where two objects differ (dotted keys), for the plan's detail."""
    if isinstance(want, dict) and isinstance(have, dict):
        out = []
        for k in want:
            out += diff_keys(want[k], have.get(k), f"{where}.{k}" if where else str(k))
        return out
    return [] if want == have else [where or "(value)"]


def write_tree(assets: dict[str, Asset], root: Path = TREE, *, prune: bool = True) -> list[str]:
    """Write assets into the tree (stable YAML); ``prune``: delete tree files of objects not among them.
    Returns the paths written or deleted."""
    touched = []
    keep = set()
    for a in sorted(assets.values(), key=lambda x: x.path):
        file = root / a.path
        text = yaml.safe_dump(a.data, sort_keys=False, allow_unicode=True, width=110)
        keep.add(file)
        if not file.exists() or file.read_text(encoding="utf-8") != text:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            touched.append(a.path)
    if prune:
        for kind in KINDS:
            for file in sorted((root / kind).rglob("*.yaml")):
                if file not in keep:
                    file.unlink()
                    touched.append(file.relative_to(root).as_posix())
    return touched
