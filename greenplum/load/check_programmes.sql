-- The staged guide rows of the load by reject reason (NULL = valid, loads), and the number of gaps; see
-- load/validate_programmes.sql and load/programme_gaps.sql.
SELECT reason, COUNT(*) FROM stg_programme GROUP BY reason
UNION ALL
SELECT 'gap', COUNT(*) FROM stg_programme_gap;
