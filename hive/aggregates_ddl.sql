-- Hive aggregate tables of database ${database}: the figures of the per-date marts (hive/marts/*.sql), stored
-- per date partition by iptv.lake_sync (hive/aggregates/*.sql: INSERT OVERWRITE ... PARTITION (dt='${dt}')).
-- Managed tables (Parquet) in the Hive warehouse directory. Idempotent. Columns as the Greenplum marts.
CREATE TABLE IF NOT EXISTS ${database}.agg_daily (
    watch_hours DECIMAL(18,6),
    sessions BIGINT,
    viewers BIGINT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS ${database}.agg_channel_daily (
    channel_id BIGINT,
    channel_name STRING,
    watch_hours DECIMAL(18,6),
    sessions BIGINT,
    viewers BIGINT,
    reach_pct DECIMAL(18,6),
    share_pct DECIMAL(18,6),
    rating_pct DECIMAL(18,6),
    atv_min DECIMAL(18,6)
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS ${database}.agg_hourly (
    hour BIGINT,
    viewers BIGINT,
    watch_minutes DECIMAL(18,6)
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS ${database}.agg_duration_hist (
    bucket_label STRING,
    bucket_lower_s INT,
    sessions BIGINT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
