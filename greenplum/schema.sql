-- Schema of the IPTV warehouse. Run by the loader (iptv.warehouse.loads.apply_ddl) only when the schema is missing,
-- because CREATE SCHEMA IF NOT EXISTS still requires CREATE on the database.
CREATE SCHEMA IF NOT EXISTS {{ schema }};
