-- mart_channel_daily for one date {{ dt }}: one row per channel with at least one viewer that day.
--   universe   = number of subscribers in dim_user
--   reach_pct  = viewers / universe * 100
--   share_pct  = the channel's watch time / all watch time of the day * 100
--   rating_pct = the channel's watch minutes / (universe * 1440) * 100
--   atv_min    = watch minutes / viewers
-- Percentages are NULL when their denominator is 0. Same day rules as daily.sql; watch_s = exact seconds.
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the exact sums, and the viewers not yet counted (viewer_* tables) to the
-- counts; the rounded figures are derived from the exact ones. A date recomputed from fact_session has its rows
-- and counted viewers cleared first and every session reaching it as the delta (iptv.warehouse.loads).
-- The names and ratios of every channel of the date are derived again (the day's total and the universe change).
INSERT INTO {{ schema }}.mart_channel_daily
    (dt, channel_id, channel_name, watch_hours, sessions, viewers, reach_pct, share_pct, rating_pct, atv_min, watch_s)
SELECT CAST({{ dt }} AS DATE), c.channel_id, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0
FROM (SELECT DISTINCT channel_id FROM delta_day) c
WHERE NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_channel_daily m
                  WHERE m.dt = CAST({{ dt }} AS DATE) AND m.channel_id = c.channel_id);

UPDATE {{ schema }}.mart_channel_daily m
SET watch_s = m.watch_s + x.watch_s,
    sessions = m.sessions + x.sessions,
    viewers = m.viewers + x.new_viewers
FROM (
    SELECT s.channel_id,
           SUM(s.watch_s) AS watch_s,
           SUM(s.started) AS sessions,
           COUNT(DISTINCT CASE WHEN v.user_id IS NULL THEN s.user_id END) AS new_viewers
    FROM delta_day s
    LEFT JOIN {{ schema }}.viewer_channel_daily v
        ON v.dt = CAST({{ dt }} AS DATE) AND v.channel_id = s.channel_id AND v.user_id = s.user_id
    GROUP BY s.channel_id
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.channel_id = x.channel_id;

INSERT INTO {{ schema }}.viewer_channel_daily (dt, channel_id, user_id)
SELECT DISTINCT CAST({{ dt }} AS DATE), s.channel_id, s.user_id
FROM delta_day s
LEFT JOIN {{ schema }}.viewer_channel_daily v
    ON v.dt = CAST({{ dt }} AS DATE) AND v.channel_id = s.channel_id AND v.user_id = s.user_id
WHERE v.user_id IS NULL;

UPDATE {{ schema }}.mart_channel_daily m
SET channel_name = n.channel_name,
    watch_hours = ROUND(CAST(m.watch_s AS NUMERIC) / 3600, 6),
    reach_pct = ROUND(CAST(m.viewers AS NUMERIC) * 100 / NULLIF(u.n, 0), 6),
    share_pct = ROUND(CAST(m.watch_s AS NUMERIC) * 100 / NULLIF(t.total_s, 0), 6),
    rating_pct = ROUND(CAST(m.watch_s AS NUMERIC) * 100 / NULLIF(CAST(u.n AS NUMERIC) * 86400, 0), 6),
    atv_min = ROUND(CAST(m.watch_s AS NUMERIC) / NULLIF(CAST(m.viewers AS NUMERIC) * 60, 0), 6)
FROM (
    SELECT mc.channel_id, c.channel_name
    FROM {{ schema }}.mart_channel_daily mc
    LEFT JOIN {{ schema }}.dim_channel c ON c.channel_id = mc.channel_id
    WHERE mc.dt = CAST({{ dt }} AS DATE)
) n
CROSS JOIN (SELECT SUM(watch_s) AS total_s FROM {{ schema }}.mart_channel_daily
            WHERE dt = CAST({{ dt }} AS DATE)) t
CROSS JOIN (SELECT COUNT(DISTINCT user_id) AS n FROM {{ schema }}.dim_user) u
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.channel_id = n.channel_id;
