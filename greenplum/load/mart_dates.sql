-- Every date the marts cover: dates with a session that starts on them or overlaps them by more than 0 s.
SELECT DISTINCT CAST(d AS DATE) AS dt
FROM (
    SELECT generate_series(CAST(dt AS TIMESTAMP),
                           CAST(CAST(GREATEST(time_start, time_end - INTERVAL '1 second') AS DATE) AS TIMESTAMP),
                           INTERVAL '1 day') AS d
    FROM {{ schema }}.fact_session
) x
ORDER BY 1;
