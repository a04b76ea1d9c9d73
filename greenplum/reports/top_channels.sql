-- Demo report: the 5 channels with the most watch hours over all covered dates (read-only role).
SELECT m.channel_id,
       max(m.channel_name) AS channel_name,
       sum(m.watch_hours) AS watch_hours,
       sum(m.sessions) AS views,
       round(100 * sum(m.watch_hours) / nullif((SELECT sum(watch_hours) FROM {{ schema }}.mart_daily), 0), 2)
           AS share_pct
FROM {{ schema }}.mart_channel_daily m
GROUP BY m.channel_id
ORDER BY watch_hours DESC, m.channel_id
LIMIT 5
