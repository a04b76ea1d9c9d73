"""The processors' sibling modules load the way NiFi's Python framework loads them: each file as a top-level
module (not as a package), in an order NiFi finds by retrying a module whose import failed, and with a failed
module left half-run in sys.modules until its retry replaces it (ExtensionManager.__load_extension_module).
A module that kept a reference to such a half-run sibling failed on the real NiFi ('module fast_path has no
attribute ...'); this replays that loader, in every order that puts a dependency late, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROCESSORS = Path(__file__).resolve().parents[2] / "nifi" / "python-processors"

NIFI_LIKE_LOADER = textwrap.dedent(
    """
    import importlib.util, sys
    from pathlib import Path

    package = Path(sys.argv[1])
    order = sys.argv[2].split(",")
    attempts = {name: 0 for name in order}
    to_load = list(order)
    while to_load:  # as NiFi does: pop from the end, a failure goes to the front, 10 tries at most
        name = to_load.pop()
        spec = importlib.util.spec_from_file_location(name, package / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec, and not removed when exec fails
        try:
            spec.loader.exec_module(module)
        except Exception:
            attempts[name] += 1
            if attempts[name] > 10:
                raise
            to_load.insert(0, name)

    import schema_validation, session_pairer, ingestion

    validator = schema_validation.default_schema_validator()
    assert validator is not None and validator.canonical_fast_path
    pairer = session_pairer.SessionPairer(session_pairer.PairerConfig(), validator)
    event = '{"session_id": "%s", "user_id": 1, "channel_id": 2, "timer": "2025-03-05 10:00:00", "status": "%s"}'
    result = pairer.process_batch([event % ("a" * 32, "enabled"), event % ("a" * 32, "disabled"), "[[["], 2e9)
    assert len(result.sessions) == 1 and [q["reason"] for q in result.quarantine] == ["invalid_json"]
    state = ingestion.IngestState(pairer)
    assert state.process("ff-1", b"", now=2e9, tick=True).content == b""
    print("ok")
    """
)


def _sibling_modules() -> list[str]:
    package = PROCESSORS / "iptv_sessions"
    return sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__" and not p.stem[0].isupper())


@pytest.mark.parametrize("late", _sibling_modules())
def test_siblings_load_in_any_order_as_nifi_loads_them(late):
    """``late`` is loaded first (so its imports of siblings fail and it is retried), the others after it."""
    names = _sibling_modules()
    order = [n for n in names if n != late] + [late]  # NiFi pops from the end: ``late`` goes first
    result = subprocess.run(
        [sys.executable, "-c", NIFI_LIKE_LOADER, str(PROCESSORS / "iptv_sessions"), ",".join(order)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},  # no PYTHONPATH: the package import must not be what makes it work
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
