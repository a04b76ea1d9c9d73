"""The NiFi canvas as an operator sees it (issue #17), on the real NiFi and in a real browser.

The flows are deployed as `make demo` does (iptv.nifi.deploy; left stopped if they were not running).
Then Debian's headless Chromium, with the admin's client certificate imported into its NSS store and picked
by the AutoSelectCertificateForUrls policy (no dialog, no browser download), opens the root canvas and each
process group. The test asserts, from the REST positions and from the rendered page, that every process group
is visible and none overlaps another, that the groups stand in the order of the data's path, and that the labels
show the real topic and paths; the screenshots are saved (path printed) and must not be blank.

A test instance of the warehouse sync flow checks that an upgrade keeps a position the operator chose and
that a changed parameter reaches the label."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from iptv.nifi import deploy, layout
from iptv.nifi.flows import FLOWS, names, parameters_from_config

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
POLICY_DIR = Path("/etc/chromium/policies/managed")
WINDOW = (1600, 1000)


# ---------------------------------------------------------------------------------------------- NiFi (REST)
def _root_groups() -> list[dict[str, Any]]:
    import nipyapi

    out = []
    for g in nipyapi.nifi.ProcessGroupsApi().get_process_groups(nipyapi.canvas.get_root_pg_id()).process_groups:
        pos = (float(g.component.position.x), float(g.component.position.y))
        out.append({"id": g.id, "name": g.component.name, "position": pos, "comments": g.component.comments})
    return out


def _labels(pg_id: str) -> list[str]:
    import nipyapi

    return [lb.component.label for lb in nipyapi.nifi.ProcessGroupsApi().get_labels(pg_id).labels or []]


def _assert_rest_layout(groups: list[dict[str, Any]]) -> None:
    for a, b in itertools.combinations(groups, 2):
        assert not layout.boxes_overlap(a["position"], b["position"]), (
            f"{a['name']!r} at {a['position']} overlaps {b['name']!r} at {b['position']}"
        )


@pytest.fixture(scope="module")
def flows(nifi) -> dict[str, dict[str, Any]]:
    """The production flows, deployed as `make demo` does; start=False: a flow already running stays running, one
    this test creates stays stopped (it only has to be looked at)."""
    reports = {}
    for key in FLOWS:
        report = deploy.deploy(nifi, None, {}, start=False, flow=key)
        assert not report["problems"], report["problems"]
        reports[key] = report
    return reports


def test_rest_positions_follow_the_data_path_without_overlap(nifi, flows):
    groups = _root_groups()
    by_id = {g["id"]: g for g in groups}
    ours = [by_id[flows[key]["pg_id"]] for key in FLOWS]
    xs = [g["position"][0] for g in ours]
    assert xs == sorted(xs) and len(set(xs)) == len(xs), f"not left to right along the data's path: {ours}"
    _assert_rest_layout(groups)
    again = {key: deploy.deploy(nifi, None, {}, start=False, flow=key) for key in FLOWS}
    assert all(not r["actions"] for r in again.values()), {k: r["actions"] for k, r in again.items()}
    assert {g["id"]: g["position"] for g in _root_groups()} == {g["id"]: g["position"] for g in groups}


def test_labels_show_real_values(nifi, flows):
    ingestion = "\n".join(_labels(flows["ingestion"]["pg_id"]))
    assert nifi.kafka.topics["viewing_events"].name in ingestion
    for path in (nifi.hdfs.paths.viewing_events, nifi.hdfs.paths.sessions, nifi.hdfs.paths.quarantine):
        assert path in ingestion
    assert flows["ingestion"]["stamp"] in ingestion
    sync = "\n".join(_labels(flows["warehouse-sync"]["pg_id"]))
    sync_params = parameters_from_config(nifi, None, {}, FLOWS["warehouse-sync"])
    assert sync_params["iptv.config.file"] in sync and sync_params["warehouse.schema"] in sync
    assert "#{" not in ingestion + sync


def test_upgrade_keeps_the_operators_position_and_labels_follow_parameters(nifi, flows, monkeypatch):
    instance = f"canvas-{uuid.uuid4().hex[:6]}"
    try:
        first = deploy.deploy(nifi, instance, {}, start=False, flow="warehouse-sync")
        assert not first["problems"], first["problems"]
        placed = {g["id"]: g for g in _root_groups()}[first["pg_id"]]["position"]
        sync_column = 1
        assert layout._on_own_slot(layout.CanvasGroup(first["pg_id"], "x", placed, sync_column)), placed
        _assert_rest_layout(_root_groups())

        # the operator drags the group to a free spot to the right of everything
        right = max(g["position"][0] for g in _root_groups()) + layout.GROUP_PITCH[0] + 37.0
        chosen = (right, -311.0)
        deploy.move_group(first["pg_id"], chosen)

        original = deploy.version_stamp
        # a new version as the deploy would stamp it (the prefix keeps it readable by stamp_of)
        monkeypatch.setattr(deploy, "version_stamp", lambda spec=None: "next-" + original(spec))
        upgrade = deploy.deploy(
            nifi, instance, {"warehouse.schema": "canvas_schema"}, start=False, flow="warehouse-sync"
        )
        assert any(a.startswith("upgrade ") for a in upgrade["actions"]), upgrade["actions"]
        after = {g["id"]: g for g in _root_groups()}[first["pg_id"]]
        assert f"version {upgrade['stamp']} (" in after["comments"]  # the replace request really ran
        assert after["position"] == chosen  # ... and kept the operator's position
        assert "canvas_schema" in "\n".join(_labels(first["pg_id"]))

        # a parameter change without a new flow version reaches the label too (no replace request then)
        changed = deploy.deploy(
            nifi, instance, {"warehouse.schema": "canvas_schema_2"}, start=False, flow="warehouse-sync"
        )
        assert not any(a.startswith("upgrade ") for a in changed["actions"]), changed["actions"]
        assert any(a.startswith("update label text") for a in changed["actions"]), changed["actions"]
        assert "canvas_schema_2" in "\n".join(_labels(first["pg_id"]))
        assert {g["id"]: g for g in _root_groups()}[first["pg_id"]]["position"] == chosen
    finally:
        deploy.remove(nifi, instance, "warehouse-sync")
    assert all(g["name"] != names(instance, FLOWS["warehouse-sync"])[0] for g in _root_groups())


# ---------------------------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser(nifi, tmp_path_factory):
    """Headless Debian Chromium under Selenium (chromedriver of the same package), presenting the admin's client
    certificate without a dialog. The policy file is machine-wide: removed again at the end, as is every process."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for tool in (CHROMIUM, CHROMEDRIVER, Path("/usr/bin/pk12util"), Path("/usr/bin/certutil")):
        assert tool.exists(), (
            f"{tool} missing: run scripts/bootstrap_system.sh (Debian chromium, chromium-driver, libnss3-tools)"
        )
    secrets = REPO / ".stack" / "secrets"
    password = json.loads((secrets / "nifi-credentials.json").read_text())["p12_password"]
    home = tmp_path_factory.mktemp("chromium-home")  # a throwaway HOME: Chromium reads $HOME/.pki/nssdb
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["pk12util", "-i", str(secrets / "nifi-admin.p12"), "-d", db, "-W", password], check=True, capture_output=True
    )
    subprocess.run(
        ["certutil", "-A", "-n", "iptv-nifi-ca", "-t", "C,,", "-i", str(secrets / "nifi-ca.pem"), "-d", db],
        check=True,
        capture_output=True,
    )
    url = urlsplit(nifi.nifi.url)
    origin = f"{url.scheme}://{url.netloc}"
    created = [d for d in (POLICY_DIR, *POLICY_DIR.parents) if not d.exists()]  # removed again if still empty
    POLICY_DIR.mkdir(parents=True, exist_ok=True)
    policy = POLICY_DIR / f"iptv-test-nifi-canvas-{os.getpid()}.json"
    policy.write_text(json.dumps({"AutoSelectCertificateForUrls": [json.dumps({"pattern": origin, "filter": {}})]}))
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)  # with both paths given Selenium Manager downloads nothing
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={home / 'profile'}",
        "--no-first-run",
        # the machine's network is closed: without these Chromium keeps trying Google's hosts
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ):
        opts.add_argument(arg)
    service = Service(executable_path=str(CHROMEDRIVER), env={**os.environ, "HOME": str(home)})
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=opts)
        driver.set_page_load_timeout(60)
        yield {"driver": driver, "origin": origin, "shots": tmp_path_factory.mktemp("nifi-canvas-screenshots")}
    finally:
        if driver is not None:
            driver.quit()
        proc = getattr(service, "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        policy.unlink(missing_ok=True)
        for d in created:  # deepest first
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()


_BOXES_JS = """
const out = [];
for (const g of document.querySelectorAll(arguments[0])) {
  const r = g.getBoundingClientRect();
  const name = g.querySelector(arguments[1]);
  const cx = r.x + r.width / 2, cy = r.y + r.height / 2;
  const top = document.elementFromPoint(cx, cy);
  out.push({id: g.id.replace(/^id-/, ''), x: r.x, y: r.y, w: r.width, h: r.height,
            name: name ? name.firstChild.textContent : null, on_top: !!top && g.contains(top)});
}
return out;
"""


def _wait_boxes(driver, selector: str, name_selector: str, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    """The rendered components once ``count`` of them are drawn and the view has stopped moving (NiFi animates
    the initial zoom to fit)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        boxes = driver.execute_script(_BOXES_JS, selector, name_selector)
        if len(boxes) >= count and boxes == last:
            return boxes
        last = boxes
        time.sleep(1.5)
    raise AssertionError(f"{selector}: {len(last or [])} rendered of {count} after {timeout:.0f} s: {last}")


def _screenshot(driver, path: Path) -> Path:
    from PIL import Image

    driver.save_screenshot(str(path))
    with Image.open(path) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
    # a blank or error page has a handful of colours; the canvas (grid, boxes, text, icons) has hundreds
    assert colours is None or len(colours) > 100, f"{path}: only {len(colours)} colours, blank?"
    return path


def _intersect(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
    )


def test_root_canvas_shows_every_group_apart(nifi, flows, browser):
    driver = browser["driver"]
    driver.get(f"{browser['origin']}/nifi/")
    groups = _root_groups()
    boxes = _wait_boxes(driver, "g.process-group", "text.process-group-name", len(groups))
    shot = _screenshot(driver, browser["shots"] / "root.png")
    print(f"\nscreenshot of the root canvas: {shot}")
    assert "iptv-admin" in driver.find_element("tag name", "body").text  # logged in by the client certificate
    by_id = {b["id"]: b for b in boxes}
    assert set(by_id) == {g["id"] for g in groups}
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    for g in groups:
        b = by_id[g["id"]]
        assert b["name"] == g["name"], b
        assert 0 <= b["x"] and b["x"] + b["w"] <= width and 0 <= b["y"] and b["y"] + b["h"] <= height, (
            f"{g['name']!r} is drawn outside the window: {b}"
        )
        assert b["on_top"], f"{g['name']!r}: something else is drawn over its centre"
    for a, b in itertools.combinations(boxes, 2):
        assert not _intersect(a, b), f"{a['name']!r} and {b['name']!r} overlap on the page: {a} {b}"
    xs = [by_id[flows[key]["pg_id"]]["x"] for key in FLOWS]
    assert xs == sorted(xs), "the flows are not drawn left to right in the order of the data's path"


@pytest.mark.parametrize("flow", list(FLOWS))
def test_each_group_opens_with_its_components_and_readable_labels(nifi, flows, browser, flow):
    import nipyapi

    driver = browser["driver"]
    pg_id = flows[flow]["pg_id"]
    driver.get(f"{browser['origin']}/nifi/#/process-groups/{pg_id}")
    expected = {p.component.name for p in nipyapi.canvas.list_all_processors(pg_id)}
    procs = _wait_boxes(driver, "g.processor", "text.processor-name", len(expected))
    shot = _screenshot(driver, browser["shots"] / f"{flow}.png")
    print(f"\nscreenshot of {flow}: {shot}")
    assert {p["name"] for p in procs} == expected
    # the labels as drawn: NiFi wraps each line into tspans (and draws a line it cannot handle as an empty one,
    # as it did with indented lines): every word of every line of the REST text must be on the page, in order
    drawn = driver.execute_script(
        "return Array.from(document.querySelectorAll('g.label tspan')).map(t => t.textContent)"
    )
    text = " ".join(" ".join(drawn).split())
    for line in "\n".join(_labels(pg_id)).splitlines():
        assert " ".join(line.split()) in text, f"label line not drawn: {line!r}"
    assert "#{" not in text
    if flow == "ingestion":
        assert nifi.kafka.topics["viewing_events"].name in text
        assert nifi.hdfs.paths.sessions in text
