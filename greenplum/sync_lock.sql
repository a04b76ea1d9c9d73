-- Serialises the lake syncs of one warehouse schema that update the same target (iptv/lake_sync.py: the NiFi
-- processors SyncWarehouse and SyncHive, scripts/sync_lake.py): two syncs recomputing the same Hive mart at once
-- collide in Spark's _temporary directory of the table, and two warehouse syncs would only wait for each other's
-- loads. One lock per target ({{ lock_key }}: 2 the warehouse, 3 Hive), so a warehouse sync never waits for Hive.
-- A session-level advisory lock, taken on a connection of its own before the sync's first Hive or warehouse write
-- and held across the sync's transactions; it is released when that connection closes (at the end of the sync,
-- or when the client dies). A sync waits for it at most lock_timeout_ms (then LockNotAvailable). The key is the
-- pair (hashtext of the schema's name, the target's key): the two-key space is apart from ddl_lock.sql's one-key
-- transaction lock of the same schema.
SET LOCAL lock_timeout = {{ lock_timeout_ms }};
SELECT pg_advisory_lock(hashtext({{ schema_name }}), {{ lock_key }});
