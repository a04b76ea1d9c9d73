-- Analyst views of database {{ database }} (run after create_tables.sql). Idempotent.
-- v_sessions adds start_s / end_s: wall-clock seconds since 1970-01-01 00:00 computed from the date and time
-- fields, so durations and overlaps do not depend on the session time zone (no DST gaps).
CREATE OR REPLACE VIEW {{ database }}.v_sessions AS
SELECT session_id,
       user_id,
       channel_id,
       time_start,
       time_end,
       duration_s,
       CAST(datediff(to_date(time_start), '1970-01-01') AS BIGINT) * 86400
           + hour(time_start) * 3600 + minute(time_start) * 60 + second(time_start) AS start_s,
       CAST(datediff(to_date(time_end), '1970-01-01') AS BIGINT) * 86400
           + hour(time_end) * 3600 + minute(time_end) * 60 + second(time_end) AS end_s,
       dt
FROM {{ database }}.sessions;

CREATE OR REPLACE VIEW {{ database }}.v_channels AS
SELECT CAST(channel_id AS BIGINT) AS channel_id,
       channel_name,
       CAST(watch_share_pct AS DECIMAL(9, 4)) AS watch_share_pct,
       CAST(viewer_share_pct AS DECIMAL(9, 4)) AS viewer_share_pct
FROM {{ database }}.channels;

CREATE OR REPLACE VIEW {{ database }}.v_users AS
SELECT CAST(user_id AS BIGINT) AS user_id,
       user_name
FROM {{ database }}.users;

CREATE OR REPLACE VIEW {{ database }}.v_quarantine AS
SELECT reason,
       session_id,
       CAST(arrival_ts AS TIMESTAMP) AS arrival_ts,
       detail,
       raw,
       dt
FROM {{ database }}.quarantine;

-- Sessions with channel and subscriber names, for ad-hoc analysis.
CREATE OR REPLACE VIEW {{ database }}.v_session_detail AS
SELECT s.session_id,
       s.dt,
       s.time_start,
       s.time_end,
       s.duration_s,
       s.user_id,
       u.user_name,
       s.channel_id,
       c.channel_name
FROM {{ database }}.sessions s
LEFT JOIN {{ database }}.v_users u ON u.user_id = s.user_id
LEFT JOIN {{ database }}.v_channels c ON c.channel_id = s.channel_id
