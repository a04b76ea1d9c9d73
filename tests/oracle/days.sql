-- The dates covered: every date with a session that starts on it or overlaps it.
SELECT DISTINCT day FROM slices ORDER BY day
