-- Insight report: consecutive sessions of one subscriber (ordered by start, then end and id) and the gap between
-- them: the next session's start minus the previous one's end, in whole minutes (an overlap counts as 0), counted
-- per (from channel, to channel, gap minute) for gaps under one hour. Pairs on the same channel are kept: the
-- share of pairs that change channel is part of the insight. Names from dim_channel.
WITH ordered AS (
    SELECT user_id,
           channel_id,
           time_start,
           LAG(channel_id) OVER w AS prev_channel_id,
           LAG(time_end) OVER w AS prev_end
    FROM {{ schema }}.fact_session
    WINDOW w AS (PARTITION BY user_id ORDER BY time_start, time_end, session_id)
), pairs AS (
    SELECT prev_channel_id AS from_channel_id,
           channel_id AS to_channel_id,
           GREATEST(0, CAST(EXTRACT(EPOCH FROM (time_start - prev_end)) AS BIGINT)) / 60 AS gap_min
    FROM ordered
    WHERE prev_channel_id IS NOT NULL
)
SELECT p.from_channel_id,
       cf.channel_name AS from_channel_name,
       p.to_channel_id,
       ct.channel_name AS to_channel_name,
       p.gap_min,
       COUNT(*) AS pairs
FROM pairs p
LEFT JOIN {{ schema }}.dim_channel cf ON cf.channel_id = p.from_channel_id
LEFT JOIN {{ schema }}.dim_channel ct ON ct.channel_id = p.to_channel_id
WHERE p.gap_min < 60
GROUP BY p.from_channel_id, cf.channel_name, p.to_channel_id, ct.channel_name, p.gap_min
ORDER BY p.from_channel_id, p.to_channel_id, p.gap_min
