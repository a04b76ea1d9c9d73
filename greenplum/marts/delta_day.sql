-- What the sessions of delta_session bring to date {{ dt }}, read by every marts/<mart>.sql of the date (temp
-- tables, dropped at commit; rebuilt for each date):
--   delta_day             the sessions that reach the date (start on it, or start before and end after its
--                         midnight): started = 1 if it starts on the date (a view counts on its start date),
--                         ss/se = start and end in seconds since the date's midnight (not cut), watch_s = their
--                         overlap with the date in whole seconds
--   delta_slice           those sessions cut into the clock hours they reach: a session counts in the hour it
--                         starts in (even with no length) and every hour it overlaps by more than 0 s; ss/se cut
--                         to the hour, watch_s = se - ss
--   programme_slice       the programmes of the date's guide (dim_programme) cut into clock hours, ps/pe in
--                         seconds since midnight
--   delta_programme_watch the seconds each user watched of each programme in each hour (the sessions' slices of
--                         the programme's channel and hour overlapping the programme by more than 0 s)
-- Cutting both into clock hours makes the overlap join an equi-join on (channel, hour).
DROP TABLE IF EXISTS pg_temp.delta_day;

CREATE TEMP TABLE delta_day ON COMMIT DROP AS
SELECT user_id, channel_id, dt, duration_s, ss, se,
       CASE WHEN dt = CAST({{ dt }} AS DATE) THEN 1 ELSE 0 END AS started,
       GREATEST(0, LEAST(se, 86400) - GREATEST(ss, 0)) AS watch_s
FROM (
    SELECT s.user_id, s.channel_id, s.dt, s.duration_s,
           CAST(EXTRACT(EPOCH FROM (s.time_start - CAST({{ dt }} AS TIMESTAMP))) AS BIGINT) AS ss,
           CAST(EXTRACT(EPOCH FROM (s.time_end - CAST({{ dt }} AS TIMESTAMP))) AS BIGINT) AS se
    FROM delta_session s
    WHERE s.dt = CAST({{ dt }} AS DATE)
          OR (s.dt < CAST({{ dt }} AS DATE) AND s.time_end > CAST({{ dt }} AS TIMESTAMP))
) x
/*@greenplum DISTRIBUTED RANDOMLY */;

DROP TABLE IF EXISTS pg_temp.delta_slice;

CREATE TEMP TABLE delta_slice ON COMMIT DROP AS
SELECT user_id, channel_id, hour, ss, se, se - ss AS watch_s
FROM (
    SELECT user_id, channel_id, h AS hour, GREATEST(ss, h * 3600) AS ss, GREATEST(GREATEST(ss, h * 3600),
                                                                               LEAST(se, (h + 1) * 3600)) AS se
    FROM (
        SELECT d.user_id, d.channel_id, d.ss, d.se,
               generate_series(GREATEST(d.ss, 0) / 3600,
                               GREATEST(GREATEST(d.ss, 0) / 3600, (LEAST(d.se, 86400) - 1) / 3600)) AS h
        FROM delta_day d
    ) x
) y
/*@greenplum DISTRIBUTED RANDOMLY */;

DROP TABLE IF EXISTS pg_temp.programme_slice;

CREATE TEMP TABLE programme_slice ON COMMIT DROP AS
SELECT programme_id, channel_id, genre, h AS hour, GREATEST(ps, h * 3600) AS ps, LEAST(pe, (h + 1) * 3600) AS pe
FROM (
    SELECT programme_id, channel_id, genre, ps, pe, generate_series(ps / 3600, (pe - 1) / 3600) AS h
    FROM (
        SELECT p.programme_id, p.channel_id, p.genre,
               CAST(EXTRACT(EPOCH FROM (p.time_start - CAST({{ dt }} AS TIMESTAMP))) AS BIGINT) AS ps,
               CAST(EXTRACT(EPOCH FROM (p.time_end - CAST({{ dt }} AS TIMESTAMP))) AS BIGINT) AS pe
        FROM {{ schema }}.dim_programme p
        WHERE p.dt = CAST({{ dt }} AS DATE)
    ) p
) x
/*@greenplum DISTRIBUTED RANDOMLY */;

DROP TABLE IF EXISTS pg_temp.delta_programme_watch;

CREATE TEMP TABLE delta_programme_watch ON COMMIT DROP AS
SELECT ps.programme_id, ps.genre, ps.hour, sl.user_id,
       SUM(LEAST(sl.se, ps.pe) - GREATEST(sl.ss, ps.ps)) AS watch_s
FROM programme_slice ps
JOIN delta_slice sl ON sl.channel_id = ps.channel_id AND sl.hour = ps.hour
WHERE sl.ss < ps.pe AND sl.se > ps.ps AND sl.se > sl.ss
GROUP BY ps.programme_id, ps.genre, ps.hour, sl.user_id
/*@greenplum DISTRIBUTED RANDOMLY */;
