-- Replace the fact rows of date {{ dt }} by the valid staged rows (load/validate_sessions.sql: one row per
-- session_id). Runs inside the load transaction, after the affected dates have been read
-- (iptv.warehouse.load_sessions). A missing duration_s is derived from the timestamps.
DELETE FROM {{ schema }}.fact_session WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.fact_session (session_id, user_id, channel_id, time_start, time_end, duration_s, dt)
SELECT session_id, user_id, channel_id, time_start, time_end,
       COALESCE(duration_s, CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT)),
       CAST({{ dt }} AS DATE)
FROM stg_session
WHERE reason IS NULL;
