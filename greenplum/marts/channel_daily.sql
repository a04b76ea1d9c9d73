-- mart_channel_daily for one date {{ dt }}: one row per channel with at least one viewer that day.
--   universe   = number of subscribers in dim_user
--   reach_pct  = viewers / universe * 100
--   share_pct  = the channel's watch time / all watch time of the day * 100
--   rating_pct = the channel's watch minutes / (universe * 1440) * 100
--   atv_min    = watch minutes / viewers
-- Percentages are NULL when their denominator is 0. Same day rules as daily.sql; watch_s = exact seconds.
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the exact sums, and the viewers not yet counted to the counts; the channels
-- on which a user was counted are an array of viewer_channel_set, one row per user and date. The rounded figures
-- are derived from the exact ones. A date recomputed from fact_session has its rows and counted viewers cleared
-- first and every session reaching it as the delta (iptv.warehouse.loads).
-- The names and ratios of every channel of the date are derived again (the day's total and the universe change).
INSERT INTO {{ schema }}.mart_channel_daily
    (dt, channel_id, channel_name, watch_hours, sessions, viewers, reach_pct, share_pct, rating_pct, atv_min, watch_s)
SELECT CAST({{ dt }} AS DATE), c.channel_id, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, 0
FROM (SELECT DISTINCT channel_id FROM delta_day) c
WHERE NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_channel_daily m
                  WHERE m.dt = CAST({{ dt }} AS DATE) AND m.channel_id = c.channel_id);

-- Per user of the delta: the channels it watched (ascending) and those already counted (NULL: no row yet).
DROP TABLE IF EXISTS pg_temp.delta_channel_viewer;

CREATE TEMP TABLE delta_channel_viewer ON COMMIT DROP AS
SELECT d.user_id, d.channel_ids, v.channel_ids AS counted
FROM (
    SELECT user_id, ARRAY_AGG(DISTINCT channel_id ORDER BY channel_id) AS channel_ids FROM delta_day GROUP BY user_id
) d
LEFT JOIN {{ schema }}.viewer_channel_set v ON v.dt = CAST({{ dt }} AS DATE) AND v.user_id = d.user_id
/*@greenplum DISTRIBUTED BY (user_id) */;

UPDATE {{ schema }}.mart_channel_daily m
SET watch_s = m.watch_s + x.watch_s,
    sessions = m.sessions + x.sessions,
    viewers = m.viewers + COALESCE(n.new_viewers, 0)
FROM (
    SELECT channel_id, SUM(watch_s) AS watch_s, SUM(started) AS sessions FROM delta_day GROUP BY channel_id
) x
LEFT JOIN (
    SELECT c.channel_id, COUNT(*) AS new_viewers
    FROM (SELECT user_id, counted, UNNEST(channel_ids) AS channel_id FROM delta_channel_viewer) c
    WHERE c.counted IS NULL OR NOT c.channel_id = ANY(c.counted)
    GROUP BY c.channel_id
) n ON n.channel_id = x.channel_id
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.channel_id = x.channel_id;

UPDATE {{ schema }}.viewer_channel_set v
SET channel_ids = u.channel_ids
FROM (
    SELECT user_id, ARRAY_AGG(DISTINCT channel_id ORDER BY channel_id) AS channel_ids
    FROM (
        SELECT user_id, UNNEST(counted || channel_ids) AS channel_id
        FROM delta_channel_viewer
        WHERE NOT channel_ids <@ counted
    ) c
    GROUP BY user_id
) u
WHERE v.dt = CAST({{ dt }} AS DATE) AND v.user_id = u.user_id;

INSERT INTO {{ schema }}.viewer_channel_set (dt, user_id, channel_ids)
SELECT CAST({{ dt }} AS DATE), user_id, channel_ids
FROM delta_channel_viewer
WHERE counted IS NULL;

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
