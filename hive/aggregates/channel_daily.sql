-- Store the figures of hive/marts/channel_daily.sql for ${dt} in partition dt='${dt}' of agg_channel_daily
-- (replacing it). ${mart} is the text of hive/marts/channel_daily.sql, filled in by iptv.lake_sync.
INSERT OVERWRITE TABLE ${database}.agg_channel_daily PARTITION (dt = '${dt}')
SELECT CAST(channel_id AS BIGINT), channel_name,
       CAST(watch_hours AS DECIMAL(18,6)), CAST(sessions AS BIGINT), CAST(viewers AS BIGINT),
       CAST(reach_pct AS DECIMAL(18,6)), CAST(share_pct AS DECIMAL(18,6)),
       CAST(rating_pct AS DECIMAL(18,6)), CAST(atv_min AS DECIMAL(18,6))
FROM (${mart}) m
