-- Replace the programmes of date {{ dt }} in dim_programme by the accepted staged rows
-- (load/validate_programmes.sql: one row per programme_id, no overlap within a channel). Runs inside the guide
-- load transaction (iptv.warehouse.load_programmes), before the programme marts of the date are recomputed.
DELETE FROM {{ schema }}.dim_programme WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.dim_programme
    (dt, programme_id, channel_id, title, genre, series_id, episode, time_start, time_end)
SELECT CAST({{ dt }} AS DATE), programme_id, channel_id, title, genre, series_id, episode, time_start, time_end
FROM stg_programme
WHERE reason IS NULL;
