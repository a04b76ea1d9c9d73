-- mart_genre_hourly: every programme cut into the clock hours it is on air in, each piece joined to the sessions of
-- its channel that overlap it; per date, hour and genre the seconds watched and the distinct users who watched
-- more than 0 s (a zero-length session inside a piece meets the join but watches nothing). Every (date, hour,
-- genre) with a piece on air is a row (zeros where nobody watched).
WITH pieces AS (
    SELECT dt, channel_id, genre, CAST(hour(hs) AS INTEGER) AS hour,
           greatest(time_start, hs) AS piece_start, least(time_end, hs + INTERVAL 1 HOUR) AS piece_end
    FROM (SELECT *, unnest(range(date_trunc('hour', time_start), time_end, INTERVAL 1 HOUR)) AS hs FROM guide)
), watched AS (
    SELECT p.dt, p.hour, p.genre, s.user_id,
           date_diff('second', greatest(s.time_start, p.piece_start), least(s.time_end, p.piece_end)) AS watch_s
    FROM pieces p
    JOIN sess s ON s.channel_id = p.channel_id AND s.time_start < p.piece_end AND s.time_end > p.piece_start
)
SELECT a.dt, a.hour, a.genre, coalesce(sum(w.watch_s), 0) AS watch_s, count(DISTINCT CASE WHEN w.watch_s > 0 THEN w.user_id END) AS viewers
FROM (SELECT DISTINCT dt, hour, genre FROM pieces) a
LEFT JOIN watched w ON w.dt = a.dt AND w.hour = a.hour AND w.genre = a.genre
GROUP BY a.dt, a.hour, a.genre
ORDER BY a.dt, a.hour, a.genre
