-- External tables of the IPTV data lake, database {{ database }}, over the HDFS layout of config hdfs.paths.
-- Placeholders (iptv.hive_tables, rendered by iptv.sql): {{ database }} (quoted identifier) and, per table,
-- {{ <table>_location }}: the full URI (fs.defaultFS + path) of its directory, as a string literal, and
-- {{ <table>_columns }}: its columns, from the dataset definition schemas/datasets.json (iptv.datasets).
-- All files are headerless CSV (Spark Thrift Server ignores skip.header.line.count, so none is used).
-- Idempotent. Valid on Apache Hive and on Spark Thrift Server.
CREATE DATABASE IF NOT EXISTS {{ database }};

-- Raw viewing events as the NiFi flow lands them, one directory per arrival date.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.viewing_events (
    {{ viewing_events_columns }}
)
PARTITIONED BY (dt STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ viewing_events_location }};

-- Sessions, one directory per date of time_start.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.sessions (
    {{ sessions_columns }}
)
PARTITIONED BY (dt STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ sessions_location }};

-- Rejected records, one directory per arrival date: RFC 4180 quoted CSV (the raw message may hold commas and
-- quotes, not line breaks). OpenCSVSerde reads every column as STRING.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.quarantine (
    {{ quarantine_columns }}
)
PARTITIONED BY (dt STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ quarantine_location }};

-- The ingestion's accounting (one line per Kafka partition of a landed batch), one directory per arrival date:
-- plain CSV; empty offsets (a batch line without partition) read as NULL.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.ingest_batches (
    {{ ingest_batches_columns }}
)
PARTITIONED BY (dt STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ ingest_batches_location }};

-- Catalogs: quoted CSV (names may contain commas and doubled quotes). All columns STRING: see the views.
-- (Hive names the channels' watch_time_share_pct column watch_share_pct and the users' full_name user_name, as
-- the warehouse does: the columns' warehouse_name in the definition.)
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.channels (
    {{ channels_columns }}
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ channels_location }};

CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.users (
    {{ users_columns }}
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ users_location }};

-- The programme guide (EPG), one directory per date of time_start (catalogs/epg/dt=...): quoted CSV (titles may
-- hold commas and quotes), so OpenCSVSerde and all columns STRING; v_programmes casts them.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.programmes (
    {{ programmes_columns }}
)
PARTITIONED BY (dt STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ programmes_location }}
