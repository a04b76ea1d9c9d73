"""Batching and offset bookkeeping of ``ConsumeViewingEvents`` (pure logic, no NiFi or Kafka imports).

A batch is cut when it reaches ``max_count`` messages or ``max_bytes`` of content, or when ``max_wait_s`` has
passed since the poll started. Its offsets become *pending*; they are committed to Kafka only on a later trigger,
i.e. after NiFi has committed the session that created the batch's FlowFile (the Java side commits after
``create()`` returns), or when the processor is stopped.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field


def escape_message(text: str) -> str:
    """One Kafka message as one line field: backslash, LF and CR escaped (inverse in iptv_sessions.flowfile_formats)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _escape_field(value: bytes) -> bytes:
    """Bytes of one line field with backslash, LF and CR escaped. Bytewise, so bytes that are not UTF-8 stay as
    they are (the reader decodes them with ``surrogateescape`` and the quarantine keeps them exactly)."""
    if b"\\" in value or b"\n" in value or b"\r" in value:
        value = value.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return value


def format_line(partition: int, offset: int, value: bytes | None) -> bytes:
    """A batch line of the first format, ``<partition>\\t<offset>\\t<message>`` (no key, no timestamp): still read
    (a FlowFile queued before an upgrade), no longer written by the consumer (see :func:`format_record_line`)."""
    return b"%d\t%d\t%s\n" % (partition, offset, _escape_field(value or b""))


def format_record_line(partition: int, offset: int, timestamp_ms: int, key: bytes | None, value: bytes | None) -> bytes:
    """One batch line as bytes: ``<partition>\\t<offset>@<timestamp_ms>\\t<key>\\t<message>``. ``timestamp_ms``
    is the record's Kafka timestamp (-1 when the broker has none); ``key`` is ``-`` for a null key, else ``=`` and
    the key, escaped like the message and with TAB as ``\\t``. The ``@`` in the offset field tells this format
    from the first one, whose offset field is a bare integer (iptv_sessions.flowfile_formats.read_batch)."""
    if key is None:
        key_field = b"-"
    else:
        key_field = b"=" + _escape_field(key).replace(b"\t", b"\\t")
    return b"%d\t%d@%d\t%s\t%s\n" % (partition, offset, timestamp_ms, key_field, _escape_field(value or b""))


@dataclass
class Batch:
    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    #: partition -> [first offset, last offset] of this batch
    ranges: dict[int, list[int]] = field(default_factory=dict)

    def add(
        self, partition: int, offset: int, value: bytes | None, key: bytes | None = None, timestamp_ms: int = -1
    ) -> None:
        line = format_record_line(partition, offset, timestamp_ms, key, value)
        self.lines.append(line)
        self.size += len(line)
        r = self.ranges.get(partition)
        if r is None:
            self.ranges[partition] = [offset, offset]
        elif offset > r[1]:  # the usual case: offsets grow within a partition
            r[1] = offset
        elif offset < r[0]:
            r[0] = offset

    def __len__(self) -> int:
        return len(self.lines)

    def full(self, max_count: int, max_bytes: int) -> bool:
        return len(self.lines) >= max_count or self.size >= max_bytes

    def content(self, compress: bool = True) -> bytes:
        """The batch's lines, gzip-compressed by default (level 1, fixed mtime: deterministic). A FlowFile's
        content crosses NiFi's Java/Python bridge at only ~10 MB/s (Py4J), so carrying a fifth of the bytes
        saves far more than compressing costs. Readers detect gzip by its magic bytes."""
        data = b"".join(self.lines)
        return gzip.compress(data, compresslevel=1, mtime=0) if compress else data

    def describe(self) -> str:
        """``p:first-last,...`` for the FlowFile attribute iptv.kafka.offsets."""
        return ",".join(f"{p}:{lo}-{hi}" for p, (lo, hi) in sorted(self.ranges.items()))


class PendingCommits:
    """Next offsets to commit per partition (last emitted offset + 1), merged across batches."""

    def __init__(self) -> None:
        self.next_offsets: dict[int, int] = {}

    def add_batch(self, batch: Batch) -> None:
        for p, (_lo, hi) in batch.ranges.items():
            self.next_offsets[p] = max(self.next_offsets.get(p, 0), hi + 1)

    def take(self) -> dict[int, int]:
        out, self.next_offsets = self.next_offsets, {}
        return out

    def restore(self, offsets: dict[int, int]) -> None:
        """Put back offsets whose commit failed (newer ones win)."""
        for p, o in offsets.items():
            self.next_offsets[p] = max(self.next_offsets.get(p, 0), o)

    def __bool__(self) -> bool:
        return bool(self.next_offsets)


def security_settings(
    protocol: str, mechanism: str | None, username: str | None, password: str | None, ca_file: str | None
) -> dict[str, str]:
    """librdkafka security settings from the processor's properties (the same keys the pipeline's own clients get
    from iptv.kafka_security.client_settings). Raises ValueError when SASL lacks its username or password."""
    out = {"security.protocol": protocol.lower()}
    if protocol in ("SSL", "SASL_SSL") and ca_file:
        out["ssl.ca.location"] = ca_file
    if protocol.startswith("SASL_"):
        if not username or not password:
            raise ValueError(f"{protocol} needs the SASL Username and SASL Password properties")
        out.update(
            {"sasl.mechanism": mechanism or "SCRAM-SHA-512", "sasl.username": username, "sasl.password": password}
        )
    return out
