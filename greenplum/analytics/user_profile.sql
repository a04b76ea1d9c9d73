-- Per subscriber over the {{ days }} dates up to {{ until }}: watch seconds by ISO weekday (1 = Monday) and hour
-- of the session start, and by the genre on air then on the channel ('unknown' without a guide): the viewing
-- profiles of analytics/segments.py.
SELECT f.user_id,
       CAST(EXTRACT(ISODOW FROM f.time_start) AS INTEGER) AS weekday,
       CAST(EXTRACT(HOUR FROM f.time_start) AS INTEGER) AS hour,
       COALESCE(p.genre, 'unknown') AS genre,
       SUM(f.duration_s) AS watch_s
FROM {{ schema }}.fact_session f
LEFT JOIN {{ schema }}.dim_programme p
    ON p.dt = f.dt AND p.channel_id = f.channel_id AND f.time_start >= p.time_start AND f.time_start < p.time_end
WHERE f.dt > CAST({{ until }} AS DATE) - {{ days }} AND f.dt <= CAST({{ until }} AS DATE)
GROUP BY f.user_id,
         CAST(EXTRACT(ISODOW FROM f.time_start) AS INTEGER),
         CAST(EXTRACT(HOUR FROM f.time_start) AS INTEGER),
         COALESCE(p.genre, 'unknown')
