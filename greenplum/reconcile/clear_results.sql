-- Before a reconciliation's rows are stored (reconcile/insert_result.sql, same transaction): the last run's go.
DELETE FROM {{ schema }}.reconcile_results;
