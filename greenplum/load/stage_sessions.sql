-- Staging tables of one sessions load (filled by COPY FROM STDIN, dropped at commit). Every CSV record of every
-- source file lands in one of them, whatever its content (iptv.warehouse.staging splits the files):
-- stg_session_raw, as text: one row per record with its file, line number, field count and raw text; the fields
-- ({{ sessions_staging_columns }}: the sessions columns of schemas/datasets.json, all TEXT) are filled only when
-- the record has exactly that many (else NULL). Nothing is typed there, so COPY cannot fail on bad data;
-- load/validate_sessions.sql checks and casts.
-- stg_session_typed, typed: the records the splitter found canonical (every field of the shape its check wants,
-- every timestamp a real one: CanonicalSessionRecord), which therefore cast without fail; their raw text is
-- rebuilt from the fields when one is rejected (load/insert_sessions.sql).
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

CREATE TEMP TABLE stg_session_typed (
    source_file TEXT,
    line_no BIGINT,
    {{ sessions_typed_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
-- noqa: enable=LT01
