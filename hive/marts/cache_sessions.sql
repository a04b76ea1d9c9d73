-- The sessions the marts of dates {{ first_dt }} to {{ last_dt }} read, parsed from the lake's CSV files once for all
-- of them instead of once per mart and date, and kept in Spark's cache (in memory, spilling to local disk) as the
-- temporary view {{ sessions }} of this connection: every session of those dates, and of {{ min_dt }} (the day
-- before) those that run into {{ first_dt }}. The mart files read it in place of v_sessions (same columns and
-- values); hive/marts/uncache_sessions.sql frees it.
CACHE TABLE {{ sessions }} OPTIONS ('storageLevel' 'MEMORY_AND_DISK') AS
SELECT user_id, channel_id, duration_s, start_s, end_s, dt
FROM {{ database }}.v_sessions
WHERE dt >= {{ min_dt }} AND dt <= {{ last_dt }}
  AND (dt >= {{ first_dt }} OR end_s > CAST(datediff({{ first_dt }}, '1970-01-01') AS BIGINT) * 86400)
