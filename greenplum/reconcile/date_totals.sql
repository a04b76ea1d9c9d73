-- The warehouse's figures of the reconciliation (iptv/reconcile.py), per date {{ date_from }} .. {{ date_to }}
-- (dates of time_start): fact_session's sessions and their load rejects, fact_session's watch time of the day
-- (the overlap of [time_start, time_end) with the day, as marts/daily.sql defines it), and the marts' totals
-- of the same date: mart_daily sessions and watch time, mart_channel_daily sessions, mart_hourly watch time.
-- One row per date that any of them has; a NULL mart figure: the mart has no row for the date.
WITH days AS (
    SELECT dt FROM {{ schema }}.fact_session
    WHERE dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    UNION
    SELECT dt FROM {{ schema }}.load_rejects
    WHERE dataset = 'sessions' AND dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    UNION
    SELECT dt FROM {{ schema }}.mart_daily
    WHERE dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
), facts AS (
    SELECT dt, COUNT(*) AS sessions FROM {{ schema }}.fact_session
    WHERE dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    GROUP BY dt
), rejects AS (
    SELECT dt, COUNT(*) AS n FROM {{ schema }}.load_rejects
    WHERE dataset = 'sessions' AND dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    GROUP BY dt
), watch AS (
    SELECT d.dt,
           SUM(GREATEST(0, EXTRACT(EPOCH FROM (LEAST(f.time_end, CAST(d.dt AS TIMESTAMP) + INTERVAL '1 day')
                                               - GREATEST(f.time_start, CAST(d.dt AS TIMESTAMP)))))) AS watch_s
    FROM days d
    INNER JOIN {{ schema }}.fact_session f
        ON f.dt = d.dt OR (f.dt < d.dt AND f.time_end > CAST(d.dt AS TIMESTAMP))
    GROUP BY d.dt
), channel AS (
    SELECT dt, SUM(sessions) AS sessions FROM {{ schema }}.mart_channel_daily
    WHERE dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    GROUP BY dt
), hourly AS (
    SELECT dt, SUM(watch_minutes) * 60 AS watch_s FROM {{ schema }}.mart_hourly
    WHERE dt BETWEEN CAST({{ date_from }} AS DATE) AND CAST({{ date_to }} AS DATE)
    GROUP BY dt
)
SELECT d.dt,
       COALESCE(f.sessions, 0) AS fact_sessions,
       COALESCE(r.n, 0) AS load_rejects,
       COALESCE(w.watch_s, 0) AS fact_watch_s,
       m.sessions AS mart_daily_sessions,
       m.watch_hours * 3600 AS mart_daily_watch_s,
       c.sessions AS mart_channel_sessions,
       h.watch_s AS mart_hourly_watch_s
FROM days d
LEFT JOIN facts f ON d.dt = f.dt
LEFT JOIN rejects r ON d.dt = r.dt
LEFT JOIN watch w ON d.dt = w.dt
LEFT JOIN {{ schema }}.mart_daily m ON d.dt = m.dt
LEFT JOIN channel c ON d.dt = c.dt
LEFT JOIN hourly h ON d.dt = h.dt
ORDER BY d.dt;
