-- mart_daily for one date {{ dt }}.
-- Watch time of the day = overlap of [time_start, time_end) with [dt 00:00, dt+1 00:00), so sessions of
-- earlier dates that run past midnight count too. A session (view) counts on the day it starts. A viewer is a
-- distinct user with a session that starts on the day or overlaps it by more than 0 s.
-- No row is written for a date without any such session. watch_s = the exact watch seconds.
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the exact sums, and the viewers not yet counted (viewer_daily) to the
-- counts; the rounded figures are derived from the exact ones. A date recomputed from fact_session has its rows
-- and counted viewers cleared first and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_daily (dt, watch_hours, sessions, viewers, watch_s)
SELECT CAST({{ dt }} AS DATE), 0, 0, 0, 0
WHERE EXISTS (SELECT 1 FROM delta_day)
      AND NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_daily WHERE dt = CAST({{ dt }} AS DATE));

-- The users of the delta not yet counted on the date.
DROP TABLE IF EXISTS pg_temp.delta_new_viewer;

CREATE TEMP TABLE delta_new_viewer ON COMMIT DROP AS
SELECT d.user_id
FROM (SELECT DISTINCT user_id FROM delta_day) d
LEFT JOIN {{ schema }}.viewer_daily v ON v.dt = CAST({{ dt }} AS DATE) AND v.user_id = d.user_id
WHERE v.user_id IS NULL
/*@greenplum DISTRIBUTED BY (user_id) */;

UPDATE {{ schema }}.mart_daily m
SET watch_s = m.watch_s + x.watch_s,
    sessions = m.sessions + x.sessions,
    viewers = m.viewers + n.new_viewers,
    watch_hours = ROUND(CAST(m.watch_s + x.watch_s AS NUMERIC) / 3600, 6)
FROM (SELECT COALESCE(SUM(watch_s), 0) AS watch_s, COALESCE(SUM(started), 0) AS sessions FROM delta_day) x
CROSS JOIN (SELECT COUNT(*) AS new_viewers FROM delta_new_viewer) n
WHERE m.dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.viewer_daily (dt, user_id)
SELECT CAST({{ dt }} AS DATE), user_id
FROM delta_new_viewer;
