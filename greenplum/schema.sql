-- Schema of the IPTV warehouse. Run by the loader (iptv.warehouse.apply_ddl) only when the schema is missing,
-- because CREATE SCHEMA IF NOT EXISTS still requires CREATE on the database.
CREATE SCHEMA IF NOT EXISTS iptv_dw;
