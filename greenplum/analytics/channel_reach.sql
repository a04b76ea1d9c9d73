-- Insight report: the reach of each channel over the whole history, i.e. the distinct subscribers with at least
-- one session on it (the marts' viewers are per day and cannot be summed), and the universe (subscribers in
-- dim_user) beside it.
SELECT f.channel_id,
       COUNT(DISTINCT f.user_id) AS reach,
       (SELECT COUNT(DISTINCT u.user_id) FROM {{ schema }}.dim_user u) AS universe
FROM {{ schema }}.fact_session f
GROUP BY f.channel_id
ORDER BY f.channel_id
