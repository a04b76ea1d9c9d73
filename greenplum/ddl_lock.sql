-- Serialises the DDL of concurrent loaders (schema.sql, ddl.sql, functions.sql, grants.sql): concurrent
-- CREATE ... IF NOT EXISTS, CREATE OR REPLACE FUNCTION and GRANT of the same object can fail with "tuple
-- concurrently updated". A transaction-level advisory lock, released at commit; the key is the schema's name.
SELECT pg_advisory_xact_lock(hashtext({{ schema_name }}));
