-- Tables of the IPTV warehouse, schema {{ schema }} (iptv_dw; tests use their own). Idempotent: safe to run on
-- every load. Rendered by iptv.sql (docs/warehouse.md, "SQL files"): {{ schema }} is the quoted schema name,
-- {{ schema_name }} the same name as a string literal.
--
-- Dialect switch: a comment of the form  /*@greenplum ... */  is replaced by its content when the configured
-- dialect (config postgres.dialect) is 'greenplum' and dropped otherwise, so this one file gets DISTRIBUTED BY /
-- append-optimized storage on Greenplum and none on PostgreSQL.
--
-- Types: ids are BIGINT (the producer's user and channel ids are integers), session_id is the producer's
-- 32-character hex id. Watch time is computed in whole seconds (BIGINT) and stored in hours/minutes as
-- NUMERIC(18, 6), exact to well under a second.

CREATE TABLE IF NOT EXISTS {{ schema }}.dim_channel (
    channel_id       BIGINT NOT NULL,
    channel_name     TEXT,
    watch_share_pct  NUMERIC(9, 4),
    viewer_share_pct NUMERIC(9, 4)
)
/*@greenplum DISTRIBUTED REPLICATED */;

-- The catalogs contract (iptv/catalogs.py): users.csv = user_id, full_name (-> user_name), gender, birth_date,
-- city, signup_date; every column is kept.
CREATE TABLE IF NOT EXISTS {{ schema }}.dim_user (
    user_id     BIGINT NOT NULL,
    user_name   TEXT,
    gender      CHAR(1),
    birth_date  DATE,
    city        TEXT,
    signup_date DATE
)
/*@greenplum DISTRIBUTED BY (user_id) */;

-- Upgrade of a dim_user created before the audience attributes (no ADD COLUMN IF NOT EXISTS on Greenplum 6).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = {{ schema_name }} AND table_name = 'dim_user' AND column_name = 'gender') THEN
        ALTER TABLE {{ schema }}.dim_user ADD COLUMN gender CHAR(1), ADD COLUMN birth_date DATE,
            ADD COLUMN city TEXT, ADD COLUMN signup_date DATE;
    END IF;
END
$$;

-- One row per viewing session; dt is the date of time_start (the HDFS partition it came from).
CREATE TABLE IF NOT EXISTS {{ schema }}.fact_session (
    session_id VARCHAR(64) NOT NULL,
    user_id    BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    time_start TIMESTAMP NOT NULL,
    time_end   TIMESTAMP NOT NULL,
    duration_s BIGINT NOT NULL,
    dt         DATE NOT NULL
)
/*@greenplum WITH (appendoptimized=true, orientation=column, compresstype=zstd, compresslevel=1)
             DISTRIBUTED BY (session_id) */;

-- Lookups of a date's sessions by id (a load that appends checks its new ids against the date's rows).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_indexes
                   WHERE schemaname = {{ schema_name }} AND indexname = 'fact_session_dt_session_id') THEN
        CREATE INDEX fact_session_dt_session_id ON {{ schema }}.fact_session (dt, session_id);
    END IF;
END
$$;

