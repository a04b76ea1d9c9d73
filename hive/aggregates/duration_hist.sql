-- Store the figures of hive/marts/duration_hist.sql for ${dt} in partition dt='${dt}' of agg_duration_hist
-- (replacing it). ${mart} is the text of hive/marts/duration_hist.sql, filled in by iptv.lake_sync.
INSERT OVERWRITE TABLE ${database}.agg_duration_hist PARTITION (dt = '${dt}')
SELECT bucket_label, CAST(bucket_lower_s AS INT), CAST(sessions AS BIGINT)
FROM (${mart}) m
