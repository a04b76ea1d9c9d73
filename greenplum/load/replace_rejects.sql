-- Replace the quarantined rows of date {{ dt }} by the rejected staged rows of this load (same transaction as the
-- fact replacement, so a reload of the same files leaves load_rejects as it was, loaded_at aside).
DELETE FROM {{ schema }}.load_rejects WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.load_rejects (dt, source_file, line_no, reason, raw_line, loaded_at)
SELECT CAST({{ dt }} AS DATE), source_file, line_no, reason, raw_line, CAST(now() AS TIMESTAMP)
FROM stg_session
WHERE reason IS NOT NULL;
