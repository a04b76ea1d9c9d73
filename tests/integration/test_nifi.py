"""NiFi end to end: log in with the admin client certificate (mutual TLS), check that a client without a
certificate is refused, run GenerateFlowFile (from the locally assembled standard NAR) -> the platform's smoke-test
Python processor (nifi/python-processors/SlugifyText.py) -> funnel, and read the result off the queue.

The first run of a Python processor makes NiFi build its virtual environment and pip-install its declared
dependency, so the wait below is generous; a timeout names what was still missing."""

from __future__ import annotations

import socket
import ssl
import time
import urllib.parse
import uuid
from typing import Any

import nipyapi
import pytest

from iptv.config import resolve_path
from iptv.nifi.client import login

pytestmark = pytest.mark.integration

INPUT_TEXT = "Hello, IPTV World!\nChannel 5: Late Night News"
SEPARATOR = "_"
EXPECTED = "hello_iptv_world\nchannel_5_late_night_news"
#: Seconds to wait for the transformed FlowFile (venv creation + pip install on the first run).
RESULT_TIMEOUT = 420


def processor_type(name: str):
    types = [t for t in nipyapi.canvas.list_all_processor_types().processor_types if t.type.split(".")[-1] == name]
    assert types, f"processor type {name} is not available in this NiFi (missing NAR or Python extension?)"
    return types[0]


def add_processor(pg, type_name: str, x: int, properties: dict[str, str]):
    """Create the processor, wait until NiFi has initialised it (a Python processor knows its properties and
    relationships only then), check that every property set is one it declares, and set them."""
    proc = nipyapi.canvas.create_processor(pg, processor_type(type_name), (x, 0), name=type_name)
    proc = wait_for_relationships(proc, RESULT_TIMEOUT)
    # Property *names* (not display names): an unknown name silently becomes a dynamic property.
    known = {n for n, d in (proc.component.config.descriptors or {}).items() if not d.dynamic}
    assert known, f"{type_name} declares no properties once initialised"
    unknown = sorted(set(properties) - known)
    assert not unknown, f"{type_name} has no properties {unknown}; known: {sorted(known)}"
    config = nipyapi.nifi.ProcessorConfigDTO(properties=properties, scheduling_period="10 sec")
    proc = nipyapi.canvas.update_processor(proc, config)
    got = {k: proc.component.config.properties.get(k) for k in properties}
    assert got == properties, f"{type_name} kept {got}, not {properties}"
    return proc


