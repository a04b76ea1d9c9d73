-- mart_duration_hist for one date {{ dt }}: sessions that start on the date by duration_s bucket. All eight
-- buckets are written (zero where empty) for every date that has any session (including a date reached only
-- by sessions from the day before). Buckets are [lower, next lower) in seconds.
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql, the part of delta_session
-- that reaches the date) are added to the counts. A date recomputed from fact_session has its rows cleared first
-- and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_duration_hist (dt, bucket_label, bucket_lower_s, sessions)
SELECT CAST({{ dt }} AS DATE), k.bucket_label, k.lower_s, 0
FROM (VALUES
    ('<1m', 0), ('1-5m', 60), ('5-15m', 300), ('15-30m', 900),
    ('30-60m', 1800), ('1-2h', 3600), ('2-4h', 7200), ('4h+', 14400)
) AS k (bucket_label, lower_s)
WHERE EXISTS (SELECT 1 FROM delta_day)
      AND NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_duration_hist WHERE dt = CAST({{ dt }} AS DATE));

UPDATE {{ schema }}.mart_duration_hist m
SET sessions = m.sessions + x.n
FROM (
    SELECT CASE
               WHEN duration_s < 60 THEN 0
               WHEN duration_s < 300 THEN 60
               WHEN duration_s < 900 THEN 300
               WHEN duration_s < 1800 THEN 900
               WHEN duration_s < 3600 THEN 1800
               WHEN duration_s < 7200 THEN 3600
               WHEN duration_s < 14400 THEN 7200
               ELSE 14400
           END AS lower_s,
           COUNT(*) AS n
    FROM delta_day
    WHERE started = 1
    GROUP BY 1
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.bucket_lower_s = x.lower_s;
