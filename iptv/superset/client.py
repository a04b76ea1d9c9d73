"""A small Superset REST client: database login (JWT) plus the CSRF token, in one ``requests.Session`` (the token
is tied to the session cookie). Paths keep Superset's trailing slashes."""

from __future__ import annotations

import json
import logging
from typing import Any

import requests

log = logging.getLogger(__name__)


class SupersetError(RuntimeError):
    """A failed Superset request, with the status and the start of the answer."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class SupersetClient:
    def __init__(self, url: str, username: str, password: str, *, timeout: float = 120.0, verify: bool = True):
        self.url = url.rstrip("/")
        self.username = username
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = verify
        self._login(password)

    def _login(self, password: str) -> None:
        res = self.session.post(
            f"{self.url}/api/v1/security/login",
            json={"username": self.username, "password": password, "provider": "db", "refresh": False},
            timeout=self.timeout,
        )
        if res.status_code != 200:
            raise SupersetError(
                f"login as {self.username} at {self.url} failed: HTTP {res.status_code}", res.status_code
            )
        self.session.headers["Authorization"] = f"Bearer {res.json()['access_token']}"
        csrf = self.session.get(f"{self.url}/api/v1/security/csrf_token/", timeout=self.timeout)
        if csrf.status_code == 200:
            self.session.headers["X-CSRFToken"] = csrf.json()["result"]
            self.session.headers["Referer"] = self.url

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201), **kw: Any) -> requests.Response:
        res = self.session.request(method, f"{self.url}{path}", timeout=self.timeout, **kw)
        if res.status_code not in ok:
            raise SupersetError(
                f"{method} {path}: HTTP {res.status_code}: {' '.join(res.text.split())[:300]}", res.status_code
            )
        return res

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw).json()

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        res = self.request("POST", path, json=body, **kw)
        return res.json() if res.content else None

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        res = self.request("PUT", path, json=body, **kw)
        return res.json() if res.content else None

    def list_all(self, resource: str, columns: list[str] | None = None, filters: str = "") -> list[dict[str, Any]]:
        """Every row of ``/api/v1/<resource>/`` (paged), with Rison ``q``."""
        rows: list[dict[str, Any]] = []
        page = 0
        cols = f",columns:!({','.join(columns)})" if columns else ""
        while True:
            q = f"(page:{page},page_size:100{cols}{filters})"
            batch = self.get(f"/api/v1/{resource}/", params={"q": q})["result"]
            rows.extend(batch)
            if len(batch) < 100:
                return rows
            page += 1

    # ----- assets ----------------------------------------------------------------------------
    def export_assets(self) -> bytes:
        return self.request("GET", "/api/v1/assets/export/").content

    def import_assets(self, bundle: bytes, passwords: dict[str, str]) -> None:
        self.request(
            "POST",
            "/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", bundle, "application/zip")},
            data={"overwrite": "true", "passwords": json.dumps(passwords)},
        )

    def chart_data(self, query_context: dict[str, Any]) -> dict[str, Any]:
        return self.post("/api/v1/chart/data", query_context)
