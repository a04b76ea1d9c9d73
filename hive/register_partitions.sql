-- Register the partitions of date ${dt} of the partitioned tables (idempotent). Placeholders as in
-- create_tables.sql plus ${dt} (YYYY-MM-DD). A missing directory is created empty by the metastore.
ALTER TABLE ${database}.viewing_events ADD IF NOT EXISTS PARTITION (dt='${dt}')
LOCATION '${hdfs_base}${raw_events_path}/dt=${dt}';

ALTER TABLE ${database}.sessions ADD IF NOT EXISTS PARTITION (dt='${dt}')
LOCATION '${hdfs_base}${sessions_path}/dt=${dt}';

ALTER TABLE ${database}.quarantine ADD IF NOT EXISTS PARTITION (dt='${dt}')
LOCATION '${hdfs_base}${quarantine_path}/dt=${dt}'
