-- mart_programme: per programme of the accepted guide and user, the seconds of the user's sessions on the
-- programme's channel that overlap the programme (a plain range join of whole intervals).
SELECT p.programme_id, s.user_id,
       sum(date_diff('second', greatest(s.time_start, p.time_start), least(s.time_end, p.time_end))) AS watch_s
FROM guide p
JOIN sess s ON s.channel_id = p.channel_id AND s.time_start < p.time_end AND s.time_end > p.time_start
GROUP BY p.programme_id, s.user_id
