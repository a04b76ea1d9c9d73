-- mart_hourly for one date {{ dt }}: all 24 hours (0..23) of a date that has any session (zeros where empty).
-- viewers of an hour = distinct users with a session that starts in the hour or overlaps it by more than 0 s;
-- watch_minutes = overlap of the sessions with the hour, in minutes (watch_s: in exact seconds).
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the exact sums, and the viewers not yet counted to the counts; the hours
-- in which a user was counted are one bit each (bit h = hour h) of viewer_hour_mask, one row per user and date.
-- The rounded figures are derived from the exact ones. A date recomputed from fact_session has its rows and
-- counted viewers cleared first and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_hourly (dt, hour, viewers, watch_minutes, watch_s)
SELECT CAST({{ dt }} AS DATE), h, 0, 0, 0
FROM generate_series(0, 23) AS h
WHERE EXISTS (SELECT 1 FROM delta_day)
      AND NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_hourly WHERE dt = CAST({{ dt }} AS DATE));

-- Per user of the delta: the hours it reaches and those already counted (NULL: none, no row yet).
DROP TABLE IF EXISTS pg_temp.delta_hour_viewer;

CREATE TEMP TABLE delta_hour_viewer ON COMMIT DROP AS
SELECT d.user_id, d.hours, v.hours AS counted
FROM (SELECT user_id, BIT_OR(1 << CAST(hour AS INTEGER)) AS hours FROM delta_slice GROUP BY user_id) d
LEFT JOIN {{ schema }}.viewer_hour_mask v ON v.dt = CAST({{ dt }} AS DATE) AND v.user_id = d.user_id
/*@greenplum DISTRIBUTED BY (user_id) */;

UPDATE {{ schema }}.mart_hourly m
SET watch_s = m.watch_s + COALESCE(w.watch_s, 0),
    viewers = m.viewers + COALESCE(n.new_viewers, 0),
    watch_minutes = ROUND(CAST(m.watch_s + COALESCE(w.watch_s, 0) AS NUMERIC) / 60, 6)
FROM generate_series(0, 23) AS h
LEFT JOIN (SELECT hour, SUM(watch_s) AS watch_s FROM delta_slice GROUP BY hour) w ON w.hour = h
LEFT JOIN (
    SELECT h2 AS hour, COUNT(*) AS new_viewers
    FROM delta_hour_viewer u
    CROSS JOIN generate_series(0, 23) AS h2
    WHERE u.hours & ~COALESCE(u.counted, 0) & (1 << h2) <> 0
    GROUP BY h2
) n ON n.hour = h
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.hour = h AND (w.hour IS NOT NULL OR n.hour IS NOT NULL);

UPDATE {{ schema }}.viewer_hour_mask v
SET hours = v.hours | u.hours
FROM delta_hour_viewer u
WHERE v.dt = CAST({{ dt }} AS DATE) AND v.user_id = u.user_id AND u.hours & ~u.counted <> 0;

INSERT INTO {{ schema }}.viewer_hour_mask (dt, user_id, hours)
SELECT CAST({{ dt }} AS DATE), user_id, hours
FROM delta_hour_viewer
WHERE counted IS NULL;
