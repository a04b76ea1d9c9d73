-- mart_channel_daily of date {{ dt }}, the Hive twin of greenplum/marts/channel_daily.sql:
-- one row per channel with a viewer that day. universe = number of subscribers in the users catalog.
-- Written with INSERT OVERWRITE into partition dt={{ dt }} of mart_channel_daily (hive/marts/tables.sql).
INSERT OVERWRITE TABLE {{ database }}.mart_channel_daily PARTITION (dt = {{ dt }})
SELECT CAST(channel_id AS BIGINT), channel_name,
       CAST(watch_hours AS DECIMAL(18, 6)), CAST(sessions AS BIGINT), CAST(viewers AS BIGINT),
       CAST(reach_pct AS DECIMAL(18, 6)), CAST(share_pct AS DECIMAL(18, 6)),
       CAST(rating_pct AS DECIMAL(18, 6)), CAST(atv_min AS DECIMAL(18, 6))
FROM (
    WITH s AS (
        -- Sessions that start on {{ dt }} or run into it from an earlier date (at most {{ min_dt }}).
        SELECT {{ dt }} AS day,
               user_id, channel_id, duration_s, start_s, end_s, dt,
               CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400 AS ds
        FROM {{ sessions }}
        WHERE dt >= {{ min_dt }} AND dt <= {{ dt }}
          AND (dt = {{ dt }} OR end_s > CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400)
    ), w AS (
        SELECT day, user_id, channel_id, dt,
               GREATEST(CAST(0 AS BIGINT), LEAST(end_s, ds + 86400) - GREATEST(start_s, ds)) AS watch_s
        FROM s
    ), pc AS (
        SELECT day, channel_id,
               SUM(watch_s) AS watch_s,
               SUM(CASE WHEN dt = day THEN 1 ELSE 0 END) AS sessions,
               COUNT(DISTINCT user_id) AS viewers
        FROM w
        GROUP BY day, channel_id
    ), tot AS (
        SELECT day, SUM(watch_s) AS total_s FROM pc GROUP BY day
    ), uni AS (
        SELECT {{ dt }} AS day, COUNT(DISTINCT user_id) AS n FROM {{ database }}.v_users
    )
    SELECT pc.day AS dt,
           pc.channel_id,
           c.channel_name,
           ROUND(CAST(pc.watch_s AS DECIMAL(20, 0)) / 3600, 6) AS watch_hours,
           pc.sessions,
           pc.viewers,
           CASE WHEN uni.n > 0 THEN ROUND(CAST(pc.viewers AS DECIMAL(20, 0)) * 100 / uni.n, 6) END AS reach_pct,
           CASE WHEN tot.total_s > 0 THEN ROUND(CAST(pc.watch_s AS DECIMAL(20, 0)) * 100 / tot.total_s, 6) END
               AS share_pct,
           CASE WHEN uni.n > 0 THEN ROUND(CAST(pc.watch_s AS DECIMAL(20, 0)) * 100 / (uni.n * 86400), 6) END
               AS rating_pct,
           CASE WHEN pc.viewers > 0 THEN ROUND(CAST(pc.watch_s AS DECIMAL(20, 0)) / (pc.viewers * 60), 6) END AS atv_min
    FROM pc
    JOIN tot ON tot.day = pc.day
    JOIN uni ON uni.day = pc.day
    LEFT JOIN {{ database }}.v_channels c ON c.channel_id = pc.channel_id
    ORDER BY pc.channel_id
) m
