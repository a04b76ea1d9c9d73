-- The number of programmes of date {{ dt }} in dim_programme after load/replace_programmes.sql.
SELECT count(*) FROM {{ schema }}.dim_programme WHERE dt = CAST({{ dt }} AS DATE);
