-- Staging tables for the catalogs (filled by COPY FROM STDIN, dropped at commit) ...
CREATE TEMP TABLE stg_channel (
    channel_id        BIGINT,
    channel_name      TEXT,
    watch_share_pct   NUMERIC(9,4),
    viewer_share_pct  NUMERIC(9,4)
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;

CREATE TEMP TABLE stg_user (
    user_id    BIGINT,
    user_name  TEXT
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
