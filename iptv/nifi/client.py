"""Connect nipyapi to the configured NiFi with mutual TLS: endpoint, CA file and the client certificate/key
from the config (the local stack generates them; on a real NiFi point the config at your own). Deploy scripts
and tests call :func:`login` first."""

from __future__ import annotations

import logging
from typing import Any

import nipyapi

from iptv.config import ConfigError, get_config, resolve_path

log = logging.getLogger(__name__)


def _file(section: dict[str, Any], key: str) -> str:
    try:
        path = resolve_path(section[key])
    except KeyError:
        raise ConfigError(f"config nifi.{key} is not set") from None
    if not path.exists():
        raise ConfigError(f"nifi.{key} {path} not found: run `make up` (or set it to your certificate files)")
    return str(path)


def login(cfg: dict[str, Any] | None = None) -> str:
    """Point nipyapi at config ``nifi.url`` with the client certificate and verify access.

    Returns the identity NiFi sees (the certificate's subject DN)."""
    section = (cfg or get_config())["nifi"]
    verify = bool(section.get("verify_tls", True))
    nipyapi.security.reset_service_connections("nifi")
    nipyapi.config.nifi_config.host = section["url"]
    nipyapi.config.nifi_config.verify_ssl = verify
    if not verify:
        nipyapi.config.disable_insecure_request_warnings = True
        nipyapi.security.set_ssl_warning_suppression(True)
    nipyapi.security.set_service_ssl_context(
        service="nifi",
        ca_file=_file(section, "ca_file") if verify else None,
        client_cert_file=_file(section, "client_cert_file"),
        client_key_file=_file(section, "client_key_file"),
    )
    if not verify:
        import ssl

        nipyapi.config.nifi_config.ssl_context.check_hostname = False
        nipyapi.config.nifi_config.ssl_context.verify_mode = ssl.CERT_NONE
    identity = nipyapi.nifi.FlowApi().get_current_user().identity
    if identity == "anonymous":
        raise ConfigError(f"NiFi at {section['url']} did not accept the client certificate (anonymous)")
    version = nipyapi.system.get_nifi_version_info().ni_fi_version
    log.info("connected to NiFi %s at %s as %s", version, section["url"], identity)
    return identity
