-- Text staging table for one guide load (filled by COPY FROM STDIN, dropped at commit), as
-- load/stage_sessions.sql for the sessions: every CSV record of every guide file of the date lands here as text
-- with its file, line number, field count and raw text; the fields ({{ programmes_staging_columns }}: the
-- programmes columns of schemas/datasets.json, all TEXT) only when the record has exactly that many (else NULL).
-- load/validate_programmes.sql checks and casts.
-- The file's columns are rendered from the definition, so the types here cannot be aligned with theirs.
-- noqa: disable=LT01
CREATE TEMP TABLE stg_programme_raw (
    source_file TEXT,
    line_no BIGINT,
    n_fields INTEGER,  -- NULL: the csv module could not split the record
    raw_line TEXT,
    {{ programmes_staging_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
-- noqa: enable=LT01
