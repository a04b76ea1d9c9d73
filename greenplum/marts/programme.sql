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
-- watch_s = exact watch seconds, all_watch_s = share_pct's denominator in seconds.
-- Method: the sessions and the programmes are cut into clock hours (seconds since the date's midnight) and
-- joined on (channel, hour), so the overlap join is an equi-join; the all-channel watch time of an interval
-- [a, b) is W(b) - W(a), where W(t) = the watch seconds of all sessions in [00:00, t) is computed at every
-- programme boundary t from running sums over the session starts and ends: W(t) = (sum of the ends <= t)
-- + t * (number of starts < t - number of ends <= t) - (sum of the starts < t).
-- Kept up to date, not recomputed: the sessions a load adds (marts/delta_day.sql: delta_programme_watch, the
-- seconds each user watched of each programme) are added to the exact sums and to each user's seconds of the
-- programme (watch_programme_user), a viewer counted when that total crosses the threshold; the all-channel
-- watch time of the programme's interval grows by W(b) - W(a) of the added sessions alone; the ratios are derived
-- from the exact figures. A date recomputed from fact_session (also after its guide changed) has its rows and
-- users' seconds cleared first and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_programme
    (dt, programme_id, channel_id, title, genre, series_id, time_start, time_end, viewers, reach_pct, amr,
     rating_pct, share_pct, atv_min, watch_minutes, watch_s, all_watch_s)
SELECT p.dt, p.programme_id, p.channel_id, p.title, p.genre, p.series_id, p.time_start, p.time_end,
       0, 0, 0, 0, 0, 0, 0, 0, 0
FROM {{ schema }}.dim_programme p
WHERE p.dt = CAST({{ dt }} AS DATE)
      AND NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_programme m
                      WHERE m.dt = p.dt AND m.programme_id = p.programme_id);

-- A viewer is a user whose seconds of the programme are at least the threshold (and more than 0): counted once,
-- when the delta takes the user's total from below it to it.
UPDATE {{ schema }}.mart_programme m
SET watch_s = m.watch_s + x.watch_s,
    viewers = m.viewers + x.new_viewers
FROM (
    SELECT pu.programme_id,
           SUM(pu.watch_s) AS watch_s,
           SUM(CASE WHEN COALESCE(w.watch_s, 0) + pu.watch_s >= {{ reach_min_seconds }}
                         AND NOT (COALESCE(w.watch_s, 0) > 0 AND COALESCE(w.watch_s, 0) >= {{ reach_min_seconds }})
                    THEN 1 ELSE 0 END) AS new_viewers
    FROM (SELECT programme_id, user_id, SUM(watch_s) AS watch_s
          FROM delta_programme_watch
          GROUP BY programme_id, user_id) pu
    LEFT JOIN {{ schema }}.watch_programme_user w
        ON w.dt = CAST({{ dt }} AS DATE) AND w.programme_id = pu.programme_id AND w.user_id = pu.user_id
    GROUP BY pu.programme_id
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.programme_id = x.programme_id;

UPDATE {{ schema }}.watch_programme_user w
SET watch_s = w.watch_s + pu.watch_s
FROM (SELECT programme_id, user_id, SUM(watch_s) AS watch_s
      FROM delta_programme_watch
      GROUP BY programme_id, user_id) pu
WHERE w.dt = CAST({{ dt }} AS DATE) AND w.programme_id = pu.programme_id AND w.user_id = pu.user_id;

INSERT INTO {{ schema }}.watch_programme_user (dt, programme_id, user_id, watch_s)
SELECT CAST({{ dt }} AS DATE), pu.programme_id, pu.user_id, pu.watch_s
FROM (SELECT programme_id, user_id, SUM(watch_s) AS watch_s
      FROM delta_programme_watch
      GROUP BY programme_id, user_id) pu
WHERE NOT EXISTS (SELECT 1 FROM {{ schema }}.watch_programme_user w
                  WHERE w.dt = CAST({{ dt }} AS DATE) AND w.programme_id = pu.programme_id
                        AND w.user_id = pu.user_id);

UPDATE {{ schema }}.mart_programme m
SET all_watch_s = m.all_watch_s + COALESCE(x.w, 0)
FROM (
    WITH prog AS (
        SELECT programme_id, MIN(ps) AS ps, MAX(pe) AS pe FROM programme_slice GROUP BY programme_id
    ), sess AS (
        -- the added sessions cut to the day; empty ones give nothing
        SELECT GREATEST(ss, 0) AS ss, LEAST(se, 86400) AS se
        FROM delta_day
        WHERE LEAST(se, 86400) > GREATEST(ss, 0)
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
        SELECT t, end_sum_le + t * (starts_le - n_start - ends_le) - (start_sum_le - n_start * t) AS w
        FROM running
    )
    SELECT p.programme_id, we.w - ws.w AS w
    FROM prog p
    LEFT JOIN watched_before ws ON ws.t = p.ps
    LEFT JOIN watched_before we ON we.t = p.pe
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.programme_id = x.programme_id;

UPDATE {{ schema }}.mart_programme m
SET watch_minutes = ROUND(CAST(m.watch_s AS NUMERIC) / 60, 6),
    reach_pct = CASE WHEN m.viewers = 0 THEN 0
                     ELSE ROUND(CAST(m.viewers AS NUMERIC) * 100 / NULLIF(u.n, 0), 6) END,
    amr = CASE WHEN m.watch_s = 0 THEN 0
               ELSE ROUND(CAST(m.watch_s AS NUMERIC) / x.length_s, 6) END,
    rating_pct = CASE WHEN m.watch_s = 0 THEN 0
                      ELSE ROUND(CAST(m.watch_s AS NUMERIC) * 100
                                 / NULLIF(CAST(x.length_s AS NUMERIC) * u.n, 0), 6) END,
    share_pct = CASE WHEN m.watch_s = 0 THEN 0
                     ELSE ROUND(CAST(m.watch_s AS NUMERIC) * 100 / NULLIF(m.all_watch_s, 0), 6) END,
    atv_min = CASE WHEN m.watch_s = 0 THEN 0
                   ELSE ROUND(CAST(m.watch_s AS NUMERIC) / NULLIF(CAST(m.viewers AS NUMERIC) * 60, 0), 6) END
FROM (
    SELECT programme_id, MAX(pe) - MIN(ps) AS length_s FROM programme_slice GROUP BY programme_id
) x
CROSS JOIN (SELECT COUNT(DISTINCT user_id) AS n FROM {{ schema }}.dim_user) u
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.programme_id = x.programme_id;
