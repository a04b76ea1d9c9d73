-- mart_hourly (and mart_weekday_hour): viewers and watch seconds per date and clock hour that has any.
SELECT day, hour, count(DISTINCT user_id) AS viewers, sum(watch_s) AS watch_s
FROM slices GROUP BY day, hour
