-- Freshness probe (bench/bench_soak.py): the sessions of date {{ dt }} that ended at or after {{ since }}, as
-- fact_session holds them now; the bench notes when each first appears.
SELECT session_id, time_end
FROM {{ schema }}.fact_session
WHERE dt = CAST({{ dt }} AS DATE) AND time_end >= CAST({{ since }} AS TIMESTAMP)
