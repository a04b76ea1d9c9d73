-- The last stored reconciliation (reconcile_results, one run): when it ran, its date range, how many gaps and
-- the first gaps' sentences (flow_status.py prints them in its summary).
SELECT MAX(checked_at) AS checked_at,
       MIN(date_from) AS date_from,
       MAX(date_to) AS date_to,
       COUNT(gap) AS gaps,
       STRING_AGG(CASE WHEN gap IS NOT NULL THEN subject || ': ' || detail END, ' | ') AS details
FROM {{ schema }}.reconcile_results;
