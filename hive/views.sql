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
LEFT JOIN {{ database }}.v_channels c ON c.channel_id = s.channel_id;

-- The programme guide, typed. The guide's table reads every column as STRING (OpenCSVSerde); a value that does not
-- have the form of its type becomes NULL (casts guarded by RLIKE, so a bad row cannot fail a query in Spark's
-- ANSI mode). start_s / end_s: wall-clock seconds since 1970-01-01 00:00, as in v_sessions. The guide is read as
-- it is: the warehouse's checks (overlaps, duplicates, unknown channels: docs/warehouse.md) are not applied here.
CREATE OR REPLACE VIEW {{ database }}.v_programmes AS
SELECT programme_id,
       channel_id,
       title,
       genre,
       series_id,
       episode,
       time_start,
       time_end,
       CAST(datediff(to_date(time_start), '1970-01-01') AS BIGINT) * 86400
           + hour(time_start) * 3600 + minute(time_start) * 60 + second(time_start) AS start_s,
       CAST(datediff(to_date(time_end), '1970-01-01') AS BIGINT) * 86400
           + hour(time_end) * 3600 + minute(time_end) * 60 + second(time_end) AS end_s,
       dt
FROM (
    SELECT NULLIF(trim(programme_id), '') AS programme_id,
           CASE WHEN trim(channel_id) RLIKE '^[0-9]{1,18}$' THEN CAST(trim(channel_id) AS BIGINT) END AS channel_id,
           title,
           trim(genre) AS genre,
           NULLIF(trim(series_id), '') AS series_id,
           CASE WHEN trim(episode) RLIKE '^[0-9]{1,18}$' THEN CAST(trim(episode) AS BIGINT) END AS episode,
           CASE WHEN trim(time_start) RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'
                THEN CAST(trim(time_start) AS TIMESTAMP) END AS time_start,
           CASE WHEN trim(time_end) RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'
                THEN CAST(trim(time_end) AS TIMESTAMP) END AS time_end,
           dt
    FROM {{ database }}.programmes
) g;

-- Programme audience: per programme of the guide (with a channel, a start and an end after it), the twin of
-- greenplum/marts/programme.sql without share_pct: watch_s = the overlap of the sessions of its channel with it
-- (sessions of its date and of the day before, which may run past midnight; sessions last under a day), viewers =
-- users who watched at least {{ reach_min_seconds }} s of it in total (config marts.reach_min_seconds) and more than
-- 0 s, universe = subscribers of the users catalog; amr = watch minutes / length in minutes, rating_pct = amr /
-- universe * 100, reach_pct = viewers / universe * 100, atv_min = watch minutes / viewers. A programme nobody
-- watched has zeros; a ratio with a non-zero numerator and a zero denominator is NULL. Equi-joins only (on the
-- channel and the session's date), the overlap condition in WHERE.
CREATE OR REPLACE VIEW {{ database }}.v_programme_audience AS
SELECT dt,
       programme_id,
       channel_id,
       title,
       genre,
       series_id,
       episode,
       time_start,
       time_end,
       watch_s,
       ROUND(CAST(watch_s AS DECIMAL(20, 0)) / 60, 6) AS watch_minutes,
       viewers,
       CASE WHEN viewers = 0 THEN CAST(0 AS DECIMAL(18, 6))
            WHEN universe > 0 THEN ROUND(CAST(viewers AS DECIMAL(20, 0)) * 100 / universe, 6) END AS reach_pct,
       CASE WHEN watch_s = 0 THEN CAST(0 AS DECIMAL(18, 6))
            ELSE ROUND(CAST(watch_s AS DECIMAL(20, 0)) / length_s, 6) END AS amr,
       CASE WHEN watch_s = 0 THEN CAST(0 AS DECIMAL(18, 6))
            WHEN universe > 0 THEN ROUND(CAST(watch_s AS DECIMAL(20, 0)) * 100 / (length_s * universe), 6)
       END AS rating_pct,
       CASE WHEN watch_s = 0 THEN CAST(0 AS DECIMAL(18, 6))
            WHEN viewers > 0 THEN ROUND(CAST(watch_s AS DECIMAL(20, 0)) / (viewers * 60), 6) END AS atv_min
FROM (
    SELECT p.dt, p.programme_id, p.channel_id, p.title, p.genre, p.series_id, p.episode, p.time_start, p.time_end,
           p.end_s - p.start_s AS length_s,
           COALESCE(a.watch_s, CAST(0 AS BIGINT)) AS watch_s,
           COALESCE(a.viewers, CAST(0 AS BIGINT)) AS viewers,
           u.n AS universe
    FROM {{ database }}.v_programmes p
    LEFT JOIN (
        -- per programme: watch seconds and viewers over the per-user totals
        SELECT dt, programme_id,
               SUM(watch_s) AS watch_s,
               SUM(CASE WHEN watch_s >= {{ reach_min_seconds }} THEN 1 ELSE 0 END) AS viewers
        FROM (
            SELECT dt, programme_id, user_id, SUM(watch_s) AS watch_s
            FROM (
                SELECT p1.dt, p1.programme_id, s.user_id,
                       LEAST(s.end_s, p1.end_s) - GREATEST(s.start_s, p1.start_s) AS watch_s
                FROM {{ database }}.v_programmes p1
                JOIN {{ database }}.v_sessions s ON s.channel_id = p1.channel_id AND s.dt = p1.dt
                WHERE s.start_s < p1.end_s AND s.end_s > p1.start_s
                UNION ALL
                SELECT p2.dt, p2.programme_id, s.user_id,
                       LEAST(s.end_s, p2.end_s) - GREATEST(s.start_s, p2.start_s) AS watch_s
                FROM {{ database }}.v_programmes p2
                JOIN {{ database }}.v_sessions s
                    ON s.channel_id = p2.channel_id AND s.dt = CAST(date_sub(p2.dt, 1) AS STRING)
                WHERE s.start_s < p2.end_s AND s.end_s > p2.start_s
            ) o
            GROUP BY dt, programme_id, user_id
        ) pu
        GROUP BY dt, programme_id
    ) a ON a.dt = p.dt AND a.programme_id = p.programme_id
    CROSS JOIN (SELECT COUNT(DISTINCT user_id) AS n FROM {{ database }}.v_users) u
    WHERE p.programme_id IS NOT NULL AND p.channel_id IS NOT NULL AND p.start_s IS NOT NULL AND p.end_s > p.start_s
) f
