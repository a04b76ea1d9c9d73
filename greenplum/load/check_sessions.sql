-- Counts of the staged rows of date %(dt)s by the reason they are rejected (first matching reason only).
-- Rows read minus rows loaded minus these are repeated session_ids.
SELECT COUNT(*) AS rows_read,
       SUM(CASE WHEN reason = 'missing_field' THEN 1 ELSE 0 END) AS missing_field,
       SUM(CASE WHEN reason = 'other_date' THEN 1 ELSE 0 END) AS other_date,
       SUM(CASE WHEN reason = 'negative_duration' THEN 1 ELSE 0 END) AS negative_duration
FROM (
    SELECT CASE
               WHEN session_id IS NULL OR user_id IS NULL OR channel_id IS NULL
                    OR time_start IS NULL OR time_end IS NULL THEN 'missing_field'
               WHEN CAST(time_start AS DATE) <> CAST(%(dt)s AS DATE) THEN 'other_date'
               WHEN time_end < time_start OR duration_s < 0 THEN 'negative_duration'
           END AS reason
    FROM stg_session
) x;
