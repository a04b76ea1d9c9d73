-- Privileges on the warehouse schema {{ schema }}. {{ reader_user }} / {{ loader_user }} are the quoted role names
-- of config postgres.reader_user / postgres.loader_user (iptv.warehouse.schema.Warehouse). Idempotent.
-- The read-only role may read every table (present and future) and nothing else; the loader role writes.
GRANT USAGE ON SCHEMA {{ schema }} TO {{ reader_user }};
GRANT SELECT ON ALL TABLES IN SCHEMA {{ schema }} TO {{ reader_user }};
GRANT USAGE ON SCHEMA {{ schema }} TO {{ loader_user }};
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {{ schema }} TO {{ loader_user }};
ALTER DEFAULT PRIVILEGES IN SCHEMA {{ schema }} GRANT SELECT ON TABLES TO {{ reader_user }};
