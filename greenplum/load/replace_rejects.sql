-- Replace the quarantined sessions rows of date {{ dt }} by the rejected staged rows of this load (same
-- transaction as the fact replacement, so a reload of the same files leaves load_rejects as it was, loaded_at
-- aside). The guide's rejects of the date (dataset 'programmes') are left alone.
DELETE FROM {{ schema }}.load_rejects WHERE dt = CAST({{ dt }} AS DATE) AND dataset = 'sessions';

INSERT INTO {{ schema }}.load_rejects (dt, source_file, line_no, reason, raw_line, loaded_at, dataset)
SELECT CAST({{ dt }} AS DATE), source_file, line_no, reason, raw_line, CAST(now() AS TIMESTAMP), 'sessions'
FROM stg_session
WHERE reason IS NOT NULL;
