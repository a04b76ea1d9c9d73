-- ... and the replacement of the dimension tables by them: one row per id (for a duplicated id the row with
-- the smallest name is kept, so a reload is deterministic).
DELETE FROM iptv_dw.dim_channel;

INSERT INTO iptv_dw.dim_channel (channel_id, channel_name, watch_share_pct, viewer_share_pct)
SELECT DISTINCT ON (channel_id) channel_id, channel_name, watch_share_pct, viewer_share_pct
FROM stg_channel
WHERE channel_id IS NOT NULL
ORDER BY channel_id, channel_name;

DELETE FROM iptv_dw.dim_user;

INSERT INTO iptv_dw.dim_user (user_id, user_name)
SELECT DISTINCT ON (user_id) user_id, user_name
FROM stg_user
WHERE user_id IS NOT NULL
ORDER BY user_id, user_name;
