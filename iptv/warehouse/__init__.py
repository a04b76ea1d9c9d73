"""The warehouse loader (Greenplum on a cluster, PostgreSQL locally): DDL, dimensions, sessions and marts.

All SQL lives in ``greenplum/*.sql``, rendered by :mod:`iptv.sql` (one convention for every .sql file of the
project: ``{{ name }}`` placeholders and the ``/*@greenplum ... */`` switch). The modules, in the order the data
goes through them:

- :mod:`~iptv.warehouse.sources` -- the input files: :class:`LakeFiles` lists a directory of the lake layout
  (config ``hdfs.paths``) on HDFS or under a local mirror; a :class:`Source` reads one file; CSV records;
- :mod:`~iptv.warehouse.staging` -- the records streamed into the TEXT staging tables with COPY;
- :mod:`~iptv.warehouse.loads` -- the transactions: :func:`apply_ddl`, :func:`load_dims`,
  :func:`load_sessions`, :func:`recompute_all`;
- :mod:`~iptv.warehouse.schema` -- :class:`Warehouse`, the target (dialect, roles, schema) that renders the SQL.

The names below are the package's API.
"""

from iptv.warehouse.loads import (
    REJECT_REASONS,
    DimsResult,
    LoadResult,
    apply_ddl,
    load_dims,
    load_sessions,
    mart_dates,
    recompute_all,
    recompute_dates,
)
from iptv.warehouse.schema import (
    DATE_MARTS,
    DEFAULT_SCHEMA,
    DIALECTS,
    MART_TABLES,
    REJECTS_TABLE,
    SQL_DIR,
    TABLES,
    Warehouse,
    dialect_of,
)
from iptv.warehouse.sources import LakeFiles, LoadError, Source, catalog_dir, list_sources, session_dir
from iptv.warehouse.staging import SESSION_FIELDS

__all__ = [
    "DATE_MARTS",
    "DEFAULT_SCHEMA",
    "DIALECTS",
    "MART_TABLES",
    "REJECTS_TABLE",
    "REJECT_REASONS",
    "SESSION_FIELDS",
    "SQL_DIR",
    "TABLES",
    "DimsResult",
    "LakeFiles",
    "LoadError",
    "LoadResult",
    "Source",
    "Warehouse",
    "apply_ddl",
    "catalog_dir",
    "dialect_of",
    "list_sources",
    "load_dims",
    "load_sessions",
    "mart_dates",
    "recompute_all",
    "recompute_dates",
    "session_dir",
]
