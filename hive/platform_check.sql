-- Platform self-check: an external table over the directory the check wrote to HDFS, then its count and sum.
-- Placeholders: {{ database }}, {{ table }}, {{ location }} (full hdfs:// URI of the directory) and
-- {{ viewing_events_columns }} (the events' columns, iptv.hive_tables.column_values).
CREATE DATABASE IF NOT EXISTS {{ database }};

DROP TABLE IF EXISTS {{ database }}.{{ table }};

CREATE EXTERNAL TABLE {{ database }}.{{ table }} (
    {{ viewing_events_columns }}
)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ location }};

SELECT COUNT(*), SUM(channel_id) FROM {{ database }}.{{ table }};

DROP TABLE {{ database }}.{{ table }};
