-- One row per (session, clock hour it starts in or overlaps by > 0 s), with the seconds watched in that hour.
CREATE TEMP TABLE slices AS
SELECT session_id, user_id, channel_id,
       CAST(time_start AS DATE) AS start_date,
       CAST(hs AS DATE) AS day,
       CAST(hour(hs) AS INTEGER) AS hour,
       greatest(0, date_diff('second', greatest(time_start, hs),
                             least(time_end, hs + INTERVAL 1 HOUR))) AS watch_s
FROM (
    SELECT *, unnest(range(date_trunc('hour', time_start),
                           greatest(time_end, time_start + INTERVAL 1 SECOND),
                           INTERVAL 1 HOUR)) AS hs
    FROM sess
)
