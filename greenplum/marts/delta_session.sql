-- The sessions a mart update adds (iptv.warehouse.loads): a load's new valid rows (load/delta_from_stage.sql) or,
-- when dates are recomputed, every session that reaches the date (marts/delta_from_facts.sql). Empty: the marts'
-- derived figures alone are recomputed (names, universe). Created empty, dropped at commit.
DROP TABLE IF EXISTS pg_temp.delta_session;

CREATE TEMP TABLE delta_session (
    user_id    BIGINT,
    channel_id BIGINT,
    time_start TIMESTAMP,
    time_end   TIMESTAMP,
    duration_s BIGINT,
    dt         DATE
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
