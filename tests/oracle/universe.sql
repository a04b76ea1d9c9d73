-- The universe: distinct users of the users catalog.
SELECT count(DISTINCT user_id) AS universe FROM users
