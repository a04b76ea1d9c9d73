-- Register the partitions of date {{ dt }} (YYYY-MM-DD) of the partitioned tables, the programme guide's too
-- (idempotent). Placeholders as in create_tables.sql; {{ <table>_partition }} is the full URI of the table's
-- dt={{ dt }} directory. A missing directory is created empty by the metastore.
ALTER TABLE {{ database }}.viewing_events ADD IF NOT EXISTS PARTITION (dt={{ dt }})
LOCATION {{ viewing_events_partition }};

ALTER TABLE {{ database }}.sessions ADD IF NOT EXISTS PARTITION (dt={{ dt }})
LOCATION {{ sessions_partition }};

ALTER TABLE {{ database }}.quarantine ADD IF NOT EXISTS PARTITION (dt={{ dt }})
LOCATION {{ quarantine_partition }};

ALTER TABLE {{ database }}.ingest_batches ADD IF NOT EXISTS PARTITION (dt={{ dt }})
LOCATION {{ ingest_batches_partition }};

ALTER TABLE {{ database }}.programmes ADD IF NOT EXISTS PARTITION (dt={{ dt }})
LOCATION {{ programmes_partition }}
