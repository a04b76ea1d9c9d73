-- Validate and cast the staged rows of date {{ dt }} into stg_session (dropped at commit): every staged row, text
-- (stg_session_raw) or typed (stg_session_typed, load/stage_sessions.sql), with its typed fields and its reject
-- reason (NULL = loads). The first matching reason wins:
--   malformed_csv      the record could not be split as CSV
--   wrong_field_count  not exactly 6 fields
--   missing_field      empty session_id, user_id, channel_id, time_start or time_end (duration_s may be empty:
--                      it is then derived from the timestamps)
--   bad_session_id     session_id is not 32 hex digits
--   bad_id             user_id or channel_id is not an integer (up to 18 digits)
--   bad_timestamp      time_start / time_end not 'YYYY-MM-DD HH:MM:SS' or not a real date and time
--   bad_duration       duration_s is not an integer
--   other_date         time_start is not on {{ dt }}
--   negative_duration  time_end before time_start, or duration_s < 0
--   duration_mismatch  duration_s <> time_end - time_start in seconds
--   duplicate          a valid row whose session_id was already seen (the first by time_start, time_end,
--                      user_id, channel_id, file, line is kept)
-- Casts are guarded by CASE (its branches are evaluated in order) and timestamps parsed by parse_timestamp
-- (functions.sql), so no value can make these statements fail.
-- A typed row has passed every check up to bad_duration already (the splitter's canonical form), so only the
-- checks from other_date on are left for it; raw_line is NULL for it (rebuilt where a reject needs it).
-- Cost, per staged text row: a few character-class tests and one hash lookup per timestamp. OFFSET 0 keeps each
-- subquery as it is, so each trimmed and typed field is computed once per row (not copied into every test that
-- uses it). A day's timestamps repeat
-- (at most 86,400 distinct seconds per date), so each distinct text is parsed once, into stg_session_timestamp;
-- regular expressions avoid counted repetition ({32}, {1,18}), which PostgreSQL's engine runs several times
-- slower than a length test beside a plain class; duplicates are marked by an UPDATE of the few rows whose
-- session_id repeats, instead of a join of every row. The staging tables are analyzed so that the planner knows
-- their size (a guess made it sort millions of rows for merge joins instead of hashing the timestamps).
ANALYZE stg_session_raw;

CREATE TEMP TABLE stg_session_timestamp ON COMMIT DROP AS
SELECT txt, {{ schema }}.parse_timestamp(txt) AS ts
FROM (
    SELECT NULLIF(btrim(time_start), '') AS txt FROM stg_session_raw
    UNION
    SELECT NULLIF(btrim(time_end), '') FROM stg_session_raw
) u
WHERE txt IS NOT NULL
/*@greenplum DISTRIBUTED BY (txt) */;

ANALYZE stg_session_timestamp;

CREATE TEMP TABLE stg_session ON COMMIT DROP AS
SELECT source_file, line_no, raw_line, session_id, user_id, channel_id, time_start, time_end, duration_s,
       CASE
           WHEN n_fields IS NULL THEN 'malformed_csv'
           WHEN n_fields <> 6 THEN 'wrong_field_count'
           WHEN session_id IS NULL OR user_txt IS NULL OR channel_txt IS NULL
                OR start_txt IS NULL OR end_txt IS NULL THEN 'missing_field'
           WHEN length(session_id) <> 32 OR session_id !~ '^[0-9a-fA-F]+$' THEN 'bad_session_id'
           WHEN user_id IS NULL OR channel_id IS NULL THEN 'bad_id'
           WHEN time_start IS NULL OR time_end IS NULL THEN 'bad_timestamp'
           WHEN duration_txt IS NOT NULL AND duration_s IS NULL THEN 'bad_duration'
           WHEN CAST(time_start AS DATE) <> CAST({{ dt }} AS DATE) THEN 'other_date'
           WHEN time_end < time_start OR duration_s < 0 THEN 'negative_duration'
           WHEN duration_s <> CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT) THEN 'duration_mismatch'
       END AS reason
FROM (
    SELECT t.source_file, t.line_no, t.n_fields, t.raw_line, t.session_id, t.user_txt, t.channel_txt, t.start_txt,
           t.end_txt, t.duration_txt,
           CASE WHEN length(t.user_txt) <= 18 AND t.user_txt ~ '^[0-9]+$' THEN CAST(t.user_txt AS BIGINT) END
               AS user_id,
           CASE WHEN length(t.channel_txt) <= 18 AND t.channel_txt ~ '^[0-9]+$' THEN CAST(t.channel_txt AS BIGINT) END
               AS channel_id,
           CASE WHEN t.duration_txt ~ '^-?[0-9]+$'
                     AND length(t.duration_txt) <= CASE WHEN substr(t.duration_txt, 1, 1) = '-' THEN 19 ELSE 18 END
                THEN CAST(t.duration_txt AS BIGINT) END AS duration_s,
           s.ts AS time_start,
           e.ts AS time_end
    FROM (
        SELECT source_file, line_no, n_fields, raw_line,
               NULLIF(btrim(session_id), '') AS session_id,
               NULLIF(btrim(user_id), '') AS user_txt,
               NULLIF(btrim(channel_id), '') AS channel_txt,
               NULLIF(btrim(time_start), '') AS start_txt,
               NULLIF(btrim(time_end), '') AS end_txt,
               NULLIF(btrim(duration_s), '') AS duration_txt
        FROM stg_session_raw
        OFFSET 0
    ) t
    LEFT JOIN stg_session_timestamp s ON s.txt = t.start_txt
    LEFT JOIN stg_session_timestamp e ON e.txt = t.end_txt
    OFFSET 0
) c
UNION ALL
SELECT source_file, line_no, CAST(NULL AS TEXT), session_id, user_id, channel_id, time_start, time_end, duration_s,
       CASE
           WHEN CAST(time_start AS DATE) <> CAST({{ dt }} AS DATE) THEN 'other_date'
           WHEN time_end < time_start THEN 'negative_duration'
           WHEN duration_s <> CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT) THEN 'duration_mismatch'
       END
FROM stg_session_typed
/*@greenplum DISTRIBUTED RANDOMLY */;

ANALYZE stg_session;

UPDATE stg_session s
SET reason = 'duplicate'
FROM (
    SELECT source_file, line_no
    FROM (
        SELECT c.source_file, c.line_no,
               row_number() OVER (PARTITION BY c.session_id
                                  ORDER BY c.time_start, c.time_end, c.user_id, c.channel_id, c.source_file,
                                           c.line_no) AS n
        FROM stg_session c
        WHERE c.reason IS NULL
              AND c.session_id IN (SELECT session_id FROM stg_session WHERE reason IS NULL
                                   GROUP BY session_id HAVING COUNT(*) > 1)
    ) r
    WHERE n > 1
) d
WHERE s.source_file = d.source_file AND s.line_no = d.line_no;
