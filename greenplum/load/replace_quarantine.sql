-- Replace the quarantine counts of date {{ dt }} (the partition dt= of the records: their arrival date) by the
-- records staged by this load (load/stage_quarantine.sql), counted per reason, inside the load's transaction:
-- a reload of the same files leaves quarantine_daily as it was, and a date whose files are gone has no rows.
-- A record counts under its own reason (first column); one the loader cannot read counts under a label of the
-- loader instead, so no content can fail the statement or overflow the column:
--   malformed_csv      the line could not be split as CSV
--   wrong_field_count  not the dataset's number of columns (its fields are then NULL in the staging table)
--   bad_reason         the reason is not a lower-case name (a letter, then up to 31 letters, digits or '_')
DELETE FROM {{ schema }}.quarantine_daily WHERE dt = CAST({{ dt }} AS DATE);

INSERT INTO {{ schema }}.quarantine_daily (dt, reason, events)
SELECT CAST({{ dt }} AS DATE), q.reason, COUNT(*)
FROM (
    SELECT CASE
               WHEN n_fields IS NULL THEN 'malformed_csv'
               WHEN reason IS NULL THEN 'wrong_field_count'
               WHEN reason !~ '^[a-z][a-z0-9_]{0,31}$' THEN 'bad_reason'
               ELSE reason
           END AS reason
    FROM stg_quarantine_raw
) AS q
GROUP BY q.reason;
