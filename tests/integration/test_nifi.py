"""NiFi end to end: log in with the admin client certificate (mutual TLS), check that a client without a
certificate is refused, run GenerateFlowFile (from the locally assembled standard NAR) -> the platform's smoke-test
Python processor (nifi/python-processors/SlugifyText.py) -> funnel, and read the result off the queue.

The first run of a Python processor makes NiFi build its virtual environment and pip-install its declared
dependency, so the wait below is generous; a timeout names what was still missing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import nipyapi
import pytest
import requests

from iptv.config import resolve_path
from iptv.nifi.client import login

pytestmark = pytest.mark.integration

INPUT_TEXT = "Hello, IPTV World!\nChannel 5: Late Night News"
EXPECTED = "hello-iptv-world\nchannel-5-late-night-news"
#: Seconds to wait for the transformed FlowFile (venv creation + pip install on the first run).
RESULT_TIMEOUT = 420


def processor_type(name: str):
    types = [t for t in nipyapi.canvas.list_all_processor_types().processor_types if t.type.split(".")[-1] == name]
    assert types, f"processor type {name} is not available in this NiFi (missing NAR or Python extension?)"
    return types[0]


def add_processor(pg, type_name: str, x: int, properties: dict[str, str]):
    proc = nipyapi.canvas.create_processor(pg, processor_type(type_name), (x, 0), name=type_name)
    # Property *names* (not display names): an unknown name silently becomes a dynamic property.
    known = {n for n, d in (proc.component.config.descriptors or {}).items() if not d.dynamic}
    unknown = sorted(set(properties) - known) if known else []
    assert not unknown, f"{type_name} has no properties {unknown}; known: {sorted(known)}"
    config = nipyapi.nifi.ProcessorConfigDTO(properties=properties, scheduling_period="10 sec")
    return nipyapi.canvas.update_processor(proc, config)


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
        source = wait_for_relationships(add_processor(pg, source_type, 0, source_props), RESULT_TIMEOUT)
        slug = wait_for_relationships(add_processor(pg, "SlugifyText", 400, {"Separator": "-"}), RESULT_TIMEOUT)
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


def test_request_without_client_certificate_is_refused(nifi_session):
    """The server trusts the CA (so TLS itself is fine) but, with no client certificate, must not answer."""
    section = nifi_session.nifi
    url = f"{section.url.rstrip('/')}/flow/about"
    try:
        r = requests.get(url, verify=str(resolve_path(section.ca_file)), timeout=10)
    except requests.exceptions.SSLError as exc:  # refused in the TLS handshake (client certificate required)
        assert "certificate" in str(exc).lower(), exc
    except requests.exceptions.ConnectionError as exc:  # handshake alert surfaced as a reset
        assert "reset" in str(exc).lower() or "alert" in str(exc).lower(), exc
    else:
        assert r.status_code in (401, 403), f"{url} answered {r.status_code} without a client certificate"


def test_python_processor_end_to_end(nifi_session):
    content = run_smoke_flow("GenerateFlowFile", {"generate-ff-custom-text": INPUT_TEXT, "Batch Size": "1"})
    assert content == EXPECTED
