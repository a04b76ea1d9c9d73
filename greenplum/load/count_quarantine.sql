-- The quarantine counts of date {{ dt }} per reason after load/replace_quarantine.sql.
SELECT reason, events FROM {{ schema }}.quarantine_daily WHERE dt = CAST({{ dt }} AS DATE) ORDER BY reason;
