-- The rows of date {{ dt }} of {{ table }} (a mart, or the viewers a mart counted), cleared before the date's
-- marts are recomputed from fact_session (iptv.warehouse.loads.recompute_dates).
DELETE FROM {{ schema }}.{{ table }} WHERE dt = CAST({{ dt }} AS DATE);
