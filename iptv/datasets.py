"""The datasets of the data lake -- viewing_events, sessions, quarantine and the catalogs channels, users and
programmes (the programme guide) -- as defined once in ``schemas/datasets.json`` (stdlib only).

A dataset's name is also its Hive table and its kind in the lake sync state; its lake directory is config
``hdfs.paths.<config_key>`` (plus a subdirectory for the catalogs); its columns are listed in file order with a
type; its CSV format says how its files are written and read.

Two groupings, each for its own readers: by *origin* -- :data:`INGESTED`, what the NiFi ingestion flow lands
(its section kinds), and :data:`CATALOGS`, the reference data under ``hdfs.paths.catalogs`` that the producer or
an operator writes -- and by *layout* -- :data:`PARTITIONED`, every dataset in ``dt=<date>`` directories (the
dated kinds of the lake sync and the Hive partitions), which holds the ingested datasets and the dated catalogs
(:data:`DATED_CATALOGS`: the guide, one directory per day), while :data:`WHOLE_CATALOGS` (channels, users) are
one directory each, replaced as a whole. The NiFi processors
cannot import this package: ``nifi/python-processors/iptv_sessions/lake_datasets.py`` reads the same file (and
tests/unit/test_datasets.py checks that both agree).

Helpers for the users: :attr:`Dataset.column_names`, :meth:`Dataset.hive_columns` (the column list of its Hive
table), :meth:`Dataset.staging_columns` (the all-TEXT columns of its PostgreSQL staging table) and
:meth:`Dataset.directory` (its lake directory from ``hdfs.paths``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFINITION_PATH = Path(__file__).resolve().parents[1] / "schemas" / "datasets.json"

#: Column types of the definition and the Hive type of a delimited (unquoted) file's column.
_HIVE_TYPES = {"string": "STRING", "bigint": "BIGINT", "int": "INT", "timestamp": "TIMESTAMP", "date": "DATE"}
_DECIMAL = re.compile(r"decimal\((\d+),(\d+)\)")
QUOTINGS = ("none", "minimal")
#: Separator of the rendered column lists: one column per line, indented as in the .sql files.
_COLUMN_SEPARATOR = ",\n    "


def _hive_type(type_: str) -> str:
    if type_ in _HIVE_TYPES:
        return _HIVE_TYPES[type_]
    m = _DECIMAL.fullmatch(type_)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2)})"
    raise ValueError(f"unknown column type {type_!r}")


def _sql_type(type_: str) -> str:
    """The PostgreSQL/Greenplum type of a column type of the definition (Hive's names, but TEXT for STRING)."""
    return "TEXT" if type_ == "string" else _hive_type(type_)


@dataclass(frozen=True)
class Column:
    """One column: its name in the files, its type, and the name Hive and Greenplum give it (if another)."""

    name: str
    type: str
    warehouse_name: str | None = None
    description: str = ""

    @property
    def table_name(self) -> str:
        """The column's name in the Hive table (and the Greenplum dimension)."""
        return self.warehouse_name or self.name


@dataclass(frozen=True)
class CsvFormat:
    """How a dataset's files are written: headerless CSV, ``delimiter``, ``quoting`` (``none``: fields never
    need quotes and have none; ``minimal``: RFC 4180, quoted only when needed, quotes doubled) and whether line
    breaks inside a field are written as ``\\n`` / ``\\r`` (one physical line per record)."""

    delimiter: str = ","
    quoting: str = "none"
    escaped_line_breaks: bool = False
    header: bool = False


@dataclass(frozen=True)
class Dataset:
    """One dataset of the lake (see the module doc)."""

    name: str
    description: str
    config_key: str  # its directory: config hdfs.paths.<config_key> ...
    subdirectory: str | None  # ... and this subdirectory of it
    partition_column: str | None  # dt=<date> directories: the date of partition_of
    partition_of: str | None
    columns: tuple[Column, ...]
    csv: CsvFormat

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def partitioned(self) -> bool:
        return self.partition_column is not None

    def directory(self, paths: Mapping[str, str]) -> str:
        """The dataset's lake directory from config ``hdfs.paths`` (no trailing slash)."""
        base = str(paths[self.config_key]).rstrip("/")
        return f"{base}/{self.subdirectory}" if self.subdirectory else base

    def hive_columns(self) -> str:
        """The column list of its Hive table (``name TYPE`` per column, comma-separated, without parentheses):
        typed for unquoted files (ROW FORMAT DELIMITED); all STRING for quoted ones, which Hive reads with
        OpenCSVSerde, a SerDe that reads every column as STRING."""
        typed = self.csv.quoting == "none"
        return _COLUMN_SEPARATOR.join(
            f"{c.table_name} {_hive_type(c.type) if typed else 'STRING'}" for c in self.columns
        )

    def staging_columns(self) -> str:
        """The columns of its PostgreSQL/Greenplum staging table: one TEXT column per file column, file names."""
        return _COLUMN_SEPARATOR.join(f"{c.name} TEXT" for c in self.columns)

    def typed_staging_columns(self) -> str:
        """The columns of its typed PostgreSQL/Greenplum staging table: each file column with its type."""
        return _COLUMN_SEPARATOR.join(f"{c.name} {_sql_type(c.type)}" for c in self.columns)


def _dataset(raw: Mapping[str, Any]) -> Dataset:
    name = raw["name"]
    columns = tuple(
        Column(c["name"], c["type"], c.get("warehouse_name"), c.get("description", "")) for c in raw["columns"]
    )
    for c in columns:
        _hive_type(c.type)
    fmt = CsvFormat(**raw["csv"])
    if fmt.quoting not in QUOTINGS:
        raise ValueError(f"dataset {name}: quoting {fmt.quoting!r} is not one of {', '.join(QUOTINGS)}")
    part = raw.get("partition")
    if part is not None and part["date_of"] not in {c.name for c in columns}:
        raise ValueError(f"dataset {name}: partitioned by the date of {part['date_of']!r}, not one of its columns")
    path = raw["lake_path"]
    return Dataset(
        name=name,
        description=raw.get("description", ""),
        config_key=path["config_key"],
        subdirectory=path.get("subdirectory"),
        partition_column=part["column"] if part else None,
        partition_of=part["date_of"] if part else None,
        columns=columns,
        csv=fmt,
    )


def load(path: str | Path = DEFINITION_PATH) -> dict[str, Dataset]:
    """The datasets of the definition file at ``path``, by name, in the file's order."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    out: dict[str, Dataset] = {}
    for entry in raw["datasets"]:
        ds = _dataset(entry)
        if ds.name in out:
            raise ValueError(f"dataset {ds.name} is defined twice in {path}")
        out[ds.name] = ds
    return out


DATASETS: dict[str, Dataset] = load()
VIEWING_EVENTS = DATASETS["viewing_events"]
SESSIONS = DATASETS["sessions"]
QUARANTINE = DATASETS["quarantine"]
CHANNELS = DATASETS["channels"]
USERS = DATASETS["users"]
PROGRAMMES = DATASETS["programmes"]
#: The config key of the catalogs' directory (hdfs.paths.catalogs/<subdirectory>).
CATALOGS_KEY = "catalogs"
#: The catalogs: reference data under config hdfs.paths.catalogs, written by the producer or an operator.
CATALOGS: tuple[str, ...] = tuple(name for name, ds in DATASETS.items() if ds.config_key == CATALOGS_KEY)
#: What the ingestion flow lands (the section kinds of the NiFi flow): every dataset that is not a catalog.
INGESTED: tuple[str, ...] = tuple(name for name in DATASETS if name not in CATALOGS)
#: The datasets in dt=<date> directories (the dated kinds of the lake sync, the partitioned Hive tables).
PARTITIONED: tuple[str, ...] = tuple(name for name, ds in DATASETS.items() if ds.partitioned)
#: Catalogs in dt=<date> directories (the programme guide: one directory per day).
DATED_CATALOGS: tuple[str, ...] = tuple(name for name in CATALOGS if DATASETS[name].partitioned)
#: Catalogs kept in one directory and replaced as a whole (channels, users: the warehouse's dimensions).
WHOLE_CATALOGS: tuple[str, ...] = tuple(name for name in CATALOGS if not DATASETS[name].partitioned)


def dataset(name: str) -> Dataset:
    """The dataset ``name``; a KeyError naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"no dataset {name!r} (known: {', '.join(DATASETS)})") from None
