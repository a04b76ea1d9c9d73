"""Connect nipyapi to the configured NiFi: endpoint and TLS verification from the config, single-user login
with the credentials file the stack generates. Deploy scripts and tests call :func:`login` first."""

from __future__ import annotations

import logging
from typing import Any

import nipyapi

from iptv.config import get_config, read_credentials

log = logging.getLogger(__name__)


def login(cfg: dict[str, Any] | None = None) -> None:
    """Point nipyapi at config ``nifi.url`` and log in (token cached in nipyapi's client)."""
    section = (cfg or get_config())["nifi"]
    verify = bool(section.get("verify_tls", True))
    nipyapi.config.nifi_config.host = section["url"]
    nipyapi.config.nifi_config.verify_ssl = verify
    if not verify:
        nipyapi.config.disable_insecure_request_warnings = True
        nipyapi.security.set_ssl_warning_suppression(True)
    nipyapi.security.reset_service_connections("nifi")
    creds = read_credentials(section["credentials_file"])
    nipyapi.security.service_login("nifi", username=creds["username"], password=creds["password"])
    log.info("logged in to NiFi at %s as %s", section["url"], creds["username"])
