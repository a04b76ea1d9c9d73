"""Deploy the dashboards tree to Superset, export it back, and set up the read-only viewer.

The tree is deployed as the configuration has it (:func:`bundle.for_instance`: the warehouse's address, and its
schema ``postgres.schema`` in the datasets), and exported back in the tree's own form.

:func:`deploy` logs in as the admin, exports the tree's dashboards from the instance, compares (``bundle.changes``)
and, when anything differs, imports the whole tree with ``overwrite=true`` through ``/api/v1/assets/import/``
(the database password, of the warehouse's read-only role, travels in ``passwords``, never in the tree). A
second deploy finds nothing to change and imports nothing. :func:`ensure_viewer` keeps a role that may read the
tree's datasets and open dashboards (no chart, dashboard or dataset writes, no Explore, no SQL Lab) and a viewer
login with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iptv.config import Config, read_credentials
from iptv.superset import bundle
from iptv.superset.client import SupersetClient, SupersetError

log = logging.getLogger(__name__)

#: Gamma's permissions the viewer does NOT get: every write, add, edit, delete, Explore and SQL Lab.
VIEWER_DENIED_PERMISSIONS = {
    "can_write", "can_add", "can_edit", "can_delete", "can_bulk_create", "can_tag", "can_explore",
    "can_export_as_example", "can_delete_embedded", "can_put_chart_customizations", "can_csv",
}  # fmt: skip
#: ... except these writes, which only store a dashboard's filter state or a share link.
VIEWER_ALLOWED_WRITES = {"DashboardFilterStateRestApi", "DashboardPermalinkRestApi", "CurrentUserRestApi"}
VIEWER_DENIED_VIEWS = {"SQLLab", "SQL Lab", "Query", "SavedQuery", "SQL Editor", "Query Search"}


@dataclass
class Report:
    plan: dict[str, list[str]]
    imported: bool = False
    viewer: dict[str, Any] = field(default_factory=dict)
    dashboards: dict[str, str] = field(default_factory=dict)  # title -> URL

    @property
    def changed(self) -> int:
        return len(self.plan["create"]) + len(self.plan["update"])


def superset_credentials(cfg: Config) -> dict[str, str]:
    return read_credentials(cfg.superset.credentials_file)


def connect(cfg: Config, *, viewer: bool = False) -> SupersetClient:
    creds = superset_credentials(cfg)
    s = cfg.superset
    user, key = (s.viewer_user, "viewer_password") if viewer else (s.admin_user, "admin_password")
    if not creds.get(key):
        raise SupersetError(f"no {key} in {s.credentials_file}")
    return SupersetClient(s.url, user, creds[key])


def reader_password(cfg: Config) -> str:
    creds = read_credentials(cfg.postgres.credentials_file)
    try:
        return creds[cfg.postgres.reader_user]
    except KeyError:
        raise SupersetError(f"no password of {cfg.postgres.reader_user} in {cfg.postgres.credentials_file}") from None


def dashboard_ids(client: SupersetClient, uuids: set[str]) -> dict[str, int]:
    """Ids on the instance of the dashboards whose uuid is in ``uuids``."""
    rows = client.list_all("dashboard", ["id", "uuid"])
    return {str(r["uuid"]): int(r["id"]) for r in rows if str(r.get("uuid")) in uuids}


def exported(
    client: SupersetClient,
    tree: dict[str, bundle.Asset],
    *,
    keep_address: bool = False,
    schema: str = bundle.TREE_SCHEMA,
) -> dict[str, bundle.Asset]:
    """The instance's copy of the tree's dashboards (with their charts, datasets, database), in tree form
    (``keep_address``, ``schema``: see :func:`bundle.normalise_export`)."""
    wanted = {u for u, a in tree.items() if a.kind == "dashboards"}
    ids = dashboard_ids(client, wanted)
    if not ids:
        return {}
    q = f"!({','.join(str(i) for i in sorted(ids.values()))})"
    content = client.request("GET", "/api/v1/dashboard/export/", params={"q": q}).content
    return bundle.normalise_export(bundle.read_bundle(content), tree, keep_address=keep_address, schema=schema)


def plan(cfg: Config, client: SupersetClient, root: Path = bundle.TREE) -> dict[str, list[str]]:
    tree = bundle.for_instance(bundle.load_tree(root), cfg)
    return bundle.changes(tree, exported(client, tree))


def deploy(cfg: Config, *, dry_run: bool = False, root: Path = bundle.TREE, viewer: bool = True) -> Report:
    client = connect(cfg)
    tree = bundle.for_instance(bundle.load_tree(root), cfg)
    report = Report(bundle.changes(tree, exported(client, tree)))
    if dry_run:
        return report
    if report.changed:
        passwords = {path: reader_password(cfg) for path in bundle.database_paths(tree.values())}
        client.import_assets(bundle.build_bundle(tree.values()), passwords)
        report.imported = True
        log.info("imported %d objects (%d changed)", len(tree), report.changed)
    if viewer:
        report.viewer = ensure_viewer(cfg, client, tree)
    report.dashboards = dashboard_urls(cfg, client, tree)
    return report


def dashboard_urls(cfg: Config, client: SupersetClient, tree: dict[str, bundle.Asset]) -> dict[str, str]:
    ids = dashboard_ids(client, {u for u, a in tree.items() if a.kind == "dashboards"})
    base = cfg.superset.url.rstrip("/")
    out = {}
    for u, a in sorted(tree.items(), key=lambda kv: kv[1].path):
        if a.kind == "dashboards" and u in ids:
            out[a.name] = f"{base}/superset/dashboard/{a.data.get('slug') or ids[u]}/"
    return out


def dataset_ids(client: SupersetClient, tree: dict[str, bundle.Asset]) -> dict[str, int]:
    wanted = {u for u, a in tree.items() if a.kind == "datasets"}
    rows = client.list_all("dataset", ["id", "uuid"])
    return {str(r["uuid"]): int(r["id"]) for r in rows if str(r.get("uuid")) in wanted}


def chart_ids(client: SupersetClient, tree: dict[str, bundle.Asset]) -> dict[str, int]:
    wanted = {u for u, a in tree.items() if a.kind == "charts"}
    rows = client.list_all("chart", ["id", "uuid"])
    return {str(r["uuid"]): int(r["id"]) for r in rows if str(r.get("uuid")) in wanted}


def _role_id(client: SupersetClient, name: str) -> int | None:
    for r in client.list_all("security/roles"):
        if r["name"] == name:
            return int(r["id"])
    return None


def viewer_permissions(gamma: list[dict[str, Any]], all_pvms: list[dict[str, Any]], dataset_ids: set[int]) -> set[int]:
    """Ids of the viewer's permission-view pairs: Gamma's read-only part plus datasource_access on the datasets."""
    keep = set()
    for p in gamma:
        perm, view = p["permission_name"], p["view_menu_name"]
        if view in VIEWER_DENIED_VIEWS or "sql" in perm.lower():
            continue
        if perm in VIEWER_DENIED_PERMISSIONS and not (perm == "can_write" and view in VIEWER_ALLOWED_WRITES):
            continue
        keep.add(int(p["id"]))
    suffixes = {f"(id:{i})" for i in dataset_ids}
    for p in all_pvms:
        if p["permission"]["name"] == "datasource_access" and any(p["view_menu"]["name"].endswith(s) for s in suffixes):
            keep.add(int(p["id"]))
    return keep


def ensure_viewer(cfg: Config, client: SupersetClient, tree: dict[str, bundle.Asset]) -> dict[str, Any]:
    """The viewer role (read-only, the tree's datasets) and login; idempotent. Returns what it did."""
    s = cfg.superset
    done: dict[str, Any] = {"role": s.viewer_role, "user": s.viewer_user}
    role_id = _role_id(client, s.viewer_role)
    if role_id is None:
        role_id = int(client.post("/api/v1/security/roles/", {"name": s.viewer_role})["id"])
        done["role_created"] = True
    gamma_id = _role_id(client, "Gamma")
    if gamma_id is None:
        raise SupersetError("Superset has no Gamma role to derive the viewer's permissions from")
    gamma = client.get(f"/api/v1/security/roles/{gamma_id}/permissions/")["result"]
    pvms = client.list_all("security/permissions-resources")
    wanted = viewer_permissions(gamma, pvms, set(dataset_ids(client, tree).values()))
    have = {int(p["id"]) for p in client.get(f"/api/v1/security/roles/{role_id}/permissions/")["result"]}
    if have != wanted:
        client.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": sorted(wanted)})
        done["permissions_set"] = len(wanted)
    users = [u for u in client.list_all("security/users") if u.get("username") == s.viewer_user]
    password = superset_credentials(cfg).get("viewer_password")
    if not users:
        if not password:
            raise SupersetError(f"no viewer_password in {s.credentials_file}")
        client.post(
            "/api/v1/security/users/",
            {
                "username": s.viewer_user, "first_name": "IPTV", "last_name": "Viewer",
                "email": f"{s.viewer_user}@localhost", "active": True, "roles": [role_id], "password": password,
            },
        )  # fmt: skip
        done["user_created"] = True
    else:
        user = client.get(f"/api/v1/security/users/{users[0]['id']}")["result"]
        if sorted(int(r["id"]) for r in user.get("roles", [])) != [role_id]:
            client.put(f"/api/v1/security/users/{users[0]['id']}", {"roles": [role_id]})
            done["user_roles_set"] = True
    return done


def export(cfg: Config, root: Path = bundle.TREE) -> list[str]:
    """Write the instance's copy of the tree's dashboards into the tree. Returns the files changed."""
    client = connect(cfg)
    tree = bundle.load_tree(root)
    actual = exported(client, tree, keep_address=True, schema=cfg.postgres.schema)
    if not actual:
        raise SupersetError("none of the tree's dashboards is on the instance: deploy first")
    return bundle.write_tree(actual, root, prune=False)
