-- Insight report: the watch hours and views (sessions) of every subscriber of dim_user over the whole history,
-- zeros for those who never watched (they belong in the Lorenz curve), plus subscribers seen only in the
-- sessions.
SELECT COALESCE(u.user_id, s.user_id) AS user_id,
       COALESCE(s.watch_hours, 0) AS watch_hours,
       COALESCE(s.views, 0) AS views
FROM (SELECT DISTINCT user_id FROM {{ schema }}.dim_user) u
FULL OUTER JOIN (
    SELECT user_id,
           CAST(SUM(duration_s) AS NUMERIC) / 3600 AS watch_hours,
           COUNT(*) AS views
    FROM {{ schema }}.fact_session
    GROUP BY user_id
) s ON s.user_id = u.user_id
ORDER BY user_id
