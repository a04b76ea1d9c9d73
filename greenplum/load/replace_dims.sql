-- ... and the replacement of the dimension tables by them: one row per id (for a duplicated id the row with
-- the smallest name is kept, so a reload is deterministic). A row whose id is not an integer is skipped; an
-- attribute that does not parse (share, gender, date) becomes NULL. Names are kept exactly as written.
DELETE FROM {{ schema }}.dim_channel;

INSERT INTO {{ schema }}.dim_channel (channel_id, channel_name, watch_share_pct, viewer_share_pct)
SELECT DISTINCT ON (channel_id) channel_id, channel_name, watch_share_pct, viewer_share_pct
FROM (
    SELECT CAST(btrim(channel_id) AS BIGINT) AS channel_id,
           channel_name,
           CASE WHEN btrim(watch_time_share_pct) ~ '^[0-9]{1,5}([.][0-9]*)?$'
                THEN CAST(btrim(watch_time_share_pct) AS NUMERIC(9, 4)) END AS watch_share_pct,
           CASE WHEN btrim(viewer_share_pct) ~ '^[0-9]{1,5}([.][0-9]*)?$'
                THEN CAST(btrim(viewer_share_pct) AS NUMERIC(9, 4)) END AS viewer_share_pct
    FROM stg_channel
    WHERE btrim(channel_id) ~ '^[0-9]{1,18}$'
) c
ORDER BY channel_id, channel_name;

DELETE FROM {{ schema }}.dim_user;

INSERT INTO {{ schema }}.dim_user (user_id, user_name, gender, birth_date, city, signup_date)
SELECT DISTINCT ON (user_id) user_id, user_name, gender, birth_date, city, signup_date
FROM (
    SELECT CAST(btrim(user_id) AS BIGINT) AS user_id,
           full_name AS user_name,
           CASE WHEN upper(btrim(gender)) IN ('M', 'F') THEN upper(btrim(gender)) END AS gender,
           CASE WHEN btrim(birth_date) ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9])$'
                     OR btrim(birth_date) ~ '^[1-9][0-9]{3}-(0[13-9]|1[0-2])-30$'
                     OR btrim(birth_date) ~ '^[1-9][0-9]{3}-(0[13578]|1[02])-31$'
                THEN CASE WHEN substr(btrim(birth_date), 6, 5) <> '02-29'
                               OR (mod(CAST(substr(btrim(birth_date), 1, 4) AS INTEGER), 4) = 0
                                   AND (mod(CAST(substr(btrim(birth_date), 1, 4) AS INTEGER), 100) <> 0
                                        OR mod(CAST(substr(btrim(birth_date), 1, 4) AS INTEGER), 400) = 0))
                          THEN CAST(btrim(birth_date) AS DATE) END
           END AS birth_date,
           NULLIF(city, '') AS city,
           CASE WHEN btrim(signup_date) ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9])$'
                     OR btrim(signup_date) ~ '^[1-9][0-9]{3}-(0[13-9]|1[0-2])-30$'
                     OR btrim(signup_date) ~ '^[1-9][0-9]{3}-(0[13578]|1[02])-31$'
                THEN CASE WHEN substr(btrim(signup_date), 6, 5) <> '02-29'
                               OR (mod(CAST(substr(btrim(signup_date), 1, 4) AS INTEGER), 4) = 0
                                   AND (mod(CAST(substr(btrim(signup_date), 1, 4) AS INTEGER), 100) <> 0
                                        OR mod(CAST(substr(btrim(signup_date), 1, 4) AS INTEGER), 400) = 0))
                          THEN CAST(btrim(signup_date) AS DATE) END
           END AS signup_date
    FROM stg_user
    WHERE btrim(user_id) ~ '^[0-9]{1,18}$'
) u
ORDER BY user_id, user_name;
