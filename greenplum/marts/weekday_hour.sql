-- mart_weekday_hour over all dates: for each ISO weekday (1 = Monday .. 7 = Sunday) and hour, the mean over
-- the dates with that weekday of mart_hourly.viewers. Recomputed in full after every load (it is small).
DELETE FROM {{ schema }}.mart_weekday_hour;

INSERT INTO {{ schema }}.mart_weekday_hour (weekday, hour, avg_viewers)
SELECT CAST(EXTRACT(ISODOW FROM dt) AS SMALLINT),
       hour,
       ROUND(CAST(SUM(viewers) AS NUMERIC) / COUNT(*), 6)
FROM {{ schema }}.mart_hourly
GROUP BY 1, 2;
