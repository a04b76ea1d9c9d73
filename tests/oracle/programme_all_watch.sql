-- mart_programme's share: per programme, the watch seconds of every session of every channel during its interval.
-- The day is cut at every programme boundary of every channel into pieces; each piece lies wholly inside or
-- outside each programme, so a programme's all-channel watch time is the sum over the pieces inside it of the
-- sessions' overlap with the piece (a range join of sessions and pieces, not of sessions and programmes).
WITH marks AS (
    SELECT time_start AS t FROM guide
    UNION
    SELECT time_end FROM guide
), pieces AS (
    SELECT t AS piece_start, lead(t) OVER (ORDER BY t) AS piece_end FROM marks
), piece_watch AS (
    SELECT p.piece_start, p.piece_end,
           sum(date_diff('second', greatest(s.time_start, p.piece_start), least(s.time_end, p.piece_end))) AS watch_s
    FROM pieces p
    JOIN sess s ON s.time_start < p.piece_end AND s.time_end > p.piece_start
    GROUP BY p.piece_start, p.piece_end
)
SELECT g.programme_id, coalesce(sum(w.watch_s), 0) AS watch_s
FROM guide g
LEFT JOIN piece_watch w ON w.piece_start >= g.time_start AND w.piece_end <= g.time_end
GROUP BY g.programme_id
