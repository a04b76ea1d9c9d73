-- Counts of the staged rows of date %(dt)s by reason they are rejected (a row counts under its first reason).
SELECT COUNT(*) AS rows_read,
       SUM(CASE WHEN session_id IS NULL OR user_id IS NULL OR channel_id IS NULL
                  OR time_start IS NULL OR time_end IS NULL THEN 1 ELSE 0 END) AS missing_field,
       SUM(CASE WHEN time_start IS NOT NULL AND CAST(time_start AS DATE) <> CAST(%(dt)s AS DATE)
                THEN 1 ELSE 0 END) AS other_date,
       SUM(CASE WHEN time_end < time_start OR duration_s < 0 THEN 1 ELSE 0 END) AS negative_duration
FROM stg_session;
