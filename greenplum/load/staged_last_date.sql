-- The last date reached by the valid staged sessions of a load (a session ending exactly at midnight does not
-- reach the next day); NULL when none is valid.
SELECT MAX(CAST(GREATEST(time_start, time_end - INTERVAL '1 second') AS DATE))
FROM stg_session
WHERE reason IS NULL;