def wait_for_relationships(proc, timeout: float):
    """A Python processor knows its relationships only once NiFi has built its venv and loaded it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = nipyapi.canvas.get_processor(proc.id, "id")
        if proc.component.relationships:
            return proc
        time.sleep(3)
    pytest.fail(
        f"{proc.component.name} was not initialised within {timeout:.0f} s (creating its venv and pip-installing "
        f"its dependencies); validation errors: {proc.component.validation_errors}"
    )


def wait_for_flowfile(connection, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = nipyapi.canvas.list_flowfiles(connection, limit=10)
        if files:
            return files[0]
        time.sleep(3)
    bulletins = [b.message for b in nipyapi.canvas.get_bulletin_board(limit=5) or []]
    pytest.fail(
        f"no FlowFile reached the output queue within {timeout:.0f} s (the Python processor's venv/pip install "
        f"may still be running, or it failed); last bulletins: {bulletins or 'none'}"
    )


def run_smoke_flow(source_type: str, source_props: dict[str, str]) -> str:
    """Build source -> SlugifyText -> funnel in a fresh process group, return the transformed content; the
    process group is deleted afterwards (and that is checked)."""
    root = nipyapi.canvas.get_process_group(nipyapi.canvas.get_root_pg_id(), "id")
    pg = nipyapi.canvas.create_process_group(root, f"test-nifi-{uuid.uuid4().hex[:8]}", (0, 0))
    pg_id = pg.id
    try:
        source = add_processor(pg, source_type, 0, source_props)
        # not the default separator ("-"): the output shows that the property reached the processor
        slug = add_processor(pg, "SlugifyText", 400, {"Separator": SEPARATOR})
        slug = nipyapi.canvas.update_processor(
            slug, nipyapi.nifi.ProcessorConfigDTO(auto_terminated_relationships=["failure", "original"])
        )
        funnel = nipyapi.canvas.create_funnel(pg.id, (800, 0))
        nipyapi.canvas.create_connection(source, slug, ["success"])
        out = nipyapi.canvas.create_connection(slug, funnel, ["success"])
        nipyapi.canvas.schedule_processor(source, True)
        nipyapi.canvas.schedule_processor(slug, True)
        summary = wait_for_flowfile(out, RESULT_TIMEOUT)
        content = nipyapi.canvas.get_flowfile_content(out, summary.uuid, decode="text")
        return content.decode("utf-8") if isinstance(content, bytes) else content
    finally:
        nipyapi.canvas.schedule_process_group(pg_id, False)
        for conn in nipyapi.canvas.list_all_connections(pg_id):
            nipyapi.canvas.purge_connection(conn.id)
        nipyapi.canvas.delete_process_group(nipyapi.canvas.get_process_group(pg_id, "id"), force=True)
        left = [g.id for g in nipyapi.canvas.list_all_process_groups(root.id) if g.id == pg_id]
        assert not left, f"test process group {pg_id} was not deleted"


@pytest.fixture(scope="module")
def nifi_session(nifi):
    identity = login(nifi)
    assert identity == nifi.nifi.admin_identity
    return nifi


def test_login_and_version(nifi_session):
    user = nipyapi.nifi.FlowApi().get_current_user()
    assert not user.anonymous
    assert user.identity == nifi_session.nifi.admin_identity
    version = nipyapi.system.get_nifi_version_info().ni_fi_version
    assert version == nifi_session.nifi.version


def _get_about(section, *, client_certificate: bool) -> bytes:
    """GET /flow/about over TLS, the server verified against the CA, with or without the admin client certificate;
    returns the start of the answer (b"" when the server closed the connection without one)."""
    ctx = ssl.create_default_context(cafile=str(resolve_path(section.ca_file)))
    if client_certificate:
        ctx.load_cert_chain(resolve_path(section.client_cert_file), resolve_path(section.client_key_file))
    url = urllib.parse.urlsplit(section.url)
    request = f"GET {url.path.rstrip('/')}/flow/about HTTP/1.1\r\nHost: {url.hostname}\r\nConnection: close\r\n\r\n"
    with (
        socket.create_connection((url.hostname, url.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        tls.sendall(request.encode())
        return tls.recv(64)


def test_request_without_client_certificate_is_refused(nifi_session):
    """With the admin certificate the same request is answered 200; without it, over a TLS session whose server
    certificate checked out against the CA, NiFi answers nothing: it refuses the missing certificate with TLS 1.3's
    certificate_required alert or closes the connection (with no alert, a reset, or no answer), never with HTTP."""
    section = nifi_session.nifi
    assert _get_about(section, client_certificate=True).startswith(b"HTTP/1.1 200 ")
    try:
        answer = _get_about(section, client_certificate=False)
    except (ssl.SSLEOFError, ConnectionResetError):
        pass  # the server dropped the connection on the missing certificate (no alert, or a reset)
    except ssl.SSLError as exc:  # the alert the server sent: nothing else may fail once the handshake is done
        assert exc.reason in ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE"), exc
    else:
        assert answer == b"", f"NiFi answered a client without a certificate: {answer!r}"


def test_python_processor_end_to_end(nifi_session):
    content = run_smoke_flow("GenerateFlowFile", {"generate-ff-custom-text": INPUT_TEXT, "Batch Size": "1"})
    assert content == EXPECTED
