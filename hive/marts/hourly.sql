-- mart_hourly of date {{ dt }}, the Hive twin of greenplum/marts/hourly.sql: all 24 hours of a
-- date with any session. Each session is cut into the hours of the day it touches (the start hour always,
-- later hours only while it overlaps them by more than 0 s), with equi-joins only.
-- Written with INSERT OVERWRITE into partition dt={{ dt }} of mart_hourly (hive/marts/tables.sql).
INSERT OVERWRITE TABLE {{ database }}.mart_hourly PARTITION (dt = {{ dt }})
SELECT CAST(hour AS BIGINT), CAST(viewers AS BIGINT), CAST(watch_minutes AS DECIMAL(18, 6))
FROM (
    WITH s AS (
        -- Sessions that start on {{ dt }} or run into it from an earlier date (at most {{ min_dt }}).
        SELECT {{ dt }} AS day,
               user_id, channel_id, duration_s, start_s, end_s, dt,
               CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400 AS ds
        FROM {{ sessions }}
        WHERE dt >= {{ min_dt }} AND dt <= {{ dt }}
          AND (dt = {{ dt }} OR end_s > CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400)
    ), sl AS (
        SELECT day, user_id, start_s, end_s, ds,
               CASE WHEN start_s < ds THEN CAST(0 AS BIGINT) ELSE (start_s - ds) DIV 3600 END AS first_h,
               CASE WHEN end_s > start_s AND end_s > ds THEN (LEAST(end_s, ds + 86400) - 1 - ds) DIV 3600
                    ELSE (start_s - ds) DIV 3600 END AS last_h
        FROM s
    ), slices AS (
        SELECT sl.day, sl.user_id, sl.first_h + p.pos AS hour,
               GREATEST(CAST(0 AS BIGINT),
                        LEAST(sl.end_s, sl.ds + (sl.first_h + p.pos + 1) * 3600)
                        - GREATEST(sl.start_s, sl.ds + (sl.first_h + p.pos) * 3600)) AS watch_s
        FROM sl
        LATERAL VIEW posexplode(split(space(CAST(sl.last_h - sl.first_h AS INT)), ' ')) p AS pos, val
    ), per_hour AS (
        SELECT day, hour, COUNT(DISTINCT user_id) AS viewers, SUM(watch_s) AS watch_s
        FROM slices
        GROUP BY day, hour
    ), days AS (
        SELECT day FROM s GROUP BY day
    ), hours AS (
        SELECT d.day, CAST(p.pos AS BIGINT) AS hour
        FROM days d
        LATERAL VIEW posexplode(split(space(23), ' ')) p AS pos, val
    )
    SELECT h.day AS dt,
           h.hour,
           COALESCE(ph.viewers, 0) AS viewers,
           ROUND(CAST(COALESCE(ph.watch_s, 0) AS DECIMAL(20, 0)) / 60, 6) AS watch_minutes
    FROM hours h
    LEFT JOIN per_hour ph ON ph.day = h.day AND ph.hour = h.hour
    ORDER BY h.hour
) m
