-- How many valid staged sessions of date {{ dt }} have a session_id the date already holds (a load that appends
-- new files is then redone as a whole-date load, which keeps the first row of each id over all the files).
SELECT COUNT(*)
FROM stg_session s
WHERE s.reason IS NULL
      AND EXISTS (SELECT 1 FROM {{ schema }}.fact_session f
                  WHERE f.dt = CAST({{ dt }} AS DATE) AND f.session_id = s.session_id);
