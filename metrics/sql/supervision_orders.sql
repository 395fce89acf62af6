-- Cases dispatched with a public-sentiment supervision order (民情督办单), by date received.
-- From the rollup (sql/_rollups.sql): supervised cases by the month received.
SELECT p.period_start, r.unit_id, sum(r.supervised) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
