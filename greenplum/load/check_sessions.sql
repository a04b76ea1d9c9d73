-- The staged rows of the load by reject reason (NULL = valid, loads); see load/validate_sessions.sql.
SELECT reason, COUNT(*) FROM stg_session GROUP BY reason;
