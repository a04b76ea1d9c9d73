-- Text staging tables for the catalogs (filled by COPY FROM STDIN, dropped at commit), one TEXT column per
-- column of the catalogs contract (iptv/catalogs.py: CHANNEL_COLUMNS, USER_COLUMNS, same order). iptv.warehouse
-- splits the files with Python's csv module and stages only records with exactly that many fields (the others
-- are counted as rejected); load/replace_dims.sql checks and casts.
CREATE TEMP TABLE stg_channel (
    channel_id           TEXT,
    channel_name         TEXT,
    watch_time_share_pct TEXT,
    viewer_share_pct     TEXT
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;

CREATE TEMP TABLE stg_user (
    user_id     TEXT,
    full_name   TEXT,
    gender      TEXT,
    birth_date  TEXT,
    city        TEXT,
    signup_date TEXT
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
