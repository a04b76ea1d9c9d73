"""NiFi end to end: log in with the generated single-user credentials, run a flow through the platform's
smoke-test Python processor (nifi/python-processors/SlugifyText.py) and read the result off a queue.

The first run of a Python processor makes NiFi build its virtual environment and pip-install its declared
dependency, so the wait below is generous; a timeout names what was still missing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import nipyapi
import pytest

from iptv.nifi_client import login

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
    bulletins = [b.bulletin.message for b in nipyapi.canvas.get_bulletin_board().bulletin_board.bulletins or []][-5:]
    pytest.fail(
        f"no FlowFile reached the output queue within {timeout:.0f} s (the Python processor's venv/pip install "
        f"may still be running, or it failed); last bulletins: {bulletins or 'none'}"
    )


def run_smoke_flow(source_type: str, source_props: dict[str, str]) -> str:
    """Build source -> SlugifyText -> funnel in a fresh process group, return the transformed content."""
    root = nipyapi.canvas.get_process_group(nipyapi.canvas.get_root_pg_id(), "id")
    pg = nipyapi.canvas.create_process_group(root, f"test-nifi-{uuid.uuid4().hex[:8]}", (0, 0))
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
        nipyapi.canvas.schedule_process_group(pg.id, False)
        for conn in nipyapi.canvas.list_all_connections(pg.id):
            nipyapi.canvas.purge_connection(conn.id)
        nipyapi.canvas.delete_process_group(nipyapi.canvas.get_process_group(pg.id, "id"), force=True)


@pytest.fixture(scope="module")
def nifi_session(nifi):
    login(nifi)
    return nifi


def test_login_and_version(nifi_session):
    assert nipyapi.security.get_service_access_status(bool_response=True)
    version = nipyapi.system.get_nifi_version_info().ni_fi_version
    assert version == str(nifi_session["nifi"]["version"])


def test_python_processor_end_to_end(nifi_session):
    content = run_smoke_flow("GenerateFlowFile", {"Custom Text": INPUT_TEXT, "Batch Size": "1"})
    assert content == EXPECTED
