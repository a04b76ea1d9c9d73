-- The valid staged sessions of a load that appends (load/validate_sessions.sql) as the delta its marts add
-- (marts/delta_session.sql), after load/insert_sessions.sql wrote them into fact_session (of date {{ dt }}).
INSERT INTO delta_session (user_id, channel_id, time_start, time_end, duration_s, dt)
SELECT user_id, channel_id, time_start, time_end,
       COALESCE(duration_s, CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT)),
       CAST({{ dt }} AS DATE)
FROM stg_session
WHERE reason IS NULL;
