-- Text staging table for one quarantine load (filled by COPY FROM STDIN, dropped at commit), as
-- load/stage_sessions.sql for the sessions: every record of every quarantine file of the date lands here as
-- text with its file, line number, field count and raw text, one record per physical line (the dataset escapes
-- line breaks); the fields ({{ quarantine_staging_columns }}: the quarantine columns of schemas/datasets.json,
-- all TEXT) only when the record has exactly that many (else NULL). load/replace_quarantine.sql counts them.
-- The file's columns are rendered from the definition, so the types here cannot be aligned with theirs.
-- noqa: disable=LT01
CREATE TEMP TABLE stg_quarantine_raw (
    source_file TEXT,
    line_no BIGINT,
    n_fields INTEGER,  -- NULL: the csv module could not split the record
    raw_line TEXT,
    {{ quarantine_staging_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
-- noqa: enable=LT01
