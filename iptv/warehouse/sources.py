"""The loader's input files: where they are (HDFS or a local mirror of its layout), how they are read, and how
their text is split into CSV records.

:class:`LakeFiles` takes the layout from config ``hdfs.paths`` once (each dataset's directory as
:mod:`iptv.datasets` defines it), with one WebHDFS client (:mod:`iptv.hdfs_client`) or a local directory
holding the same layout (``<local_root>/data/iptv/sessions/dt=YYYY-MM-DD/*.csv``, the guide's
``<local_root>/data/iptv/catalogs/epg/dt=YYYY-MM-DD/*.csv``); each :class:`Source` it
lists carries what it needs to be read, so the loads need no configuration.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import posixpath
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from iptv.config import Config
from iptv.datasets import PROGRAMMES, QUARANTINE, SESSIONS, Dataset, dataset
from iptv.warehouse.ledger import FileVersion


class LoadError(RuntimeError):
    """A load could not be done (missing source, bad date); one line, for the CLI."""


def as_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LoadError(f"bad date {value!r}: use YYYY-MM-DD") from None


def visible(name: str) -> bool:
    """Like Hive: files starting with '_' or '.' (e.g. _SUCCESS, .crc, in-progress files) are not data."""
    return not name.startswith(("_", "."))


@dataclass(frozen=True)
class Source:
    """One input file: an HDFS path read through ``client`` (WebHDFS), or a local file when it has none. A listing
    gives its length and modification time (the version the ledger records); :meth:`version` asks the file
    system for them when they are missing."""

    path: str
    client: Any = field(default=None, compare=False, repr=False)
    length: int | None = None
    mtime_ms: int | None = None

    @property
    def hdfs(self) -> bool:
        return self.client is not None

    def __str__(self) -> str:
        return ("hdfs:" if self.hdfs else "") + self.path

    def version(self) -> FileVersion:
        """The file's path, length and modification time (from the listing, else from the file system)."""
        if self.length is not None and self.mtime_ms is not None:
            return FileVersion(self.path, self.length, self.mtime_ms)
        if self.client is not None:
            st = self.client.status(self.path)
            return FileVersion(self.path, int(st["length"]), int(st["modificationTime"]))
        st = os.stat(self.path)
        return FileVersion(self.path, st.st_size, st.st_mtime_ns // 1_000_000)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if self.client is not None:
            with self.client.read(self.path) as reader:
                yield reader
        else:
            with open(self.path, "rb") as fh:
                yield fh

    def read_text(self) -> str:
        """The file as text; undecodable bytes and NULs (which PostgreSQL text cannot hold) become U+FFFD, so
        the row is then rejected by the checks rather than failing the load."""
        with self.open() as fh:
            data = fh.read()
        return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


@dataclass(frozen=True)
class LakeFiles:
    """The lake's directories (config ``hdfs.paths``), on HDFS through ``client`` or under ``local_root``."""

    paths: Mapping[str, str]
    client: Any = field(default=None, compare=False, repr=False)
    local_root: Path | None = None

    @classmethod
    def from_config(cls, cfg: Config, local_root: str | Path | None = None) -> LakeFiles:
        if local_root is not None:
            return cls(cfg.hdfs.paths.as_dict(), local_root=Path(local_root))
        from iptv import hdfs_client

        return cls(cfg.hdfs.paths.as_dict(), client=hdfs_client.client(cfg))

    def partition_dir(self, ds: Dataset, day: str | dt.date) -> str:
        """The directory of the partitioned dataset ``ds`` of ``day``: ``<its directory>/dt=<day>``."""
        return f"{ds.directory(self.paths)}/{ds.partition_column}={as_date(day).isoformat()}"

    def session_dir(self, day: str | dt.date) -> str:
        return self.partition_dir(SESSIONS, day)

    def programme_dir(self, day: str | dt.date) -> str:
        """The guide's directory of ``day``: ``<catalogs>/epg/dt=<day>``."""
        return self.partition_dir(PROGRAMMES, day)

    def quarantine_dir(self, day: str | dt.date) -> str:
        """The quarantine's directory of ``day`` (the arrival date): ``<quarantine>/dt=<day>``."""
        return self.partition_dir(QUARANTINE, day)

    def catalog_dir(self, name: str) -> str:
        return dataset(name).directory(self.paths)

    def sources(self, directory: str) -> list[Source]:
        """The data files of ``directory`` (an HDFS path as in hdfs.paths). LoadError if it does not exist."""
        if self.local_root is not None:
            d = self.local_root / directory.lstrip("/")
            if not d.is_dir():
                raise LoadError(f"no directory {d}")
            return [
                Source(str(f), length=st.st_size, mtime_ms=st.st_mtime_ns // 1_000_000)
                for f in sorted(d.iterdir())
                if f.is_file() and visible(f.name)
                for st in [f.stat()]
            ]
        if self.client.status(directory, strict=False) is None:
            raise LoadError(f"no HDFS directory {directory}")
        return [
            Source(
                posixpath.join(directory, name),
                self.client,
                length=int(st.get("length", 0)),
                mtime_ms=int(st.get("modificationTime", 0)),
            )
            for name, st in sorted(self.client.list(directory, status=True))
            if st.get("type") == "FILE" and visible(name)
        ]

    def session_sources(self, day: str | dt.date) -> list[Source]:
        return self.sources(self.session_dir(day))

    def programme_sources(self, day: str | dt.date) -> list[Source]:
        return self.sources(self.programme_dir(day))

    def quarantine_sources(self, day: str | dt.date) -> list[Source]:
        return self.sources(self.quarantine_dir(day))

    def catalog_sources(self, name: str) -> list[Source]:
        return self.sources(self.catalog_dir(name))


# Callers that hold a config (the load_greenplum CLI): the same, one call each.


def list_sources(cfg: Config, directory: str, local_root: str | Path | None = None) -> list[Source]:
    return LakeFiles.from_config(cfg, local_root).sources(directory)


def session_dir(cfg: Config, day: str | dt.date) -> str:
    return LakeFiles(cfg.hdfs.paths.as_dict()).session_dir(day)


def programme_dir(cfg: Config, day: str | dt.date) -> str:
    return LakeFiles(cfg.hdfs.paths.as_dict()).programme_dir(day)


def quarantine_dir(cfg: Config, day: str | dt.date) -> str:
    return LakeFiles(cfg.hdfs.paths.as_dict()).quarantine_dir(day)


def catalog_dir(cfg: Config, name: str) -> str:
    return LakeFiles(cfg.hdfs.paths.as_dict()).catalog_dir(name)


def _split_line(line: str) -> list[str] | None:
    """One physical line split as CSV (None if the csv module cannot). A field may be as long as the line: the
    csv module's field limit (128 KiB by default, process-wide) is lifted for this call only, since a record of
    a one-line-per-record dataset (the quarantine's raw message) may be longer."""
    limit = csv.field_size_limit()
    if len(line) > limit:
        csv.field_size_limit(len(line))
    try:
        return next(csv.reader([line]))
    except csv.Error:
        return None
    finally:
        if len(line) > limit:
            csv.field_size_limit(limit)


def csv_records(text: str, *, one_line: bool = False) -> Iterator[tuple[int, str, list[str] | None]]:
    """Split headerless RFC 4180 CSV text with the csv module: ``(first line number, raw text, fields)`` per
    record (fields None when the csv module cannot split it). Empty lines are skipped. ``one_line``: every
    physical line is a record of its own (a dataset written with escaped line breaks, as Hive reads it), so an
    unbalanced quote spoils its own line only instead of swallowing the lines after it, and a field may be as
    long as its line."""
    if one_line:
        for line_no, line in enumerate(io.StringIO(text, newline=""), start=1):
            raw = line.rstrip("\r\n")
            if raw:
                yield line_no, raw, _split_line(raw)
        return
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines())
    line_no = 1
    while True:
        try:
            fields: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error:
            fields = None
        raw = "".join(consumed)
        n = len(consumed)
        consumed.clear()
        if fields is not None and not fields and not raw.strip("\r\n"):
            line_no += n
            continue
        yield line_no, raw.rstrip("\r\n"), fields
        line_no += n
