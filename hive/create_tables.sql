-- External tables of the IPTV data lake, database {{ database }}, over the HDFS layout of config hdfs.paths.
-- Placeholders (iptv.hive_tables, rendered by iptv.sql): {{ database }} (quoted identifier) and, per table,
-- {{ <table>_location }}: the full URI (fs.defaultFS + path) of its directory, as a string literal.
-- All files are headerless CSV (Spark Thrift Server ignores skip.header.line.count, so none is used).
-- Idempotent. Valid on Apache Hive and on Spark Thrift Server.
CREATE DATABASE IF NOT EXISTS {{ database }};

-- Raw viewing events as the NiFi flow lands them, one directory per arrival date.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.viewing_events (
    session_id STRING,
    user_id BIGINT,
    channel_id BIGINT,
    timer STRING,
    status STRING
)
PARTITIONED BY (dt STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ viewing_events_location }};

-- Sessions, one directory per date of time_start.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.sessions (
    session_id STRING,
    user_id BIGINT,
    channel_id BIGINT,
    time_start TIMESTAMP,
    time_end TIMESTAMP,
    duration_s BIGINT
)
PARTITIONED BY (dt STRING)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ sessions_location }};

-- Rejected records, one directory per arrival date: RFC 4180 quoted CSV reason,session_id,arrival_ts,detail,raw
-- (the raw message may hold commas and quotes, not line breaks). OpenCSVSerde reads every column as STRING.
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.quarantine (
    reason STRING,
    session_id STRING,
    arrival_ts STRING,
    detail STRING,
    raw STRING
)
PARTITIONED BY (dt STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ quarantine_location }};

-- Catalogs: quoted CSV (names may contain commas and doubled quotes). All columns STRING: see the views.
-- Columns: the catalogs contract, iptv/catalogs.py (CHANNEL_COLUMNS, USER_COLUMNS), as the producer writes them.
-- (Hive names the channels' watch_time_share_pct column watch_share_pct, as the warehouse does.)
CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.channels (
    channel_id STRING,
    channel_name STRING,
    watch_share_pct STRING,
    viewer_share_pct STRING
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ channels_location }};

CREATE EXTERNAL TABLE IF NOT EXISTS {{ database }}.users (
    user_id STRING,
    user_name STRING,      -- full_name in the producer's file
    gender STRING,
    birth_date STRING,
    city STRING,
    signup_date STRING
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '\001')
STORED AS TEXTFILE
LOCATION {{ users_location }}
