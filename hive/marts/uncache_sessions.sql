-- Frees the sessions cached by hive/marts/cache_sessions.sql: the cache and the temporary view {{ sessions }}.
UNCACHE TABLE IF EXISTS {{ sessions }};
DROP VIEW IF EXISTS {{ sessions }}
