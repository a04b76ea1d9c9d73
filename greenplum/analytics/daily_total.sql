-- Watch hours and distinct viewers per date (mart_daily) over the {{ days }} dates up to {{ until }}.
SELECT m.dt,
       m.watch_hours,
       m.viewers
FROM {{ schema }}.mart_daily m
WHERE m.dt > CAST({{ until }} AS DATE) - {{ days }} AND m.dt <= CAST({{ until }} AS DATE)
ORDER BY m.dt
