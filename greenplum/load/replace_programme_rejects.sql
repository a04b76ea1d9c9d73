-- Replace the guide's quarantined rows of date {{ dt }} (dataset 'programmes') by the rejected staged rows and the
-- gaps of this load (same transaction as dim_programme, so a reload of the same files leaves load_rejects as it
-- was, loaded_at aside). The sessions' rejects of the date are left alone.
DELETE FROM {{ schema }}.load_rejects WHERE dt = CAST({{ dt }} AS DATE) AND dataset = 'programmes';

INSERT INTO {{ schema }}.load_rejects (dt, source_file, line_no, reason, raw_line, loaded_at, dataset)
SELECT CAST({{ dt }} AS DATE), source_file, line_no, reason, raw_line, CAST(now() AS TIMESTAMP), 'programmes'
FROM stg_programme
WHERE reason IS NOT NULL
UNION ALL
SELECT CAST({{ dt }} AS DATE), source_file, line_no, 'gap', raw_line, CAST(now() AS TIMESTAMP), 'programmes'
FROM stg_programme_gap;
