-- mart_duration_hist for one date {{ dt }}: sessions that start on the date by duration_s bucket. All eight
-- buckets are written (zero where empty) for every date that has any session (including a date reached only
-- by sessions from the day before). Buckets are [lower, next lower) in seconds.
DELETE FROM {{ schema }}.mart_duration_hist WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_duration_hist (dt, bucket_label, bucket_lower_s, sessions)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds
), buckets AS (
    SELECT * FROM (VALUES
        ('<1m', 0), ('1-5m', 60), ('5-15m', 300), ('15-30m', 900),
        ('30-60m', 1800), ('1-2h', 3600), ('2-4h', 7200), ('4h+', 14400)
    ) AS v (bucket_label, lower_s)
), day_exists AS (
    SELECT b.d
    FROM bounds b
    WHERE EXISTS (
        SELECT 1 FROM {{ schema }}.fact_session f
        WHERE f.dt = b.d OR (f.dt < b.d AND f.time_end > b.ds)
    )
), started AS (
    SELECT CASE
               WHEN f.duration_s < 60 THEN 0
               WHEN f.duration_s < 300 THEN 60
               WHEN f.duration_s < 900 THEN 300
               WHEN f.duration_s < 1800 THEN 900
               WHEN f.duration_s < 3600 THEN 1800
               WHEN f.duration_s < 7200 THEN 3600
               WHEN f.duration_s < 14400 THEN 7200
               ELSE 14400
           END AS lower_s,
           COUNT(*) AS n
    FROM {{ schema }}.fact_session f
    JOIN bounds b ON f.dt = b.d
    GROUP BY 1
)
SELECT d.d, k.bucket_label, k.lower_s, COALESCE(st.n, 0)
FROM day_exists d
CROSS JOIN buckets k
LEFT JOIN started st ON st.lower_s = k.lower_s;
