-- mart_duration_hist of date {{ dt }}, the Hive twin of greenplum/marts/duration_hist.sql:
-- sessions starting on {{ dt }} by duration_s bucket, all eight buckets for a date with any session.
-- Written with INSERT OVERWRITE into partition dt={{ dt }} of mart_duration_hist (hive/marts/tables.sql).
INSERT OVERWRITE TABLE {{ database }}.mart_duration_hist PARTITION (dt = {{ dt }})
SELECT bucket_label, CAST(bucket_lower_s AS INT), CAST(sessions AS BIGINT)
FROM (
    WITH s AS (
        -- Sessions that start on {{ dt }} or run into it from an earlier date (at most {{ min_dt }}).
        SELECT {{ dt }} AS day,
               user_id, channel_id, duration_s, start_s, end_s, dt,
               CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400 AS ds
        FROM {{ sessions }}
        WHERE dt >= {{ min_dt }} AND dt <= {{ dt }}
          AND (dt = {{ dt }} OR end_s > CAST(datediff({{ dt }}, '1970-01-01') AS BIGINT) * 86400)
    ), days AS (
        SELECT day FROM s GROUP BY day
    ), buckets AS (
        SELECT {{ dt }} AS day, '<1m' AS bucket_label, 0 AS bucket_lower_s
        UNION ALL SELECT {{ dt }}, '1-5m', 60
        UNION ALL SELECT {{ dt }}, '5-15m', 300
        UNION ALL SELECT {{ dt }}, '15-30m', 900
        UNION ALL SELECT {{ dt }}, '30-60m', 1800
        UNION ALL SELECT {{ dt }}, '1-2h', 3600
        UNION ALL SELECT {{ dt }}, '2-4h', 7200
        UNION ALL SELECT {{ dt }}, '4h+', 14400
    ), bucketed AS (
        SELECT CASE
                   WHEN duration_s < 60 THEN 0
                   WHEN duration_s < 300 THEN 60
                   WHEN duration_s < 900 THEN 300
                   WHEN duration_s < 1800 THEN 900
                   WHEN duration_s < 3600 THEN 1800
                   WHEN duration_s < 7200 THEN 3600
                   WHEN duration_s < 14400 THEN 7200
                   ELSE 14400
               END AS lower_s
        FROM s
        WHERE dt = {{ dt }}
    ), started AS (
        SELECT lower_s, COUNT(*) AS n FROM bucketed GROUP BY lower_s
    )
    SELECT d.day AS dt,
           b.bucket_label,
           b.bucket_lower_s,
           COALESCE(st.n, 0) AS sessions
    FROM days d
    JOIN buckets b ON b.day = d.day
    LEFT JOIN started st ON st.lower_s = b.bucket_lower_s
    ORDER BY b.bucket_lower_s
) m
