-- Insight report: the audience of each episode of each series (dim_programme.series_id, episode), from
-- mart_programme: airings, the first airing's start, the mean viewers and the mean amr of an airing.
SELECT p.series_id,
       p.episode,
       COUNT(*) AS airings,
       MIN(m.time_start) AS first_aired,
       AVG(m.viewers) AS avg_viewers,
       AVG(m.amr) AS avg_amr
FROM {{ schema }}.mart_programme m
JOIN {{ schema }}.dim_programme p ON p.dt = m.dt AND p.programme_id = m.programme_id
WHERE p.series_id IS NOT NULL AND p.episode IS NOT NULL
GROUP BY p.series_id, p.episode
ORDER BY p.series_id, p.episode
