-- The newest date sessions start on (NULL when fact_session is empty).
SELECT MAX(f.dt) AS dt
FROM {{ schema }}.fact_session f
