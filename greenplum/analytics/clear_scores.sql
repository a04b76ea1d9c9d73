-- Before a score run writes its rows: subscriber_scores holds one run only.
DELETE FROM {{ schema }}.subscriber_scores
