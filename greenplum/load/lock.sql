-- Serialises loaders (the lock conflicts with itself); readers are not blocked. Taken inside every load
-- transaction before the facts, dimensions or marts are replaced.
LOCK TABLE {{ schema }}.fact_session IN SHARE ROW EXCLUSIVE MODE;
