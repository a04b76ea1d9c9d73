-- Per subscriber, date and channel over the {{ days }} dates up to {{ until }}: sessions and watch seconds (the
-- features of analytics/subscribers.py; a session belongs to the date it starts on).
SELECT f.user_id,
       f.dt,
       f.channel_id,
       COUNT(*) AS sessions,
       SUM(f.duration_s) AS watch_s
FROM {{ schema }}.fact_session f
WHERE f.dt > CAST({{ until }} AS DATE) - {{ days }} AND f.dt <= CAST({{ until }} AS DATE)
GROUP BY f.user_id, f.dt, f.channel_id
