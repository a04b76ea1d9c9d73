-- Streams CSV rows into the staging table {{ table }} (load/stage_sessions.sql, load/dims.sql): every value
-- quoted, so a raw line "\." is data and not the end-of-data marker; an unquoted empty field is NULL.
COPY {{ table }} FROM STDIN WITH (FORMAT csv)
