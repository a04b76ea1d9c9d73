-- Distinct viewers of all channels per clock hour (mart_hourly) over the {{ days }} dates up to {{ until }}.
SELECT m.dt,
       m.hour,
       m.viewers
FROM {{ schema }}.mart_hourly m
WHERE m.dt > CAST({{ until }} AS DATE) - {{ days }} AND m.dt <= CAST({{ until }} AS DATE)
ORDER BY m.dt, m.hour
