"""IPTV warehouse processors for NiFi 2: SyncWarehouse (lake -> Hive partitions and aggregates -> Greenplum).
Kept free of imports."""
