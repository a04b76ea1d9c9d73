-- The last date reached by the sessions of date {{ dt }} (a session ending exactly at midnight does not reach
-- the next day); NULL when the date has no sessions.
SELECT MAX(CAST(GREATEST(time_start, time_end - INTERVAL '1 second') AS DATE))
FROM {{ schema }}.fact_session
WHERE dt = CAST({{ dt }} AS DATE);
