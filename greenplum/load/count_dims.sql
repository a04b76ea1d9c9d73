-- The number of rows of both dimensions after load/replace_dims.sql.
SELECT (SELECT count(*) FROM {{ schema }}.dim_channel), (SELECT count(*) FROM {{ schema }}.dim_user);
