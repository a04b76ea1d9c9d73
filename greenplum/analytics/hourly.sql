-- Insight report: viewers and watch minutes per date and clock hour (all 24 hours of a date), from mart_hourly.
SELECT dt,
       hour,
       viewers,
       watch_minutes
FROM {{ schema }}.mart_hourly
ORDER BY dt, hour
