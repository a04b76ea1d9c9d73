-- Validate and cast the staged text rows of date {{ dt }} into stg_session (dropped at commit): every staged row
-- with its typed fields and its reject reason (NULL = loads). The first matching reason wins:
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
-- (functions.sql), so no value can make this statement fail.
-- Cost: OFFSET 0 keeps each inner subquery as it is, so each typed field is computed once per row (not copied
-- into every test that uses it) and parse_timestamp gets a plain column, which lets the planner inline it. Only
-- the session_ids seen more than once among the valid rows (a hash aggregate) are sorted to rank their rows.
CREATE TEMP TABLE stg_session ON COMMIT DROP AS
WITH checked AS (
    SELECT c.*,
           CASE
               WHEN n_fields IS NULL THEN 'malformed_csv'
               WHEN n_fields <> 6 THEN 'wrong_field_count'
               WHEN session_id IS NULL OR user_txt IS NULL OR channel_txt IS NULL
                    OR start_txt IS NULL OR end_txt IS NULL THEN 'missing_field'
               WHEN session_id !~ '^[0-9a-fA-F]{32}$' THEN 'bad_session_id'
               WHEN user_id IS NULL OR channel_id IS NULL THEN 'bad_id'
               WHEN time_start IS NULL OR time_end IS NULL THEN 'bad_timestamp'
               WHEN duration_txt IS NOT NULL AND duration_s IS NULL THEN 'bad_duration'
               WHEN CAST(time_start AS DATE) <> CAST({{ dt }} AS DATE) THEN 'other_date'
               WHEN time_end < time_start OR duration_s < 0 THEN 'negative_duration'
               WHEN duration_s <> CAST(EXTRACT(EPOCH FROM (time_end - time_start)) AS BIGINT) THEN 'duration_mismatch'
           END AS reason
    FROM (
        SELECT source_file, line_no, n_fields, raw_line, session_id, user_txt, channel_txt, start_txt, end_txt,
               duration_txt,
               CASE WHEN user_txt ~ '^[0-9]{1,18}$' THEN CAST(user_txt AS BIGINT) END AS user_id,
               CASE WHEN channel_txt ~ '^[0-9]{1,18}$' THEN CAST(channel_txt AS BIGINT) END AS channel_id,
               CASE WHEN duration_txt ~ '^-?[0-9]{1,18}$' THEN CAST(duration_txt AS BIGINT) END AS duration_s,
               {{ schema }}.parse_timestamp(start_txt) AS time_start,
               {{ schema }}.parse_timestamp(end_txt) AS time_end
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
        OFFSET 0
    ) c
), repeated_id AS (
    SELECT session_id FROM checked WHERE reason IS NULL GROUP BY session_id HAVING COUNT(*) > 1
), repeated AS (
    SELECT source_file, line_no
    FROM (
        SELECT c.source_file, c.line_no,
               row_number() OVER (PARTITION BY c.session_id
                                  ORDER BY c.time_start, c.time_end, c.user_id, c.channel_id, c.source_file,
                                           c.line_no) AS n
        FROM checked c
        JOIN repeated_id i ON i.session_id = c.session_id
        WHERE c.reason IS NULL
    ) r
    WHERE n > 1
)
SELECT c.source_file, c.line_no, c.raw_line, c.session_id, c.user_id, c.channel_id, c.time_start, c.time_end,
       c.duration_s, COALESCE(c.reason, CASE WHEN r.line_no IS NOT NULL THEN 'duplicate' END) AS reason
FROM checked c
LEFT JOIN repeated r ON r.source_file = c.source_file AND r.line_no = c.line_no
/*@greenplum DISTRIBUTED RANDOMLY */;
