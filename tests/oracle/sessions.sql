-- The sessions the warehouse keeps: rows ending before they start are dropped, one row per session_id.
CREATE TEMP TABLE sess AS
SELECT * FROM raw_sess
WHERE time_end >= time_start
QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY time_start, time_end, user_id, channel_id) = 1
