-- The files a sessions load reads, with the version listed (path, length in bytes, modification time in ms),
-- for the ledger (load/insert_sessions.sql); filled by COPY FROM STDIN, dropped at commit.
CREATE TEMP TABLE stg_loaded_file (
    path     TEXT,
    length   BIGINT,
    mtime_ms BIGINT
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
