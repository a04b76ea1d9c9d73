-- Demo report: per day watch hours, views (sessions) and viewers, from the warehouse marts (read-only role).
SELECT dt, watch_hours, sessions AS views, viewers
FROM {{ schema }}.mart_daily
ORDER BY dt
