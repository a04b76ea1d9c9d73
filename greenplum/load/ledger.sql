-- The ledger of date {{ dt }}: the sessions files whose rows the warehouse holds, with the version loaded.
SELECT path, length, mtime_ms
FROM {{ schema }}.loaded_file
WHERE dt = CAST({{ dt }} AS DATE) AND dataset = 'sessions';
