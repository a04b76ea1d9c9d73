-- mart_duration_hist: each session's start date and duration (from its end when duration_s is missing).
SELECT CAST(time_start AS DATE) AS day,
       coalesce(duration_s, date_diff('second', time_start, time_end)) AS duration_s
FROM sess
