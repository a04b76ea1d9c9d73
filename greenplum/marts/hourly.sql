-- mart_hourly for one date {{ dt }}: all 24 hours (0..23) of a date that has any session (zeros where empty).
-- viewers of an hour = distinct users with a session that starts in the hour or overlaps it by more than 0 s;
-- watch_minutes = overlap of the sessions with the hour, in minutes (watch_s: in exact seconds).
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the exact sums, and the viewers not yet counted (viewer_* tables) to the
-- counts; the rounded figures are derived from the exact ones. A date recomputed from fact_session has its rows
-- and counted viewers cleared first and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_hourly (dt, hour, viewers, watch_minutes, watch_s)
SELECT CAST({{ dt }} AS DATE), h, 0, 0, 0
FROM generate_series(0, 23) AS h
WHERE EXISTS (SELECT 1 FROM delta_day)
      AND NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_hourly WHERE dt = CAST({{ dt }} AS DATE));

UPDATE {{ schema }}.mart_hourly m
SET watch_s = m.watch_s + x.watch_s,
    viewers = m.viewers + x.new_viewers,
    watch_minutes = ROUND(CAST(m.watch_s + x.watch_s AS NUMERIC) / 60, 6)
FROM (
    SELECT s.hour,
           SUM(s.watch_s) AS watch_s,
           COUNT(DISTINCT CASE WHEN v.user_id IS NULL THEN s.user_id END) AS new_viewers
    FROM delta_slice s
    LEFT JOIN {{ schema }}.viewer_hourly v
        ON v.dt = CAST({{ dt }} AS DATE) AND v.hour = s.hour AND v.user_id = s.user_id
    GROUP BY s.hour
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.hour = x.hour;

INSERT INTO {{ schema }}.viewer_hourly (dt, hour, user_id)
SELECT DISTINCT CAST({{ dt }} AS DATE), s.hour, s.user_id
FROM delta_slice s
LEFT JOIN {{ schema }}.viewer_hourly v
    ON v.dt = CAST({{ dt }} AS DATE) AND v.hour = s.hour AND v.user_id = s.user_id
WHERE v.user_id IS NULL;