-- The ledger of loaded files (iptv/warehouse/ledger.py): one row per lake file whose rows are in the warehouse,
-- with the version read (length in bytes, modification time in ms since the epoch), written in the same
-- transaction as its rows. rows_read = its records, rows_loaded = those in fact_session (the others are in
-- load_rejects). Replaced per dt and dataset by a whole-date load, appended to by a load of new files only.
CREATE TABLE IF NOT EXISTS {{ schema }}.loaded_file (
    dataset     VARCHAR(32) NOT NULL,
    dt          DATE NOT NULL,
    path        TEXT NOT NULL,
    length      BIGINT NOT NULL,
    mtime_ms    BIGINT NOT NULL,
    rows_read   BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    loaded_at   TIMESTAMP NOT NULL
)
/*@greenplum DISTRIBUTED BY (dt) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.mart_daily (
    dt          DATE NOT NULL,
    watch_hours NUMERIC(18, 6) NOT NULL,
    sessions    BIGINT NOT NULL,
    viewers     BIGINT NOT NULL,
    watch_s     BIGINT  -- exact watch seconds (watch_hours is rounded)
)
/*@greenplum DISTRIBUTED BY (dt) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.mart_channel_daily (
    dt           DATE NOT NULL,
    channel_id   BIGINT NOT NULL,
    channel_name TEXT,
    watch_hours  NUMERIC(18, 6) NOT NULL,
    sessions     BIGINT NOT NULL,
    viewers      BIGINT NOT NULL,
    reach_pct    NUMERIC(12, 6),
    share_pct    NUMERIC(12, 6),
    rating_pct   NUMERIC(12, 6),
    atv_min      NUMERIC(18, 6),
    watch_s      BIGINT
)
/*@greenplum DISTRIBUTED BY (dt, channel_id) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.mart_hourly (
    dt            DATE NOT NULL,
    hour          SMALLINT NOT NULL,
    viewers       BIGINT NOT NULL,
    watch_minutes NUMERIC(18, 6) NOT NULL,
    watch_s       BIGINT
)
/*@greenplum DISTRIBUTED BY (dt, hour) */;

-- weekday: ISO day of week, 1 = Monday .. 7 = Sunday.
CREATE TABLE IF NOT EXISTS {{ schema }}.mart_weekday_hour (
    weekday     SMALLINT NOT NULL,
    hour        SMALLINT NOT NULL,
    avg_viewers NUMERIC(18, 6) NOT NULL
)
/*@greenplum DISTRIBUTED BY (weekday, hour) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.mart_duration_hist (
    dt             DATE NOT NULL,
    bucket_label   VARCHAR(8) NOT NULL,
    bucket_lower_s INTEGER NOT NULL,
    sessions       BIGINT NOT NULL
)
/*@greenplum DISTRIBUTED BY (dt) */;

-- The programme guide: the accepted programmes of each date (load/validate_programmes.sql), dt = the date of
-- time_start. Replaced per dt by every guide load of that date (load/replace_programmes.sql).
CREATE TABLE IF NOT EXISTS {{ schema }}.dim_programme (
    dt           DATE NOT NULL,
    programme_id TEXT NOT NULL,
    channel_id   BIGINT NOT NULL,
    title        TEXT NOT NULL,
    genre        VARCHAR(16) NOT NULL,
    series_id    TEXT,
    episode      BIGINT,
    time_start   TIMESTAMP NOT NULL,
    time_end     TIMESTAMP NOT NULL
)
/*@greenplum DISTRIBUTED BY (programme_id) */;

-- One row per programme of dim_programme (zeros when nobody watched it); marts/programme.sql.
CREATE TABLE IF NOT EXISTS {{ schema }}.mart_programme (
    dt            DATE NOT NULL,
    programme_id  TEXT NOT NULL,
    channel_id    BIGINT NOT NULL,
    title         TEXT NOT NULL,
    genre         VARCHAR(16) NOT NULL,
    series_id     TEXT,
    time_start    TIMESTAMP NOT NULL,
    time_end      TIMESTAMP NOT NULL,
    viewers       BIGINT NOT NULL,
    reach_pct     NUMERIC(12, 6),
    amr           NUMERIC(18, 6),
    rating_pct    NUMERIC(12, 6),
    share_pct     NUMERIC(12, 6),
    atv_min       NUMERIC(18, 6),
    watch_minutes NUMERIC(18, 6) NOT NULL,
    watch_s       BIGINT,
    all_watch_s   BIGINT  -- watch seconds of all channels during the programme (share_pct's denominator)
)
/*@greenplum DISTRIBUTED BY (programme_id) */;

-- Watch time and viewers per date, clock hour and genre of the programmes on air; marts/genre_hourly.sql.
CREATE TABLE IF NOT EXISTS {{ schema }}.mart_genre_hourly (
    dt            DATE NOT NULL,
    hour          SMALLINT NOT NULL,
    genre         VARCHAR(16) NOT NULL,
    watch_minutes NUMERIC(18, 6) NOT NULL,
    viewers       BIGINT NOT NULL,
    watch_s       BIGINT
)
/*@greenplum DISTRIBUTED BY (dt, hour) */;

-- Upgrade of marts created before their exact watch seconds (the columns the incremental updates add to); the
-- loader then recomputes every date once (iptv.warehouse.apply_ddl).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = {{ schema_name }} AND table_name = 'mart_daily' AND column_name = 'watch_s') THEN
        ALTER TABLE {{ schema }}.mart_daily ADD COLUMN watch_s BIGINT;
        ALTER TABLE {{ schema }}.mart_channel_daily ADD COLUMN watch_s BIGINT;
        ALTER TABLE {{ schema }}.mart_hourly ADD COLUMN watch_s BIGINT;
        ALTER TABLE {{ schema }}.mart_programme ADD COLUMN watch_s BIGINT, ADD COLUMN all_watch_s BIGINT;
        ALTER TABLE {{ schema }}.mart_genre_hourly ADD COLUMN watch_s BIGINT;
    END IF;
