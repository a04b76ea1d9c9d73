-- Every session of fact_session that reaches date {{ dt }} (starts on it, or starts before and ends after its
-- midnight) as the delta of a recompute of the date (marts/delta_session.sql).
DELETE FROM delta_session;

INSERT INTO delta_session (user_id, channel_id, time_start, time_end, duration_s, dt)
SELECT f.user_id, f.channel_id, f.time_start, f.time_end, f.duration_s, f.dt
FROM {{ schema }}.fact_session f
WHERE f.dt = CAST({{ dt }} AS DATE)
      OR (f.dt < CAST({{ dt }} AS DATE) AND f.time_end > CAST({{ dt }} AS TIMESTAMP));
