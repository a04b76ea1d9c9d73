-- Functions of the warehouse schema {{ schema }}, used by the load's validation (load/validate_*.sql). Idempotent.
--
-- parse_timestamp(text): the TIMESTAMP a 'YYYY-MM-DD HH:MM:SS' text names, or NULL when the text has another
-- shape or names no real date and time (month 13, 30 February, 29 February of a common year, hour 24, second
-- 60). Guarded by CASE (its branches are evaluated in order) so that no text makes it raise: a bad row is
-- rejected with a reason instead of failing the load. STABLE, like the text -> timestamp cast it ends in, so
-- PostgreSQL inlines it into the validating query; it reads no table, so Greenplum runs it on the segments.
CREATE OR REPLACE FUNCTION {{ schema }}.parse_timestamp(txt TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE
AS $$
SELECT CASE WHEN txt ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' THEN
    CASE WHEN CAST(substr(txt, 1, 4) AS INTEGER) >= 1
              AND CAST(substr(txt, 6, 2) AS INTEGER) BETWEEN 1 AND 12
              AND CAST(substr(txt, 9, 2) AS INTEGER) BETWEEN 1 AND
                  CASE CAST(substr(txt, 6, 2) AS INTEGER)
                      WHEN 2 THEN
                          CASE WHEN (mod(CAST(substr(txt, 1, 4) AS INTEGER), 4) = 0
                                     AND mod(CAST(substr(txt, 1, 4) AS INTEGER), 100) <> 0)
                                    OR mod(CAST(substr(txt, 1, 4) AS INTEGER), 400) = 0
                               THEN 29 ELSE 28 END
                      WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30
                      ELSE 31
                  END
              AND CAST(substr(txt, 12, 2) AS INTEGER) <= 23
              AND CAST(substr(txt, 15, 2) AS INTEGER) <= 59
              AND CAST(substr(txt, 18, 2) AS INTEGER) <= 59
         THEN CAST(txt AS TIMESTAMP) END
END
$$;
