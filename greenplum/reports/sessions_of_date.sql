-- The number of sessions of date {{ dt }} in the warehouse (bench/bench_soak.py --preload waits for its preload).
SELECT COUNT(*) FROM {{ schema }}.fact_session WHERE dt = CAST({{ dt }} AS DATE);
