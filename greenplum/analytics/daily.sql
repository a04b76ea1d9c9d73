-- Insight report: watch hours, views (sessions that start on the day) and viewers per date, from mart_daily.
SELECT dt,
       watch_hours,
       sessions AS views,
       viewers
FROM {{ schema }}.mart_daily
ORDER BY dt
