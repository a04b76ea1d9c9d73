-- Insight report: session durations by the genre of the programme on air on the session's channel when the
-- session starts (dim_programme; the loader keeps only programmes that end by the midnight after their date, so
-- that programme is one of the session's date). Sessions that start outside any programme (channels without a
-- guide, gaps) are left out. Per genre: sessions, mean and quartiles
-- (p25, median, p75) and p90 of duration_s.
SELECT p.genre,
       COUNT(*) AS sessions,
       AVG(f.duration_s) AS mean_s,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY f.duration_s) AS p25_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY f.duration_s) AS p50_s,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY f.duration_s) AS p75_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY f.duration_s) AS p90_s
FROM {{ schema }}.fact_session f
JOIN {{ schema }}.dim_programme p
    ON p.channel_id = f.channel_id
       AND p.dt = f.dt
       AND f.time_start >= p.time_start
       AND f.time_start < p.time_end
GROUP BY p.genre
ORDER BY p.genre
