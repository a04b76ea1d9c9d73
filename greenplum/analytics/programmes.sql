-- Insight report: each programme title per channel over all its airings, from mart_programme: its genre (the
-- last in alphabetical order if the airings differ), airings, watch minutes, the mean and the largest viewers of
-- an airing and the mean average minute audience (amr).
SELECT m.title,
       m.channel_id,
       c.channel_name,
       MAX(m.genre) AS genre,
       COUNT(*) AS airings,
       SUM(m.watch_minutes) AS watch_minutes,
       AVG(m.viewers) AS avg_viewers,
       MAX(m.viewers) AS max_viewers,
       AVG(m.amr) AS avg_amr
FROM {{ schema }}.mart_programme m
LEFT JOIN {{ schema }}.dim_channel c ON c.channel_id = m.channel_id
GROUP BY m.title, m.channel_id, c.channel_name
ORDER BY m.channel_id, m.title
