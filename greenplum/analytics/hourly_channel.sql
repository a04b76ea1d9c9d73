-- Distinct viewers per channel and clock hour over the {{ days }} dates up to {{ until }}, counted as in
-- marts/hourly.sql: a session is in every hour it overlaps by more than 0 s and in the hour it starts in (so a
-- zero-length session counts once). Hours without a viewer of a channel have no row.
SELECT CAST(h.hs AS DATE) AS dt,
       CAST(EXTRACT(HOUR FROM h.hs) AS INTEGER) AS hour,
       h.channel_id,
       COUNT(DISTINCT h.user_id) AS viewers
FROM (
    SELECT f.user_id,
           f.channel_id,
           generate_series(
               date_trunc('hour', f.time_start),
               GREATEST(date_trunc('hour', f.time_start), date_trunc('hour', f.time_end - INTERVAL '1 microsecond')),
               INTERVAL '1 hour'
           ) AS hs
    FROM {{ schema }}.fact_session f
    -- Sessions last under 6 h, so those of the day before are the only others reaching into the window.
    WHERE f.dt >= CAST({{ until }} AS DATE) - {{ days }} AND f.dt <= CAST({{ until }} AS DATE)
) h
WHERE CAST(h.hs AS DATE) > CAST({{ until }} AS DATE) - {{ days }} AND CAST(h.hs AS DATE) <= CAST({{ until }} AS DATE)
GROUP BY CAST(h.hs AS DATE), CAST(EXTRACT(HOUR FROM h.hs) AS INTEGER), h.channel_id
ORDER BY dt, hour, h.channel_id
