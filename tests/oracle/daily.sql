-- mart_daily: watch seconds, viewers and sessions (counted on their start date) per date.
SELECT day, sum(watch_s) AS watch_s, count(DISTINCT user_id) AS viewers,
       count(DISTINCT CASE WHEN start_date = day THEN session_id END) AS sessions
FROM slices GROUP BY day ORDER BY day
