-- mart_programme for one date {{ dt }}: one row per programme of the date in dim_programme (the accepted guide),
-- zeros when nobody watched it. No row for a date without a guide.
--   watch time    of a programme = the sum over the sessions of its channel of the overlap of the session's
--                 [time_start, time_end) with the programme's [time_start, time_end), in whole seconds (sessions
--                 of the day before that run past midnight count toward the programmes they overlap);
--                 watch_minutes = watch time / 60
--   viewers       = distinct users whose sessions overlap the programme for at least {{ reach_min_seconds }} s in
--                 total (config marts.reach_min_seconds), and more than 0 s
--   universe      = number of subscribers in dim_user
--   reach_pct     = viewers / universe * 100
--   amr           = watch minutes / the programme's length in minutes (average minute audience)
--   rating_pct    = amr / universe * 100
--   share_pct     = watch time / the watch time of all sessions of all channels during the programme's interval
--                 * 100
--   atv_min       = watch minutes / viewers
-- A ratio whose numerator is 0 is 0 (so a programme nobody watched has a row of zeros); a ratio with a non-zero
-- numerator and a zero denominator (watch time but no viewer, no universe) is NULL. Ratios are rounded to 6
-- decimals from the integer seconds and counts, never from each other.
-- Method: the sessions and the programmes are cut into clock hours (seconds since the date's midnight) and
-- joined on (channel, hour), so the overlap join is an equi-join; the all-channel watch time of an interval
-- [a, b) is W(b) - W(a), where W(t) = the watch seconds of all sessions in [00:00, t) is computed at every
-- programme boundary t from running sums over the session starts and ends: W(t) = (sum of the ends <= t)
-- + t * (number of starts < t - number of ends <= t) - (sum of the starts < t).
DELETE FROM {{ schema }}.mart_programme WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_programme
    (dt, programme_id, channel_id, title, genre, series_id, time_start, time_end, viewers, reach_pct, amr,
     rating_pct, share_pct, atv_min, watch_minutes)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds
), prog AS (
    SELECT p.programme_id, p.channel_id, p.title, p.genre, p.series_id, p.time_start, p.time_end,
           CAST(EXTRACT(EPOCH FROM (p.time_start - b.ds)) AS BIGINT) AS ps,
           CAST(EXTRACT(EPOCH FROM (p.time_end - b.ds)) AS BIGINT) AS pe
    FROM {{ schema }}.dim_programme p
    CROSS JOIN bounds b
    WHERE p.dt = b.d
), sess AS (
    -- The sessions that reach the date, in seconds since its midnight, cut to the day; empty ones give nothing.
    SELECT user_id, channel_id, GREATEST(ss, 0) AS ss, LEAST(se, 86400) AS se
    FROM (
        SELECT f.user_id, f.channel_id,
               CAST(EXTRACT(EPOCH FROM (f.time_start - b.ds)) AS BIGINT) AS ss,
               CAST(EXTRACT(EPOCH FROM (f.time_end - b.ds)) AS BIGINT) AS se
        FROM {{ schema }}.fact_session f
        CROSS JOIN bounds b
        WHERE f.dt = b.d OR (f.dt < b.d AND f.time_end > b.ds)
    ) x
    WHERE se > ss AND se > 0 AND ss < 86400 AND EXISTS (SELECT 1 FROM prog)
), slices AS (
    SELECT user_id, channel_id, h AS hour, GREATEST(ss, h * 3600) AS ss, LEAST(se, (h + 1) * 3600) AS se
    FROM (SELECT s.*, generate_series(s.ss / 3600, (s.se - 1) / 3600) AS h FROM sess s) x
), prog_slices AS (
    SELECT programme_id, channel_id, h AS hour, GREATEST(ps, h * 3600) AS ps, LEAST(pe, (h + 1) * 3600) AS pe
    FROM (SELECT p.programme_id, p.channel_id, p.ps, p.pe, generate_series(p.ps / 3600, (p.pe - 1) / 3600) AS h
          FROM prog p) x
), per_user AS (
    SELECT ps.programme_id, sl.user_id, SUM(LEAST(sl.se, ps.pe) - GREATEST(sl.ss, ps.ps)) AS watch_s
    FROM prog_slices ps
    JOIN slices sl ON sl.channel_id = ps.channel_id AND sl.hour = ps.hour
    WHERE sl.ss < ps.pe AND sl.se > ps.ps
    GROUP BY ps.programme_id, sl.user_id
), per_prog AS (
    SELECT programme_id,
           SUM(watch_s) AS watch_s,
           SUM(CASE WHEN watch_s >= {{ reach_min_seconds }} THEN 1 ELSE 0 END) AS viewers
    FROM per_user
    GROUP BY programme_id
), marks AS (
    SELECT ps AS t FROM prog
    UNION
    SELECT pe FROM prog
), events AS (
    SELECT t, SUM(n_start) AS n_start, SUM(n_end) AS n_end
    FROM (
        SELECT ss AS t, 1 AS n_start, 0 AS n_end FROM sess
        UNION ALL
        SELECT se, 0, 1 FROM sess
        UNION ALL
        SELECT t, 0, 0 FROM marks
    ) e
    GROUP BY t
), running AS (
    SELECT t, n_start,
           SUM(n_start) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS starts_le,
           SUM(n_start * t) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS start_sum_le,
           SUM(n_end) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS ends_le,
           SUM(n_end * t) OVER (ORDER BY t ROWS UNBOUNDED PRECEDING) AS end_sum_le
    FROM events
), watched_before AS (
    SELECT r.t,
           r.end_sum_le + r.t * (r.starts_le - r.n_start - r.ends_le) - (r.start_sum_le - r.n_start * r.t) AS w
    FROM running r
    JOIN marks m ON m.t = r.t
), universe AS (
    SELECT COUNT(DISTINCT user_id) AS n FROM {{ schema }}.dim_user
), figures AS (
    SELECT p.programme_id, p.channel_id, p.title, p.genre, p.series_id, p.time_start, p.time_end,
           p.pe - p.ps AS length_s,
           COALESCE(pp.watch_s, 0) AS watch_s,
           COALESCE(pp.viewers, 0) AS viewers,
           COALESCE(we.w - ws.w, 0) AS all_watch_s
    FROM prog p
    LEFT JOIN per_prog pp ON pp.programme_id = p.programme_id
    LEFT JOIN watched_before ws ON ws.t = p.ps
    LEFT JOIN watched_before we ON we.t = p.pe
)
SELECT b.d, f.programme_id, f.channel_id, f.title, f.genre, f.series_id, f.time_start, f.time_end,
       f.viewers,
       CASE WHEN f.viewers = 0 THEN 0
            ELSE ROUND(CAST(f.viewers AS NUMERIC) * 100 / NULLIF(u.n, 0), 6) END,
       CASE WHEN f.watch_s = 0 THEN 0
            ELSE ROUND(CAST(f.watch_s AS NUMERIC) / f.length_s, 6) END,
       CASE WHEN f.watch_s = 0 THEN 0
            ELSE ROUND(CAST(f.watch_s AS NUMERIC) * 100 / NULLIF(CAST(f.length_s AS NUMERIC) * u.n, 0), 6) END,
       CASE WHEN f.watch_s = 0 THEN 0
            ELSE ROUND(CAST(f.watch_s AS NUMERIC) * 100 / NULLIF(f.all_watch_s, 0), 6) END,
       CASE WHEN f.watch_s = 0 THEN 0
            ELSE ROUND(CAST(f.watch_s AS NUMERIC) / NULLIF(CAST(f.viewers AS NUMERIC) * 60, 0), 6) END,
       ROUND(CAST(f.watch_s AS NUMERIC) / 60, 6)
FROM figures f
CROSS JOIN bounds b
CROSS JOIN universe u;
