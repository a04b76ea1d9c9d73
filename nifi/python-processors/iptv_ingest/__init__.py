"""IPTV ingestion processors for NiFi 2: ConsumeViewingEvents (Kafka -> batches, offsets committed after NiFi
commits) and PutHdfsPartitioned (dated CSV sections -> HDFS over WebHDFS). Kept free of imports."""
