-- Staging table for one sessions load (filled by COPY FROM STDIN, dropped at commit).
CREATE TEMP TABLE stg_session (
    session_id  TEXT,
    user_id     BIGINT,
    channel_id  BIGINT,
    time_start  TIMESTAMP,
    time_end    TIMESTAMP,
    duration_s  BIGINT
) ON COMMIT DROP
/*@greenplum DISTRIBUTED BY (session_id) */;
