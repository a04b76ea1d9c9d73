-- Store the figures of hive/marts/daily.sql for ${dt} in partition dt='${dt}' of agg_daily (replacing it;
-- no session touching ${dt} leaves the partition empty). ${mart} is the text of hive/marts/daily.sql,
-- inserted by iptv.lake_sync with its own placeholders already filled.
INSERT OVERWRITE TABLE ${database}.agg_daily PARTITION (dt = '${dt}')
SELECT CAST(watch_hours AS DECIMAL(18,6)), CAST(sessions AS BIGINT), CAST(viewers AS BIGINT)
FROM (${mart}) m
