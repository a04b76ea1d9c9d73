-- mart_channel_daily: the figures of daily.sql per date and channel, with the channel's name.
SELECT s.day, s.channel_id, c.channel_name, s.watch_s, s.sessions, s.viewers
FROM (
    SELECT day, channel_id, sum(watch_s) AS watch_s, count(DISTINCT user_id) AS viewers,
           count(DISTINCT CASE WHEN start_date = day THEN session_id END) AS sessions
    FROM slices GROUP BY day, channel_id
) s
LEFT JOIN (SELECT DISTINCT ON (channel_id) channel_id, channel_name FROM channels
           ORDER BY channel_id, channel_name) c
  ON c.channel_id = s.channel_id
ORDER BY s.day, s.channel_id
