-- Disputes and urgent problems taken in (受理) during the period.
-- From the rollup (sql/_rollups.sql): cases by the month received.
SELECT p.period_start, r.unit_id, sum(r.received) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
