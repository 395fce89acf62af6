-- Urgent problems (急难愁盼) resolved, counted in the period of their closing date.
-- From the rollup (sql/_rollups.sql): cases of type 急难愁盼 with status 已化解 by the month closed.
SELECT p.period_start, r.unit_id, sum(r.problems_resolved) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
