-- mart_daily for one date {{ dt }}, recomputed from fact_session: delete + insert.
-- Watch time of the day = overlap of [time_start, time_end) with [dt 00:00, dt+1 00:00), so sessions of
-- earlier dates that run past midnight count too. A session (view) counts on the day it starts. A viewer is a
-- distinct user with a session that starts on the day or overlaps it by more than 0 s.
-- No row is written for a date without any such session.
DELETE FROM {{ schema }}.mart_daily WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_daily (dt, watch_hours, sessions, viewers)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds,
           CAST({{ dt }} AS TIMESTAMP) + INTERVAL '1 day' AS de
), s AS (
    SELECT b.d, f.user_id, f.dt,
           GREATEST(0, CAST(EXTRACT(EPOCH FROM (LEAST(f.time_end, b.de) - GREATEST(f.time_start, b.ds))) AS BIGINT))
               AS watch_s
    FROM {{ schema }}.fact_session f
    CROSS JOIN bounds b
    WHERE f.dt = b.d OR (f.dt < b.d AND f.time_end > b.ds)
)
SELECT d,
       ROUND(CAST(SUM(watch_s) AS NUMERIC) / 3600, 6),
       SUM(CASE WHEN dt = d THEN 1 ELSE 0 END),
       COUNT(DISTINCT user_id)
FROM s
GROUP BY d;
