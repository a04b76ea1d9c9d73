"""Writing the dated sections of ``PairViewingEvents`` to HDFS over WebHDFS (pure logic + requests).

Section format (written by iptv_sessions/flowfile_formats.py): a marker line ``#@ <kind> dt=<YYYY-MM-DD> n=<lines>``
followed by that many CSV lines. The kind is a dataset's name (schemas/datasets.json); content with a kind that
has no configured directory is unreadable (written as quarantine records). Each section goes to
``<base of kind>/dt=<date>/part-<flowfile uuid>.csv``: written to a hidden ``.part-<uuid>.csv.tmp`` (ignored by
Hive/Spark) and renamed, replacing a file left by an earlier attempt. The name depends only on the FlowFile, so a
retry or a replay overwrites, never duplicates.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

SECTION_MARKER = "#@ "
_MARKER_BYTES = SECTION_MARKER.encode("ascii")
GZIP_MAGIC = b"\x1f\x8b"
#: The kind of the records written for content that is not valid sections.
QUARANTINE = "quarantine"
#: Section kinds of older PairViewingEvents versions -> the dataset they are: their FlowFiles may still be queued,
#: or replayed from the pairer's journal, after an upgrade, and must land where the new ones do.
KIND_ALIASES = {"raw": "viewing_events"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_DT = re.compile(r"\d{4}-\d{2}-\d{2}")
_KIND = re.compile(r"[a-z][a-z0-9_]*")
#: Quarantine reason of content that is not valid sections (columns as in iptv_sessions/flowfile_formats.py).
UNREADABLE_OUTPUT = "unreadable_output"


@dataclass
class Section:
    kind: str
    dt: str
    data: bytes
    lines: int


def parse_sections(content: bytes, kinds: Iterable[str] | None = None) -> list[Section]:
    """Split the content (plain or gzip) into sections; checks each marker's line count and kind (one of
    ``kinds``; without them, any dataset-like name), a ValueError otherwise. Works on whole blocks
    (one ``find`` per section, not a Python step per line): only ``\\n`` ends a line, so a quarantined message
    holding other Unicode line separators stays one record."""
    if content[:2] == GZIP_MAGIC:  # the pairer gzips its output (iptv_sessions/ingestion.py)
        content = gzip.decompress(content)
    known = None if kinds is None else frozenset(kinds)
    sections: list[Section] = []
    if not content:
        return sections
    if not content.startswith(_MARKER_BYTES):
        raise ValueError("content does not start with a section marker")
    pos, size = 0, len(content)
    while pos < size:
        eol = content.find(b"\n", pos)
        if eol < 0:
            eol = size
        line = content[pos:eol].decode("utf-8", errors="replace")
        words = line[len(SECTION_MARKER) :].split()
        try:
            fields = dict(w.split("=", 1) for w in words[1:])
            kind, dt, n = words[0], fields.get("dt", ""), int(fields["n"])
            kind = KIND_ALIASES.get(kind, kind)
        except (IndexError, KeyError, ValueError):
            raise ValueError(f"bad section marker {line.strip()!r}") from None
        if not (_KIND.fullmatch(kind) if known is None else kind in known) or not _DT.fullmatch(dt):
            raise ValueError(f"bad section marker {line.strip()!r}")
        nxt = content.find(b"\n" + _MARKER_BYTES, eol)
        end = size if nxt < 0 else nxt + 1
        data = content[eol + 1 : end]
        lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        if lines != n:
            raise ValueError(f"section {kind} dt={dt}: {lines} lines, marker says {n}")
        sections.append(Section(kind, dt, data, lines))
        pos = end
    return sections


def target_path(base: str, dt: str, name: str) -> tuple[str, str]:
    """(final path, temporary path) of a section file."""
    safe = _SAFE_NAME.sub("_", name)
    directory = f"{base.rstrip('/')}/dt={dt}"
    return f"{directory}/part-{safe}.csv", f"{directory}/.part-{safe}.csv.tmp"


class WebHdfs:
    """Minimal WebHDFS client (simple auth): create (two-step), mkdirs, atomic replacing rename. The processors' own
    copy of what iptv.hdfs_client does for the same job (they cannot import the iptv package); both pass the same
    contract tests (tests/integration/test_hdfs.py)."""

    def __init__(self, url: str, user: str, timeout: float = 30.0, session=None) -> None:
        import requests

        self.base = url.rstrip("/") + "/webhdfs/v1"
        self.user = user
        self.timeout = timeout
        self.http = session or requests.Session()

    def _url(self, path: str, op: str, **params: str) -> str:
        q = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        return f"{self.base}{quote(path)}?op={op}&user.name={quote(self.user)}" + (f"&{q}" if q else "")

    def _check(self, resp, what: str) -> dict:
        if resp.status_code >= 300:
            raise OSError(f"WebHDFS {what}: HTTP {resp.status_code} {resp.text[:300]}")
        try:
            return resp.json() if resp.content else {}
        except ValueError:
            return {}

    def create(self, path: str, data: bytes, overwrite: bool = True) -> None:
        url = self._url(path, "CREATE", overwrite="true" if overwrite else "false")
        r = self.http.put(url, allow_redirects=False, timeout=self.timeout)
        if r.status_code in (301, 302, 307):
            r = self.http.put(
                r.headers["Location"],
                data=data,
                headers={"Content-Type": "application/octet-stream"},
                timeout=self.timeout,
            )
        self._check(r, f"CREATE {path}")

    def mkdirs(self, path: str) -> None:
        self._check(self.http.put(self._url(path, "MKDIRS"), timeout=self.timeout), f"MKDIRS {path}")

    def replace(self, src: str, dst: str) -> None:
        """Atomic rename that replaces an existing ``dst`` (WebHDFS RENAME with ``renameoptions=OVERWRITE``, i.e.
        the NameNode's rename2): readers see the old file or the new one, never none. Raises OSError on failure."""
        r = self.http.put(self._url(src, "RENAME", destination=dst, renameoptions="OVERWRITE"), timeout=self.timeout)
        self._check(r, f"RENAME {src} (overwrite)")

    def put_file(self, final: str, tmp: str, data: bytes) -> None:
        """Write ``data`` to ``final`` via ``tmp`` + an atomic replacing rename (a replay rewrites a file in place)."""
        self.create(tmp, data, overwrite=True)
        self.replace(tmp, final)


def unreadable_section(content: bytes, error: str, now: float) -> Section:
    """Content that is not valid sections, kept as quarantine records (one per line, reason ``unreadable_output``,
    dated by ``now``) instead of being retried for ever: retrying cannot change it."""
    try:
        if content[:2] == GZIP_MAGIC:
            content = gzip.decompress(content)
    except (OSError, EOFError, zlib.error):
        pass  # corrupt gzip: the bytes as they are
    arrival = time.gmtime(now)
    arrival_ts = time.strftime("%Y-%m-%dT%H:%M:%S", arrival) + f".{int(now * 1000) % 1000:03d}Z"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    detail = error.replace("\r", "\\r").replace("\n", "\\n")[:300]
    lines = [line for line in content.decode("utf-8", errors="replace").split("\n") if line]
    for line in lines:
        writer.writerow([UNREADABLE_OUTPUT, "", arrival_ts, detail, line.replace("\r", "\\r")])
    return Section(QUARANTINE, time.strftime("%Y-%m-%d", arrival), buf.getvalue().encode("utf-8"), len(lines))


def write_sections(
    fs: WebHdfs, bases: dict[str, str], name: str, content: bytes, now: float | None = None
) -> dict[str, int]:
    """Write every section of ``content``, each to the base directory of its kind in ``bases`` (which names
    every kind written, quarantine included); returns lines written per kind. Content that does not parse as
    sections of those kinds is written as quarantine records (:func:`unreadable_section`); HDFS errors raise."""
    counts = {k: 0 for k in bases}
    try:
        sections = parse_sections(content, bases)
    except (ValueError, OSError, EOFError, zlib.error) as exc:  # the content, not HDFS: no retry can mend it
        sections = [unreadable_section(content, f"{type(exc).__name__}: {exc}", time.time() if now is None else now)]
    for sec in sections:
        final, tmp = target_path(bases[sec.kind], sec.dt, name)
        fs.put_file(final, tmp, sec.data)
        counts[sec.kind] += sec.lines
    return counts
