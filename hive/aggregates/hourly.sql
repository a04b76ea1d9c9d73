-- Store the figures of hive/marts/hourly.sql for ${dt} in partition dt='${dt}' of agg_hourly (replacing it).
-- ${mart} is the text of hive/marts/hourly.sql, filled in by iptv.lake_sync.
INSERT OVERWRITE TABLE ${database}.agg_hourly PARTITION (dt = '${dt}')
SELECT CAST(hour AS BIGINT), CAST(viewers AS BIGINT), CAST(watch_minutes AS DECIMAL(18,6))
FROM (${mart}) m
