-- mart_programme's share: per programme, the watch seconds of every session of every channel during its interval.
SELECT p.programme_id,
       sum(date_diff('second', greatest(s.time_start, p.time_start), least(s.time_end, p.time_end))) AS watch_s
FROM guide p
JOIN sess s ON s.time_start < p.time_end AND s.time_end > p.time_start
GROUP BY p.programme_id
