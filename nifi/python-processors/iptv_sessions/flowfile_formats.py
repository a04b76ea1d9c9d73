"""The content of the FlowFiles PairViewingEvents reads and writes (stdlib only, no NiFi imports).

Input (one FlowFile = one consumer batch of ``ConsumeViewingEvents``): one line per Kafka message,
``<partition>\\t<offset>@<timestamp_ms>\\t<key>\\t<message>`` (iptv_ingest/kafka_batches.format_record_line:
the record's Kafka timestamp, ``-`` for a null key or ``=`` and the key), or the first format
``<partition>\\t<offset>\\t<message>`` (no key, no timestamp; still read, so that a FlowFile queued before an
upgrade lands). The message (and key) with ``\\`` ``\\n`` ``\\r`` escaped as ``\\\\`` ``\\n`` ``\\r`` (a key's TAB
as ``\\t``), other bytes as they came from Kafka, UTF-8 or not (decoded with ``surrogateescape``, so that the
quarantine can keep them exactly). Plain or gzip. A tick is a FlowFile without lines.

Output (one FlowFile): sections, each introduced by a marker line ``#@ <kind> dt=<YYYY-MM-DD> n=<lines>`` and
followed by headerless CSV lines of that kind and date (parsed by iptv_ingest/hdfs_sections.py):

* ``viewing_events``: the distinct valid events (dt = date of ``timer``);
* ``sessions``: the sessions formed (dt = date of ``time_start``);
* ``quarantine``: RFC 4180 quoted records (dt = date of ``arrival_ts``); a pair rejected as a whole
  (conflicting_pair, end_before_start) gives one line per message. ``raw`` is the message's bytes exactly: as
  text when they are UTF-8 without a line break (and do not start with ``base64:``), else ``base64:`` and their
  base64 (:func:`raw_column`, inverse :func:`raw_bytes`), so that every record is one physical line of valid
  UTF-8 and nothing of the message is lost. A raw message is kept whole, whatever its size.
* ``ingest_batches``: the batch's accounting, one line per Kafka partition (dt = date of ``arrival_ts``): its
  offsets processed for the first time and what became of those messages (ingestion.py).

A section's kind is the name of its dataset, and its lines have that dataset's columns: both from the dataset
definition schemas/datasets.json (lake_datasets.py), checked at import (batch_result.py for the fixed
f-strings of events and sessions).
"""

from __future__ import annotations

import base64
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


_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def unescape_message(text: str) -> str:
    """Inverse of :func:`escape_message` (and of the key escape, which adds ``\\t``)."""
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            out.append(_UNESCAPES.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def format_batch_line(partition: int, offset: int, message: str) -> str:
    return f"{partition}\t{offset}\t{escape_message(message)}\n"


#: The envelope of a line of the first format, which carries no key and no timestamp (no check applies to them).
NO_ENVELOPE = None


def batch_text(content: bytes | str) -> str:
    """The text of a consumer batch (plain or gzip); bytes that are not UTF-8 decoded with ``surrogateescape``."""
    if isinstance(content, bytes) and content[:2] == GZIP_MAGIC:
        content = gzip.decompress(content)
    return content.decode("utf-8", errors="surrogateescape") if isinstance(content, bytes) else content


def read_batch(content: bytes | str) -> tuple[list[tuple[int, int, str, tuple[str | None, int] | None]], list[str]]:
    """Lines of a consumer batch (plain or gzip) -> ``([(partition, offset, message, envelope)], [malformed
    lines])``. ``envelope`` is ``(key, timestamp_ms)`` of a line of the current format (``key`` None for a null
    Kafka key, ``timestamp_ms`` -1 when the broker gave none), None for a line of the first format. Blank lines are
    ignored; a line of neither format is returned as it is, to be quarantined rather than fail the batch."""
    text = batch_text(content)
    out: list[tuple[int, int, str, tuple[str | None, int] | None]] = []
    malformed: list[str] = []
    append = out.append
    for line in text.split("\n"):
        if not line:
            continue
        try:
            p, o, rest = line.split("\t", 2)
            if "@" in o:
                o, ts = o.split("@")
                key_field, msg = rest.split("\t", 1)
                if key_field == "-":
                    key = None
                elif key_field[:1] == "=":
                    key = unescape_message(key_field[1:])
                else:
                    raise ValueError(f"key field {key_field[:20]!r}")
                envelope: tuple[str | None, int] | None = (key, int(ts))
            else:
                msg, envelope = rest, NO_ENVELOPE
            append((int(p), int(o), unescape_message(msg) if "\\" in msg else msg, envelope))
        except ValueError:
            malformed.append(line)
    return out, malformed


def parse_batch(content: bytes | str) -> list[tuple[int, int, str, tuple[str | None, int] | None]]:
    """Lines of a consumer batch -> [(partition, offset, message, envelope)] (see :func:`read_batch`); ValueError
    naming the first malformed line."""
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


RAW_BASE64_PREFIX = "base64:"


def raw_column(raw: str) -> str:
    """The ``raw`` column of a quarantine record: the message as it is when it is UTF-8 without a line break and
    does not start with ``base64:``, else ``base64:`` + the base64 of its bytes (a message of bytes that are not
    UTF-8 reaches here decoded with ``surrogateescape``)."""
    if "\n" not in raw and "\r" not in raw and not raw.startswith(RAW_BASE64_PREFIX):
        try:
            raw.encode("utf-8")
            return raw
        except UnicodeEncodeError:
            pass
    try:
        data = raw.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no undecodable byte stands for (a caller's str)
        data = raw.encode("utf-8", errors="surrogatepass")
    return RAW_BASE64_PREFIX + base64.b64encode(data).decode("ascii")


def raw_bytes(column: str) -> bytes:
    """The message bytes a quarantine record's ``raw`` column stands for (inverse of :func:`raw_column`)."""
    if column.startswith(RAW_BASE64_PREFIX):
        return base64.b64decode(column[len(RAW_BASE64_PREFIX) :], validate=True)
    return column.encode("utf-8")


def quarantine_lines(q: dict) -> list[str]:
    """CSV lines (QUARANTINE_COLUMNS) of one quarantine record (batch_result.quarantine): one per message."""
    raws = q["raw"].split("\n") if q["reason"] in ("conflicting_pair", "end_before_start") else [q["raw"]]
    record = {
        "reason": q["reason"],
        "session_id": _one_line(q.get("session_id") or ""),
        "arrival_ts": q["arrival_ts"],
        "detail": _one_line(q["detail"] or ""),
    }
    return [_csv_line([{**record, "raw": raw_column(raw)}[c] for c in QUARANTINE_COLUMNS]) for raw in raws]


def render_output(
    events: list[tuple],
    sessions: list,
    quarantine: list[dict],
    accounting: list[tuple] = (),
    lines_by_section: dict[tuple[str, str], list[str]] | None = None,
) -> tuple[bytes, dict[str, int]]:
    """Sections (see module doc) in deterministic order: kind, then date, records in arrival order.
    ``events``: ``(session_id, user_id, channel_id, timer, status)`` tuples; ``sessions``: batch_result.Session;
    ``accounting``: tuples of ACCOUNTING_COLUMNS (None written as an empty field), dated by their arrival_ts.
    ``lines_by_section``: lines already written, by ``(kind, dt)``, that come before the records given (taken
    over, not copied)."""
    groups: dict[tuple[str, str], list[str]] = lines_by_section if lines_by_section is not None else {}
    # These lines are also written in batch_fast_path.pair_batch; tests/unit/test_batch_fast_path.py checks they agree.
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
