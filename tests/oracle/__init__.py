"""The test oracle: an independent computation of the warehouse marts with DuckDB (:mod:`oracle.marts`, its
queries in the ``*.sql`` files beside it) and the small deterministic lake the integration tests check the
warehouse with (:mod:`oracle.sample_lake`). Test-only: importable as ``oracle`` through pytest's ``pythonpath``
(pyproject.toml); duckdb is a dev dependency."""
