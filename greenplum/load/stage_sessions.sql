-- Text staging table for one sessions load (filled by COPY FROM STDIN, dropped at commit). Every CSV record of
-- every source file lands here as text, whatever its content: iptv.warehouse splits the files with Python's csv
-- module and writes one row per record with its file, line number, field count and raw text; the fields
-- ({{ sessions_staging_columns }}: the sessions columns of schemas/datasets.json, all TEXT) are filled only when
-- the record has exactly that many (else NULL). Nothing is typed here, so COPY cannot fail on bad data;
-- load/validate_sessions.sql checks and casts.
-- The file's columns are rendered from the definition, so the types here cannot be aligned with theirs.
-- noqa: disable=LT01
CREATE TEMP TABLE stg_session_raw (
    source_file TEXT,
    line_no BIGINT,
    n_fields INTEGER,  -- NULL: the csv module could not split the record
    raw_line TEXT,
    {{ sessions_staging_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
-- noqa: enable=LT01
