-- mart_channel_daily for one date {{ dt }}: one row per channel with at least one viewer that day.
--   universe   = number of subscribers in dim_user
--   reach_pct  = viewers / universe * 100
--   share_pct  = the channel's watch time / all watch time of the day * 100
--   rating_pct = the channel's watch minutes / (universe * 1440) * 100
--   atv_min    = watch minutes / viewers
-- Percentages are NULL when their denominator is 0. Same day rules as daily.sql.
DELETE FROM {{ schema }}.mart_channel_daily WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_channel_daily
    (dt, channel_id, channel_name, watch_hours, sessions, viewers, reach_pct, share_pct, rating_pct, atv_min)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds,
           CAST({{ dt }} AS TIMESTAMP) + INTERVAL '1 day' AS de
), s AS (
    SELECT b.d, f.user_id, f.channel_id, f.dt,
           GREATEST(0, CAST(EXTRACT(EPOCH FROM (LEAST(f.time_end, b.de) - GREATEST(f.time_start, b.ds))) AS BIGINT))
               AS watch_s
    FROM {{ schema }}.fact_session f
    CROSS JOIN bounds b
    WHERE f.dt = b.d OR (f.dt < b.d AND f.time_end > b.ds)
), per_channel AS (
    SELECT d, channel_id,
           SUM(watch_s) AS watch_s,
           SUM(CASE WHEN dt = d THEN 1 ELSE 0 END) AS sessions,
           COUNT(DISTINCT user_id) AS viewers
    FROM s
    GROUP BY d, channel_id
), totals AS (
    SELECT SUM(watch_s) AS total_s FROM per_channel
), universe AS (
    SELECT COUNT(DISTINCT user_id) AS n FROM {{ schema }}.dim_user
)
SELECT p.d,
       p.channel_id,
       c.channel_name,
       ROUND(CAST(p.watch_s AS NUMERIC) / 3600, 6),
       p.sessions,
       p.viewers,
       ROUND(CAST(p.viewers AS NUMERIC) * 100 / NULLIF(u.n, 0), 6),
       ROUND(CAST(p.watch_s AS NUMERIC) * 100 / NULLIF(t.total_s, 0), 6),
       ROUND(CAST(p.watch_s AS NUMERIC) * 100 / NULLIF(CAST(u.n AS NUMERIC) * 86400, 0), 6),
       ROUND(CAST(p.watch_s AS NUMERIC) / NULLIF(CAST(p.viewers AS NUMERIC) * 60, 0), 6)
FROM per_channel p
CROSS JOIN totals t
CROSS JOIN universe u
LEFT JOIN {{ schema }}.dim_channel c ON c.channel_id = p.channel_id;
