"""The warehouse loader (Greenplum on a cluster, PostgreSQL locally): DDL, dimensions, sessions and marts.

All SQL lives in ``greenplum/*.sql``, rendered by :mod:`iptv.sql` (one convention for every .sql file of the
project: ``{{ name }}`` placeholders and the ``/*@greenplum ... */`` switch). The modules, in the order the data
goes through them:

- :mod:`~iptv.warehouse.sources` -- the input files: :class:`LakeFiles` lists a directory of the lake layout
  (config ``hdfs.paths``) on HDFS or under a local mirror; a :class:`Source` reads one file; CSV records;
- :mod:`~iptv.warehouse.staging` -- the records streamed into the TEXT staging tables with COPY;
- :mod:`~iptv.warehouse.loads` -- the transactions: :func:`apply_ddl`, :func:`load_dims`,
  :func:`load_programmes`, :func:`load_sessions`, :func:`load_quarantine`, :func:`recompute_all`;
- :mod:`~iptv.warehouse.schema` -- :class:`Warehouse`, the target (dialect, roles, schema) that renders the SQL.

The names below are the package's API.
"""

from iptv.warehouse.loads import (
    PROGRAMME_REJECT_REASONS,
    QUARANTINE_UNREADABLE,
    REJECT_REASONS,
    DimsResult,
    LoadResult,
    ProgrammeLoadResult,
    QuarantineLoadResult,
    apply_ddl,
    load_dims,
    load_programmes,
    load_quarantine,
    load_sessions,
    mart_dates,
    programme_dates,
    recompute_all,
    recompute_dates,
    recompute_programme_marts,
    update_marts,
)
from iptv.warehouse.schema import (
    DATE_MARTS,
    DEFAULT_SCHEMA,
    DIALECTS,
    LEDGER_TABLE,
    MART_TABLES,
    MART_VIEWER_TABLES,
    PROGRAMME_MARTS,
    QUARANTINE_TABLE,
    RECONCILE_TABLE,
    REJECTS_TABLE,
    SESSION_MARTS,
    SQL_DIR,
    TABLES,
    Warehouse,
    dialect_of,
)
from iptv.warehouse.sources import (
    LakeFiles,
    LoadError,
    Source,
    catalog_dir,
    list_sources,
    programme_dir,
    quarantine_dir,
    session_dir,
)
from iptv.warehouse.staging import PROGRAMME_FIELDS, QUARANTINE_FIELDS, SESSION_FIELDS

__all__ = [
    "DATE_MARTS",
    "DEFAULT_SCHEMA",
    "DIALECTS",
    "LEDGER_TABLE",
    "MART_TABLES",
    "MART_VIEWER_TABLES",
    "PROGRAMME_FIELDS",
    "PROGRAMME_MARTS",
    "PROGRAMME_REJECT_REASONS",
    "QUARANTINE_FIELDS",
    "QUARANTINE_TABLE",
    "RECONCILE_TABLE",
    "QUARANTINE_UNREADABLE",
    "REJECTS_TABLE",
    "REJECT_REASONS",
    "SESSION_FIELDS",
    "SESSION_MARTS",
    "SQL_DIR",
    "TABLES",
    "DimsResult",
    "LakeFiles",
    "LoadError",
    "LoadResult",
    "ProgrammeLoadResult",
    "QuarantineLoadResult",
    "Source",
    "Warehouse",
    "apply_ddl",
    "catalog_dir",
    "dialect_of",
    "list_sources",
    "load_dims",
    "load_programmes",
    "load_quarantine",
    "load_sessions",
    "mart_dates",
    "programme_dates",
    "programme_dir",
    "quarantine_dir",
    "recompute_all",
    "recompute_dates",
    "recompute_programme_marts",
    "session_dir",
    "update_marts",
]
