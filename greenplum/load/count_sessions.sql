-- The number of fact rows of date {{ dt }} after load/insert_sessions.sql.
SELECT count(*) FROM {{ schema }}.fact_session WHERE dt = CAST({{ dt }} AS DATE);
