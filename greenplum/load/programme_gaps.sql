-- The gaps of the guide of date {{ dt }} into stg_programme_gap (dropped at commit): for every channel with an
-- accepted programme that day (stg_programme, reason NULL), each interval of [dt 00:00, dt+1 00:00) that none of
-- its accepted programmes covers. A gap is a reject of reason 'gap' (load/replace_programme_rejects.sql) whose
-- raw_line is 'channel_id,gap start,gap end' ('YYYY-MM-DD HH:MM:SS', [start, end)), with the file and line of
-- the programme after it (of the day's last programme for a gap up to midnight). The programmes of a channel
-- with a gap still load and get their marts; its watch time during the gap belongs to no programme.
-- Accepted programmes of a channel never overlap (load/validate_programmes.sql), so in time_start order each one
-- starts at or after the end of the one before.
CREATE TEMP TABLE stg_programme_gap ON COMMIT DROP AS
WITH bounds AS (
    SELECT CAST({{ dt }} AS TIMESTAMP) AS ds,
           CAST({{ dt }} AS TIMESTAMP) + INTERVAL '1 day' AS de
), ordered AS (
    SELECT source_file, line_no, channel_id, time_start, time_end,
           LAG(time_end) OVER (PARTITION BY channel_id ORDER BY time_start) AS prev_end,
           LEAD(time_start) OVER (PARTITION BY channel_id ORDER BY time_start) AS next_start
    FROM stg_programme
    WHERE reason IS NULL
), gaps AS (
    SELECT o.source_file, o.line_no, o.channel_id, COALESCE(o.prev_end, b.ds) AS gap_start, o.time_start AS gap_end
    FROM ordered o
    CROSS JOIN bounds b
    WHERE o.time_start > COALESCE(o.prev_end, b.ds)
    UNION ALL
    SELECT o.source_file, o.line_no, o.channel_id, o.time_end, b.de
    FROM ordered o
    CROSS JOIN bounds b
    WHERE o.next_start IS NULL AND o.time_end < b.de
)
SELECT source_file, line_no, channel_id, gap_start, gap_end,
       CAST(channel_id AS TEXT) || ',' || to_char(gap_start, 'YYYY-MM-DD HH24:MI:SS') || ','
       || to_char(gap_end, 'YYYY-MM-DD HH24:MI:SS') AS raw_line
FROM gaps
/*@greenplum DISTRIBUTED RANDOMLY */;
