-- Serialises whole lake syncs of one warehouse schema (iptv/lake_sync.py: the NiFi processor SyncWarehouse and
-- scripts/sync_lake.py): two syncs recomputing the same Hive mart at once collide in Spark's _temporary directory
-- of the table. A session-level advisory lock, taken on a connection of its own before the sync's first Hive or
-- warehouse write and held across the sync's transactions; it is released when that connection closes (at the
-- end of the sync, or when the client dies). A sync waits for it at most lock_timeout_ms (then
-- LockNotAvailable). The key is the pair (hashtext of the schema's name, 2): the two-key space is apart from
-- ddl_lock.sql's one-key transaction lock of the same schema.
SET LOCAL lock_timeout = {{ lock_timeout_ms }};
SELECT pg_advisory_lock(hashtext({{ schema_name }}), 2);
