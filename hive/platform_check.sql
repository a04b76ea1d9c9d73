-- Platform self-check: an external table over the directory the check wrote to HDFS, then its count and sum.
-- Placeholders: {{ database }}, {{ table }}, {{ location }} (full hdfs:// URI of the directory).
CREATE DATABASE IF NOT EXISTS {{ database }};

DROP TABLE IF EXISTS {{ database }}.{{ table }};

CREATE EXTERNAL TABLE {{ database }}.{{ table }} (
    session_id STRING,
    user_id BIGINT,
    channel_id BIGINT,
    timer STRING,
    status STRING
)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION {{ location }};

SELECT COUNT(*), SUM(channel_id) FROM {{ database }}.{{ table }};

DROP TABLE {{ database }}.{{ table }};
