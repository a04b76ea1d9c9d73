-- Insight report: the mean viewers per ISO weekday (1 = Monday .. 7 = Sunday) and clock hour, from
-- mart_weekday_hour.
SELECT weekday,
       hour,
       avg_viewers
FROM {{ schema }}.mart_weekday_hour
ORDER BY weekday, hour
