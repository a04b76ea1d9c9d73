-- One row when the warehouse schema {{ schema_name }} exists (iptv.warehouse.loads.apply_ddl: schema.sql only
-- then, because CREATE SCHEMA IF NOT EXISTS still requires CREATE on the database).
SELECT 1 FROM pg_namespace WHERE nspname = {{ schema_name }};
