-- Replace the fact rows of date %(dt)s by the valid staged rows (one row per session_id). Runs inside the
-- load transaction, after the affected dates have been read (iptv.warehouse.load_sessions).
-- A missing duration_s is derived from the timestamps.
DELETE FROM iptv_dw.fact_session WHERE dt = CAST(%(dt)s AS DATE);

INSERT INTO iptv_dw.fact_session (session_id, user_id, channel_id, time_start, time_end, duration_s, dt)
SELECT DISTINCT ON (session_id)
       session_id, user_id, channel_id, time_start, time_end,
       COALESCE(duration_s, CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT)),
       CAST(%(dt)s AS DATE)
FROM stg_session
WHERE session_id IS NOT NULL AND user_id IS NOT NULL AND channel_id IS NOT NULL
  AND time_start IS NOT NULL AND time_end IS NOT NULL
  AND CAST(time_start AS DATE) = CAST(%(dt)s AS DATE)
  AND time_end >= time_start
  AND (duration_s IS NULL OR duration_s >= 0)
ORDER BY session_id, time_start, time_end, user_id, channel_id;
