-- Functions of the warehouse schema {{ schema }}, used by the load's validation (load/validate_*.sql). Idempotent.
--
-- parse_timestamp(text): the TIMESTAMP a 'YYYY-MM-DD HH:MM:SS' text names, or NULL when the text has another
-- shape or names no real date and time (year 0000, month 13, 31 April, 30 February, 29 February of a common
-- year, hour 24, second 60). No text makes it raise, so a bad row is rejected with a reason instead of failing
-- the load: the pattern admits only months 01-12, days 01-31, hours 00-23 and minutes and seconds 00-59, and
-- CASE (its branches are evaluated in order) casts only after the day has been checked against its month.
-- STABLE, as the text-to-timestamp cast in it is: a function declared less volatile than its body is never
-- inlined, and a call that is not inlined costs several times the expression itself (load/validate_sessions.sql
-- passes it a plain column so that it is inlined). Reads no table, so Greenplum runs it on the segments.
CREATE OR REPLACE FUNCTION {{ schema }}.parse_timestamp(txt TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE
AS $$
SELECT CASE
    WHEN txt !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$'
        THEN NULL
    WHEN substr(txt, 1, 4) = '0000' THEN NULL
    WHEN substr(txt, 9, 2) <= '28' OR substr(txt, 6, 2) IN ('01', '03', '05', '07', '08', '10', '12')
        THEN CAST(txt AS TIMESTAMP)
    WHEN substr(txt, 6, 2) IN ('04', '06', '09', '11')
        THEN CASE WHEN substr(txt, 9, 2) <= '30' THEN CAST(txt AS TIMESTAMP) END
    WHEN substr(txt, 9, 2) = '29'
         AND ((mod(CAST(substr(txt, 1, 4) AS INTEGER), 4) = 0 AND mod(CAST(substr(txt, 1, 4) AS INTEGER), 100) <> 0)
              OR mod(CAST(substr(txt, 1, 4) AS INTEGER), 400) = 0)
        THEN CAST(txt AS TIMESTAMP)
END
$$;
