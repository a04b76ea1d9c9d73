-- The mart tables of database {{ database }}, named and shaped as the Greenplum marts of the same content
-- (greenplum/ddl.sql), dt being the partition: each date is written by hive/marts/<name>.sql (INSERT OVERWRITE of
-- its partition, iptv.hive_tables). Managed tables (Parquet) in the Hive warehouse directory. Idempotent.
CREATE TABLE IF NOT EXISTS {{ database }}.mart_daily (
    watch_hours DECIMAL(18, 6),
    sessions BIGINT,
    viewers BIGINT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS {{ database }}.mart_channel_daily (
    channel_id BIGINT,
    channel_name STRING,
    watch_hours DECIMAL(18, 6),
    sessions BIGINT,
    viewers BIGINT,
    reach_pct DECIMAL(18, 6),
    share_pct DECIMAL(18, 6),
    rating_pct DECIMAL(18, 6),
    atv_min DECIMAL(18, 6)
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS {{ database }}.mart_hourly (
    hour BIGINT,
    viewers BIGINT,
    watch_minutes DECIMAL(18, 6)
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET;

CREATE TABLE IF NOT EXISTS {{ database }}.mart_duration_hist (
    bucket_label STRING,
    bucket_lower_s INT,
    sessions BIGINT
)
PARTITIONED BY (dt STRING)
STORED AS PARQUET
