-- Roles and database of the warehouse (PostgreSQL 15 locally, the Greenplum stand-in). Idempotent: run on
-- every `stack up` by local_stack/postgres.py with psql as the admin role, connected to the maintenance database.
--
-- psql variables (set by the caller; passwords arrive on stdin, never on a command line):
--   database, loader_user, loader_password, reader_user, reader_password, admin_user, admin_password
--
-- The loader owns the database and everything it creates. The reader may connect and SELECT: USAGE on the
-- loader's schemas and SELECT on their tables, now and (default privileges) for tables created later.
\set ON_ERROR_STOP on

-- Roles: create if missing, then (re)set the password and attributes.
SELECT format('CREATE ROLE %I LOGIN', :'loader_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'loader_user') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'reader_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'reader_user') \gexec
ALTER ROLE :"loader_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'loader_password';
ALTER ROLE :"reader_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reader_password';
ALTER ROLE :"admin_user" WITH PASSWORD :'admin_password';

-- The database, owned by the loader.
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'database', :'loader_user', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"loader_user";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"loader_user";
GRANT CONNECT ON DATABASE :"database" TO :"reader_user";

\connect :"database"

-- The public schema: usable by both, writable by the loader only.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"loader_user";
GRANT USAGE ON SCHEMA public TO :"reader_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader_user";

-- Schemas the loader already created: USAGE and SELECT on their tables and views.
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', n.nspname, :'reader_user')
  FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
 WHERE r.rolname = :'loader_user' \gexec
SELECT format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', n.nspname, :'reader_user')
  FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
 WHERE r.rolname = :'loader_user' \gexec

-- Everything the loader creates from now on, in any schema.
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader_user" GRANT USAGE ON SCHEMAS TO :"reader_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"loader_user" GRANT SELECT ON TABLES TO :"reader_user";
