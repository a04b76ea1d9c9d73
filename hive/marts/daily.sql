-- mart_daily of date {{ dt }}, the Hive twin of greenplum/marts/daily.sql, from the sessions of {{ dt }} and of
-- the dates from {{ min_dt }} (the earliest start date of a session that can still run into {{ dt }}) on. Same
-- definitions: watch time = overlap with the day, a session counts on its start date, a viewer
-- has a session starting on the day or overlapping it by more than 0 s. No row for a date without sessions.
-- Written with INSERT OVERWRITE into partition dt={{ dt }} of mart_daily (hive/marts/tables.sql).
INSERT OVERWRITE TABLE {{ database }}.mart_daily PARTITION (dt = {{ dt }})
SELECT CAST(watch_hours AS DECIMAL(18, 6)), CAST(sessions AS BIGINT), CAST(viewers AS BIGINT)
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
        SELECT day, user_id, dt,
               GREATEST(CAST(0 AS BIGINT), LEAST(end_s, ds + 86400) - GREATEST(start_s, ds)) AS watch_s
        FROM s
    )
    SELECT day AS dt,
           ROUND(CAST(SUM(watch_s) AS DECIMAL(20, 0)) / 3600, 6) AS watch_hours,
           SUM(CASE WHEN dt = day THEN 1 ELSE 0 END) AS sessions,
           COUNT(DISTINCT user_id) AS viewers
    FROM w
    GROUP BY day
) m
