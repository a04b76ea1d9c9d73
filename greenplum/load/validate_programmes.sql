-- Validate and cast the staged guide rows of date {{ dt }} into stg_programme (dropped at commit): every staged
-- row with its typed fields and its reject reason (NULL = loads into dim_programme). The first matching reason
-- wins:
--   malformed_csv      the record could not be split as CSV
--   wrong_field_count  not exactly 8 fields
--   missing_field      empty programme_id, channel_id, title, genre, time_start or time_end (series_id and
--                      episode are empty for a programme that is not a series)
--   bad_id             channel_id, or a non-empty episode, is not an integer (up to 18 digits)
--   bad_timestamp      time_start / time_end not 'YYYY-MM-DD HH:MM:SS' or not a real date and time
--   bad_genre          genre is not one of series, entertainment, news, film, sport, kids, documentary, music,
--                      other
--   other_date         time_start is not on {{ dt }}
--   end_before_start   time_end is not after time_start (a programme lasts at least one second)
--   ends_after_day     time_end is after the next midnight (a day's guide covers [dt 00:00, dt+1 00:00))
--   unknown_channel    channel_id is not in dim_channel
--   duplicate          a valid row whose programme_id was already seen (the first by time_start, file, line is
--                      kept)
--   overlap            a valid row that starts before an earlier-starting valid row of its channel ends (the
--                      earlier one is kept; rows are ordered by time_start, programme_id, file, line)
-- The gaps that remain between the accepted programmes of a channel are load/programme_gaps.sql. Casts are
-- guarded by CASE (its branches are evaluated in order) and timestamps parsed by parse_timestamp (functions.sql),
-- so no value can make this statement fail.
CREATE TEMP TABLE stg_programme ON COMMIT DROP AS
SELECT source_file, line_no, raw_line, programme_id, channel_id, title, genre, series_id, episode, time_start,
       time_end,
       COALESCE(row_reason,
                CASE WHEN time_start < MAX(time_end) OVER (PARTITION BY row_reason IS NULL, channel_id
                                                           ORDER BY time_start, programme_id, source_file, line_no
                                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     THEN 'overlap' END) AS reason
FROM (
    SELECT source_file, line_no, raw_line, programme_id, channel_id, title, genre, series_id, episode, time_start,
           time_end,
           COALESCE(check_reason,
                    CASE WHEN row_number() OVER (PARTITION BY check_reason IS NULL, programme_id
                                                 ORDER BY time_start, source_file, line_no) > 1
                         THEN 'duplicate' END) AS row_reason
    FROM (
        SELECT c.*,
               CASE
                   WHEN n_fields IS NULL THEN 'malformed_csv'
                   WHEN n_fields <> 8 THEN 'wrong_field_count'
                   WHEN programme_id IS NULL OR channel_txt IS NULL OR title_txt IS NULL OR genre IS NULL
                        OR start_txt IS NULL OR end_txt IS NULL THEN 'missing_field'
                   WHEN channel_id IS NULL OR (episode_txt IS NOT NULL AND episode IS NULL) THEN 'bad_id'
                   WHEN time_start IS NULL OR time_end IS NULL THEN 'bad_timestamp'
                   WHEN genre NOT IN ('series', 'entertainment', 'news', 'film', 'sport', 'kids', 'documentary',
                                      'music', 'other') THEN 'bad_genre'
                   WHEN CAST(time_start AS DATE) <> CAST({{ dt }} AS DATE) THEN 'other_date'
                   WHEN time_end <= time_start THEN 'end_before_start'
                   WHEN time_end > CAST({{ dt }} AS TIMESTAMP) + INTERVAL '1 day' THEN 'ends_after_day'
                   WHEN known.known_id IS NULL THEN 'unknown_channel'
               END AS check_reason
        FROM (
            SELECT source_file, line_no, n_fields, raw_line, programme_id, channel_txt, title, title_txt, genre,
                   series_id, episode_txt, start_txt, end_txt,
                   CASE WHEN channel_txt ~ '^[0-9]{1,18}$' THEN CAST(channel_txt AS BIGINT) END AS channel_id,
                   CASE WHEN episode_txt ~ '^[0-9]{1,18}$' THEN CAST(episode_txt AS BIGINT) END AS episode,
                   {{ schema }}.parse_timestamp(start_txt) AS time_start,
                   {{ schema }}.parse_timestamp(end_txt) AS time_end
            FROM (
                SELECT source_file, line_no, n_fields, raw_line,
                       NULLIF(btrim(programme_id), '') AS programme_id,
                       NULLIF(btrim(channel_id), '') AS channel_txt,
                       title,
                       NULLIF(btrim(title), '') AS title_txt,
                       NULLIF(btrim(genre), '') AS genre,
                       NULLIF(btrim(series_id), '') AS series_id,
                       NULLIF(btrim(episode), '') AS episode_txt,
                       NULLIF(btrim(time_start), '') AS start_txt,
                       NULLIF(btrim(time_end), '') AS end_txt
                FROM stg_programme_raw
            ) t
        ) c
        LEFT JOIN (SELECT channel_id AS known_id FROM {{ schema }}.dim_channel) known ON known.known_id = c.channel_id
    ) v
) d
/*@greenplum DISTRIBUTED RANDOMLY */;