END
$$;

-- The viewers already counted by the marts (greenplum/marts/*.sql), so that a load adding sessions counts only
-- the new distinct viewers: who viewed a date, the hours of it in which a user was counted (bit h of hours =
-- hour h), the channels on which a user was counted (ascending), who viewed a genre in an hour, and how many
-- seconds each user watched of each programme (mart_programme counts those over the reach threshold). One row
-- per user and date where a set fits in one: a day of 1,000,000 subscribers is some 600,000 rows a table, not the
-- 2.5 million (user, hour) or 2 million (user, channel) pairs.
-- Cleared and rebuilt per date with the marts when a date is recomputed from fact_session.
CREATE TABLE IF NOT EXISTS {{ schema }}.viewer_daily (
    dt      DATE NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (dt, user_id)
)
/*@greenplum DISTRIBUTED BY (user_id) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.viewer_hour_mask (
    dt      DATE NOT NULL,
    user_id BIGINT NOT NULL,
    hours   INTEGER NOT NULL,
    PRIMARY KEY (dt, user_id)
)
/*@greenplum DISTRIBUTED BY (user_id) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.viewer_channel_set (
    dt          DATE NOT NULL,
    user_id     BIGINT NOT NULL,
    channel_ids BIGINT[] NOT NULL,
    PRIMARY KEY (dt, user_id)
)
/*@greenplum DISTRIBUTED BY (user_id) */;

-- One row per (user, hour) and (user, channel) pair: the form of the two tables above in schemas made before
-- them; apply_ddl recomputes such a schema's marts into the new tables (iptv.warehouse.loads).
DROP TABLE IF EXISTS {{ schema }}.viewer_hourly;

DROP TABLE IF EXISTS {{ schema }}.viewer_channel_daily;

CREATE TABLE IF NOT EXISTS {{ schema }}.viewer_genre_hourly (
    dt      DATE NOT NULL,
    hour    SMALLINT NOT NULL,
    genre   VARCHAR(16) NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (dt, hour, genre, user_id)
)
/*@greenplum DISTRIBUTED BY (user_id) */;

CREATE TABLE IF NOT EXISTS {{ schema }}.watch_programme_user (
    dt           DATE NOT NULL,
    programme_id TEXT NOT NULL,
    user_id      BIGINT NOT NULL,
    watch_s      BIGINT NOT NULL,
    PRIMARY KEY (dt, programme_id, user_id)
)
/*@greenplum DISTRIBUTED BY (user_id) */;

-- Quarantine of the warehouse loader: every row of a date that was not loaded, with the dataset it belongs to
-- (sessions: load/validate_sessions.sql; programmes: load/validate_programmes.sql, which also records each gap
-- of a channel's guide as a row of reason 'gap'), the reason, the file and line it came from and its raw text.
-- Replaced per dt and dataset by every whole-date load of that date (load/clear_sessions.sql and
-- load/insert_sessions.sql, load/replace_programme_rejects.sql), so reloads stay idempotent; a sessions load that
-- appends new files adds their rejects.
CREATE TABLE IF NOT EXISTS {{ schema }}.load_rejects (
    dt          DATE NOT NULL,
    source_file TEXT NOT NULL,
    line_no     BIGINT NOT NULL,
    reason      VARCHAR(32) NOT NULL,
    raw_line    TEXT,
    loaded_at   TIMESTAMP NOT NULL,
    dataset     VARCHAR(32) DEFAULT 'sessions' NOT NULL
)
/*@greenplum DISTRIBUTED BY (dt) */;

-- Upgrade of a load_rejects created before the programme guide: its rows are all sessions rows.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = {{ schema_name }} AND table_name = 'load_rejects'
                         AND column_name = 'dataset') THEN
        ALTER TABLE {{ schema }}.load_rejects ADD COLUMN dataset VARCHAR(32) DEFAULT 'sessions' NOT NULL;
    END IF;
END
$$;

-- The lake's quarantine (dataset quarantine: the messages the ingestion rejected, kept on HDFS under
-- quarantine/dt=<arrival date>/ and read by Hive's table quarantine) counted per date and reason, for the
-- dashboards; the records themselves stay on the lake. Replaced per dt by the lake sync
-- (load/replace_quarantine.sql); reason is the record's own or a loader label for an unreadable record.
CREATE TABLE IF NOT EXISTS {{ schema }}.quarantine_daily (
    dt     DATE NOT NULL,
    reason VARCHAR(32) NOT NULL,
    events BIGINT NOT NULL
)
/*@greenplum DISTRIBUTED BY (dt) */;

-- The last reconciliation of the pipeline's counts (scripts/reconcile.py --store, iptv/reconcile.py), replaced per
-- run: one row per figure compared (check = sent, accounted, landed, ..., lake_sessions, fact_session, a mart's
-- total; subject = the partition, batch or date) and one per gap (gap = its kind, detail = the sentence naming
-- it). gap IS NULL: a figure; the dashboard's Pipeline health shows the gaps of the last run and its totals.
CREATE TABLE IF NOT EXISTS {{ schema }}.reconcile_results (
    checked_at TIMESTAMP NOT NULL,
    date_from  DATE,
    date_to    DATE,
    check_name VARCHAR(64) NOT NULL,
    subject    TEXT NOT NULL,
    expected   NUMERIC(20, 3),
    found      NUMERIC(20, 3),
    gap        VARCHAR(32),
    detail     TEXT
)
/*@greenplum DISTRIBUTED RANDOMLY */;

-- Hourly viewers forecast of the analytics (python -m analytics forecast), replaced per run: the chosen model's
-- forecast of distinct viewers per clock hour (dt, hour) for every channel and for all channels together,
-- channel_id = 0 (channel ids start at 1), with the bounds of its 80 % and 95 % prediction intervals.
-- Written by the loader role, read by the read-only role (grants.sql).
CREATE TABLE IF NOT EXISTS {{ schema }}.forecast_hourly (
    dt         DATE NOT NULL,
    hour       SMALLINT NOT NULL,
    channel_id BIGINT NOT NULL,
    model      TEXT NOT NULL,
    yhat       DOUBLE PRECISION NOT NULL,
    lo80       DOUBLE PRECISION,
    hi80       DOUBLE PRECISION,
    lo95       DOUBLE PRECISION,
    hi95       DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL
)
/*@greenplum DISTRIBUTED BY (dt, hour) */;

-- Per-subscriber scores of the analytics (python -m analytics score), replaced per run: for the day scored_for,
-- the probability that the subscriber views that day and the probability of no viewing in the 7 days from it,
-- and the viewing segment (k-means over the weekday x hour profile and genre mix; 'inactive' without viewing).
CREATE TABLE IF NOT EXISTS {{ schema }}.subscriber_scores (
    user_id         BIGINT NOT NULL,
    scored_for      DATE NOT NULL,
    p_view_tomorrow DOUBLE PRECISION NOT NULL,
    p_inactive_7d   DOUBLE PRECISION NOT NULL,
    segment         TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
)
/*@greenplum DISTRIBUTED BY (user_id) */;
