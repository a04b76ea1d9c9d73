-- Privileges on the warehouse schema. {{reader_user}} / {{loader_user}} are replaced by the quoted role names
-- of config postgres.reader_user / postgres.loader_user (iptv.warehouse.render_sql). Idempotent.
-- The read-only role may read every table (present and future) and nothing else; the loader role writes.
GRANT USAGE ON SCHEMA iptv_dw TO {{reader_user}};
GRANT SELECT ON ALL TABLES IN SCHEMA iptv_dw TO {{reader_user}};
GRANT USAGE ON SCHEMA iptv_dw TO {{loader_user}};
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA iptv_dw TO {{loader_user}};
ALTER DEFAULT PRIVILEGES IN SCHEMA iptv_dw GRANT SELECT ON TABLES TO {{reader_user}};
