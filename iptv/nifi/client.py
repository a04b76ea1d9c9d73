"""Connect nipyapi to the configured NiFi with mutual TLS: endpoint, CA file and the client certificate/key
from the config (the local stack generates them; on a real NiFi point the config at your own). Deploy scripts
and tests call :func:`login` first."""

from __future__ import annotations

import logging

import nipyapi

from iptv.config import Config, ConfigError, get_config, resolve_path

log = logging.getLogger(__name__)


def _file(key: str, value: str | None) -> str:
    if not value:
        raise ConfigError(f"config nifi.{key} is not set")
    path = resolve_path(value)
    if not path.exists():
        raise ConfigError(f"nifi.{key} {path} not found: run `make up` (or set it to your certificate files)")
    return str(path)


def login(cfg: Config | None = None) -> str:
    """Point nipyapi at config ``nifi.url`` with the client certificate and verify access.

    Returns the identity NiFi sees (the certificate's subject DN)."""
    nifi = (cfg or get_config()).nifi
    verify = nifi.verify_tls
    nipyapi.security.reset_service_connections("nifi")
    nipyapi.config.nifi_config.host = nifi.url
    nipyapi.config.nifi_config.verify_ssl = verify
    if not verify:
        nipyapi.config.disable_insecure_request_warnings = True
        nipyapi.security.set_ssl_warning_suppression(True)
    nipyapi.security.set_service_ssl_context(
        service="nifi",
        ca_file=_file("ca_file", nifi.ca_file) if verify else None,
        client_cert_file=_file("client_cert_file", nifi.client_cert_file),
        client_key_file=_file("client_key_file", nifi.client_key_file),
    )
    if not verify:
        import ssl

        nipyapi.config.nifi_config.ssl_context.check_hostname = False
        nipyapi.config.nifi_config.ssl_context.verify_mode = ssl.CERT_NONE
    identity = nipyapi.nifi.FlowApi().get_current_user().identity
    if identity == "anonymous":
        raise ConfigError(f"NiFi at {nifi.url} did not accept the client certificate (anonymous)")
    version = nipyapi.system.get_nifi_version_info().ni_fi_version
    log.info("connected to NiFi %s at %s as %s", version, nifi.url, identity)
    return identity
