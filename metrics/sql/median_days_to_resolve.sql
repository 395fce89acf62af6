-- Median days from receipt to closing, over the cases resolved (已化解) during the period.
-- From the rollup's histogram of days (sql/_rollups.sql), so exact over any run of months.
WITH d AS (FROM cases_days($by, $community_id, $grid_id))
SELECT * FROM median_days('d', $date_from, $date_to, $bucket)
