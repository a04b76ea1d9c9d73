"""The content of the FlowFiles PairViewingEvents reads and writes (stdlib only, no NiFi imports).

Input (one FlowFile = one consumer batch of ``ConsumeViewingEvents``): one line per Kafka message,
``<partition>\\t<offset>\\t<message>``, the message with ``\\`` ``\\n`` ``\\r`` escaped as ``\\\\`` ``\\n`` ``\\r``
(see :func:`escape_message`), plain or gzip. A tick is a FlowFile without lines.

Output (one FlowFile): sections, each introduced by a marker line ``#@ <kind> dt=<YYYY-MM-DD> n=<lines>`` and
followed by headerless CSV lines of that kind and date (parsed by iptv_ingest/hdfs_sections.py):

* ``viewing_events``: the distinct valid events (dt = date of ``timer``);
* ``sessions``: the sessions formed (dt = date of ``time_start``);
* ``quarantine``: RFC 4180 quoted records (dt = date of ``arrival_ts``); a pair rejected as a whole
  (conflicting_pair, end_before_start) gives one line per message; line breaks inside a raw message are written
  as ``\\n`` / ``\\r`` so that every record is one physical line;
* ``ingest_batches``: the batch's accounting, one line per Kafka partition (dt = date of ``arrival_ts``): its
  offsets processed for the first time and what became of those messages (ingestion.py).

A section's kind is the name of its dataset, and its lines have that dataset's columns: both from the dataset
definition schemas/datasets.json (lake_datasets.py), checked at import (batch_result.py for the fixed
f-strings of events and sessions).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from typing import Any

try:  # package import (tests)
    from iptv_sessions.batch_result import EVENT_COLUMNS, SESSION_COLUMNS
    from iptv_sessions.lake_datasets import column_names
except ImportError:  # NiFi loads sibling modules as top-level modules. Names, not modules, are imported: NiFi
    # retries a sibling whose first load failed but leaves that half-run module in sys.modules, and a name missing
    # from it makes NiFi retry this module too, instead of keeping a reference to the half-run one.
    from batch_result import EVENT_COLUMNS, SESSION_COLUMNS
    from lake_datasets import column_names

SECTION_MARKER = "#@ "
GZIP_MAGIC = b"\x1f\x8b"
#: The section kinds, in output order: the datasets written (a KeyError at import if one is not defined).
EVENTS, SESSIONS, QUARANTINE, ACCOUNTING = KINDS = ("viewing_events", "sessions", "quarantine", "ingest_batches")
QUARANTINE_COLUMNS = column_names(QUARANTINE)
#: The accounting rows (ingestion.IngestState) are tuples in the definition's column order.
ACCOUNTING_COLUMNS = column_names(ACCOUNTING)
#: The columns of each section kind. Events and sessions are written by fixed f-strings over the tuples of
#: batch_result, which checks at import that those tuples hold the definition's columns in its order.
COLUMNS = {
    EVENTS: EVENT_COLUMNS,
    SESSIONS: SESSION_COLUMNS,
    QUARANTINE: QUARANTINE_COLUMNS,
    ACCOUNTING: ACCOUNTING_COLUMNS,
}

# ------------------------------------------------------------------------------------------------ input


def escape_message(text: str) -> str:
    """One Kafka message as one line field: backslash, LF and CR escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def unescape_message(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            out.append({"n": "\n", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def format_batch_line(partition: int, offset: int, message: str) -> str:
    return f"{partition}\t{offset}\t{escape_message(message)}\n"


def read_batch(content: bytes | str) -> tuple[list[tuple[int, int, str]], list[str]]:
    """Lines of a consumer batch (plain or gzip) -> ``([(partition, offset, message)], [malformed lines])``.
    Blank lines are ignored; a line that is not ``<partition>\\t<offset>\\t<message>`` is returned as it is,
    to be quarantined rather than fail the batch."""
    if isinstance(content, bytes) and content[:2] == GZIP_MAGIC:
        content = gzip.decompress(content)
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    out: list[tuple[int, int, str]] = []
    malformed: list[str] = []
    append = out.append
    for line in text.split("\n"):
        if not line:
            continue
        try:
            p, o, msg = line.split("\t", 2)
            append((int(p), int(o), unescape_message(msg) if "\\" in msg else msg))
        except ValueError:
            malformed.append(line)
    return out, malformed


def parse_batch(content: bytes | str) -> list[tuple[int, int, str]]:
    """Lines of a consumer batch -> [(partition, offset, message)]; ValueError naming the first malformed line."""
    items, malformed = read_batch(content)
    if malformed:
        raise ValueError(f"malformed batch line: {malformed[0][:200]!r}")
    return items


# ------------------------------------------------------------------------------------------------ output


def _csv_line(row: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(row)
    return buf.getvalue()


def _one_line(text: str) -> str:
    """One physical line of valid UTF-8: line breaks written as ``\\n`` / ``\\r``, and characters UTF-8 cannot
    encode (lone surrogates, which a JSON escape such as ``\\ud800`` decodes to) as backslash escapes."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


def quarantine_lines(q: dict) -> list[str]:
    """CSV lines (QUARANTINE_COLUMNS) of one quarantine record (batch_result.quarantine): one per message."""
    raws = q["raw"].split("\n") if q["reason"] in ("conflicting_pair", "end_before_start") else [q["raw"]]
    record = {
        "reason": q["reason"],
        "session_id": _one_line(q.get("session_id") or ""),
        "arrival_ts": q["arrival_ts"],
        "detail": _one_line(q["detail"] or ""),
    }
    return [_csv_line([{**record, "raw": _one_line(raw)}[c] for c in QUARANTINE_COLUMNS]) for raw in raws]


def render_output(
    events: list[tuple], sessions: list, quarantine: list[dict], accounting: list[tuple] = ()
) -> tuple[bytes, dict[str, int]]:
    """Sections (see module doc) in deterministic order: kind, then date, records in arrival order.
    ``events``: ``(session_id, user_id, channel_id, timer, status)`` tuples; ``sessions``: batch_result.Session;
    ``accounting``: tuples of ACCOUNTING_COLUMNS (None written as an empty field), dated by their arrival_ts."""
    groups: dict[tuple[str, str], list[str]] = {}
    for sid, user_id, channel_id, timer, status in events:
        line = f"{sid},{user_id},{channel_id},{timer},{status}\n"
        key = (EVENTS, timer[:10])
        lines = groups.get(key)
        if lines is None:
            lines = groups[key] = []
        lines.append(line)
    for s in sessions:
        key = (SESSIONS, s[3][:10])
        lines = groups.get(key)
        if lines is None:
            lines = groups[key] = []
        lines.append(f"{s[0]},{s[1]},{s[2]},{s[3]},{s[4]},{s[5]}\n")
    for q in quarantine:
        groups.setdefault((QUARANTINE, q["arrival_ts"][:10]), []).extend(quarantine_lines(q))
    arrival_at = ACCOUNTING_COLUMNS.index("arrival_ts")
    for row in accounting:
        line = ",".join("" if v is None else str(v) for v in row) + "\n"
        groups.setdefault((ACCOUNTING, row[arrival_at][:10]), []).append(line)
    parts: list[str] = []
    counts = {k: 0 for k in KINDS}
    for kind in KINDS:
        for (k, dt), lines in sorted(groups.items()):
            if k != kind:
                continue
            parts.append(f"{SECTION_MARKER}{kind} dt={dt} n={len(lines)}\n")
            parts.extend(lines)
            counts[kind] += len(lines)
    return "".join(parts).encode("utf-8"), counts
