-- Text staging tables for the catalogs (filled by COPY FROM STDIN, dropped at commit), one TEXT column per
-- column of the catalogs (datasets channels and users of schemas/datasets.json, same order). iptv.warehouse
-- splits the files with Python's csv module and stages only records with exactly that many fields (the others
-- are counted as rejected); load/replace_dims.sql checks and casts.
CREATE TEMP TABLE stg_channel (
    {{ channels_staging_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;

CREATE TEMP TABLE stg_user (
    {{ users_staging_columns }}
) ON COMMIT DROP
/*@greenplum DISTRIBUTED RANDOMLY */;
