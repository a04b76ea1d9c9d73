-- mart_genre_hourly for one date {{ dt }}: per clock hour (0..23) and genre, the watch time of the programmes of
-- that genre on air in that hour. One row per (hour, genre) with a programme of the genre on air during the hour
-- (on any channel; zeros where nobody watched); no row for a date without a guide.
--   watch_minutes = the sum over the programmes of the genre of the overlap of the sessions of their channel with
--                   [programme start, programme end) cut to the hour, in minutes (exact whole seconds / 60)
--   viewers       = distinct users who watched a programme of the genre during the hour for more than 0 s
-- Summed over the genres of an hour, watch_minutes is the watch time of that hour that falls in a programme
-- (mart_hourly.watch_minutes less the watch time of channels without a guide or in a gap of their guide).
-- watch_s = the exact watch seconds.
-- Same cutting as marts/programme.sql: sessions and programmes cut into clock hours, joined on (channel, hour).
-- Kept up to date, not recomputed: the seconds the sessions a load adds watched of programmes
-- (marts/delta_day.sql: delta_programme_watch) are added per hour and genre, and the viewers not yet counted
-- (viewer_genre_hourly) to the counts. A date recomputed from fact_session (also after its guide changed) has
-- its rows and counted viewers cleared first and every session reaching it as the delta (iptv.warehouse.loads).
INSERT INTO {{ schema }}.mart_genre_hourly (dt, hour, genre, watch_minutes, viewers, watch_s)
SELECT CAST({{ dt }} AS DATE), a.hour, a.genre, 0, 0, 0
FROM (SELECT DISTINCT hour, genre FROM programme_slice) a
WHERE NOT EXISTS (SELECT 1 FROM {{ schema }}.mart_genre_hourly m
                  WHERE m.dt = CAST({{ dt }} AS DATE) AND m.hour = a.hour AND m.genre = a.genre);

UPDATE {{ schema }}.mart_genre_hourly m
SET watch_s = m.watch_s + x.watch_s,
    viewers = m.viewers + x.new_viewers,
    watch_minutes = ROUND(CAST(m.watch_s + x.watch_s AS NUMERIC) / 60, 6)
FROM (
    SELECT g.hour, g.genre,
           SUM(g.watch_s) AS watch_s,
           COUNT(DISTINCT CASE WHEN v.user_id IS NULL THEN g.user_id END) AS new_viewers
    FROM (SELECT hour, genre, user_id, SUM(watch_s) AS watch_s
          FROM delta_programme_watch
          GROUP BY hour, genre, user_id) g
    LEFT JOIN {{ schema }}.viewer_genre_hourly v
        ON v.dt = CAST({{ dt }} AS DATE) AND v.hour = g.hour AND v.genre = g.genre AND v.user_id = g.user_id
    GROUP BY g.hour, g.genre
) x
WHERE m.dt = CAST({{ dt }} AS DATE) AND m.hour = x.hour AND m.genre = x.genre;

INSERT INTO {{ schema }}.viewer_genre_hourly (dt, hour, genre, user_id)
SELECT DISTINCT CAST({{ dt }} AS DATE), g.hour, g.genre, g.user_id
FROM delta_programme_watch g
LEFT JOIN {{ schema }}.viewer_genre_hourly v
    ON v.dt = CAST({{ dt }} AS DATE) AND v.hour = g.hour AND v.genre = g.genre AND v.user_id = g.user_id
WHERE v.user_id IS NULL;
