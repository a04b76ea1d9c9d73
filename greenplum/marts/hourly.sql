-- mart_hourly for one date {{ dt }}: all 24 hours (0..23) of a date that has any session (zeros where empty).
-- viewers of an hour = distinct users with a session that starts in the hour or overlaps it by more than 0 s;
-- watch_minutes = overlap of the sessions with the hour, in minutes.
DELETE FROM {{ schema }}.mart_hourly WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_hourly (dt, hour, viewers, watch_minutes)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds,
           CAST({{ dt }} AS TIMESTAMP) + INTERVAL '1 day' AS de
), s AS (
    SELECT f.user_id, f.time_start, f.time_end
    FROM {{ schema }}.fact_session f
    CROSS JOIN bounds b
    WHERE f.dt = b.d OR (f.dt < b.d AND f.time_end > b.ds)
), hours AS (
    SELECT b.d, h AS hour,
           b.ds + h * INTERVAL '1 hour' AS hs,
           b.ds + (h + 1) * INTERVAL '1 hour' AS he
    FROM bounds b
    CROSS JOIN generate_series(0, 23) AS h
    WHERE EXISTS (SELECT 1 FROM s)
)
SELECT h.d,
       h.hour,
       COUNT(DISTINCT s.user_id),
       -- LEAST/GREATEST skip NULLs, so the hours without a session must be excluded explicitly.
       ROUND(CAST(COALESCE(SUM(CASE WHEN s.user_id IS NOT NULL THEN
           GREATEST(0, CAST(EXTRACT(EPOCH FROM (LEAST(s.time_end, h.he) - GREATEST(s.time_start, h.hs))) AS BIGINT))
       END), 0) AS NUMERIC) / 60, 6)
FROM hours h
LEFT JOIN s ON s.time_start < h.he AND (s.time_end > h.hs OR s.time_start >= h.hs)
GROUP BY h.d, h.hour;
