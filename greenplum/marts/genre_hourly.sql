-- mart_genre_hourly for one date {{ dt }}: per clock hour (0..23) and genre, the watch time of the programmes of
-- that genre on air in that hour. One row per (hour, genre) with a programme of the genre on air during the hour
-- (on any channel; zeros where nobody watched); no row for a date without a guide.
--   watch_minutes = the sum over the programmes of the genre of the overlap of the sessions of their channel with
--                   [programme start, programme end) cut to the hour, in minutes (exact whole seconds / 60)
--   viewers       = distinct users who watched a programme of the genre during the hour for more than 0 s
-- Summed over the genres of an hour, watch_minutes is the watch time of that hour that falls in a programme
-- (mart_hourly.watch_minutes less the watch time of channels without a guide or in a gap of their guide).
-- Same cutting as marts/programme.sql: sessions and programmes cut into clock hours, joined on (channel, hour).
DELETE FROM {{ schema }}.mart_genre_hourly WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.mart_genre_hourly (dt, hour, genre, watch_minutes, viewers)
WITH bounds AS (
    SELECT CAST({{ dt }} AS DATE) AS d,
           CAST({{ dt }} AS TIMESTAMP) AS ds
), prog AS (
    SELECT p.programme_id, p.channel_id, p.genre,
           CAST(EXTRACT(EPOCH FROM (p.time_start - b.ds)) AS BIGINT) AS ps,
           CAST(EXTRACT(EPOCH FROM (p.time_end - b.ds)) AS BIGINT) AS pe
    FROM {{ schema }}.dim_programme p
    CROSS JOIN bounds b
    WHERE p.dt = b.d
), sess AS (
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
    SELECT channel_id, genre, h AS hour, GREATEST(ps, h * 3600) AS ps, LEAST(pe, (h + 1) * 3600) AS pe
    FROM (SELECT p.channel_id, p.genre, p.ps, p.pe, generate_series(p.ps / 3600, (p.pe - 1) / 3600) AS h
          FROM prog p) x
), watched AS (
    SELECT ps.hour, ps.genre,
           SUM(LEAST(sl.se, ps.pe) - GREATEST(sl.ss, ps.ps)) AS watch_s,
           COUNT(DISTINCT sl.user_id) AS viewers
    FROM prog_slices ps
    JOIN slices sl ON sl.channel_id = ps.channel_id AND sl.hour = ps.hour
    WHERE sl.ss < ps.pe AND sl.se > ps.ps
    GROUP BY ps.hour, ps.genre
), on_air AS (
    SELECT DISTINCT hour, genre FROM prog_slices
)
SELECT b.d, a.hour, a.genre,
       ROUND(CAST(COALESCE(w.watch_s, 0) AS NUMERIC) / 60, 6),
       COALESCE(w.viewers, 0)
FROM on_air a
CROSS JOIN bounds b
LEFT JOIN watched w ON w.hour = a.hour AND w.genre = a.genre;
