-- Insight report: watch hours, views (sessions) and viewers per date and channel, from mart_channel_daily.
SELECT dt,
       channel_id,
       channel_name,
       watch_hours,
       sessions AS views,
       viewers
FROM {{ schema }}.mart_channel_daily
ORDER BY dt, channel_id
