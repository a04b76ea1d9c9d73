-- Empties the per-date marts and the viewers they counted before every covered date is recomputed
-- (iptv.warehouse.loads.recompute_all, after a change of the definitions); mart_weekday_hour is recomputed in full
-- anyway.
DELETE FROM {{ schema }}.mart_daily;
DELETE FROM {{ schema }}.mart_channel_daily;
DELETE FROM {{ schema }}.mart_hourly;
DELETE FROM {{ schema }}.mart_duration_hist;
DELETE FROM {{ schema }}.mart_programme;
DELETE FROM {{ schema }}.mart_genre_hourly;
DELETE FROM {{ schema }}.viewer_daily;
DELETE FROM {{ schema }}.viewer_hour_mask;
DELETE FROM {{ schema }}.viewer_channel_set;
DELETE FROM {{ schema }}.viewer_genre_hourly;
DELETE FROM {{ schema }}.watch_programme_user;
