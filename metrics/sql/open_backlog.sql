-- Cases still open at the end of the period: received by then, not closed by then.
-- From the rollup (sql/_rollups.sql): received minus closed, summed over every month up to the period's end.
SELECT
    p.period_start,
    r.unit_id,
    sum(r.net_open) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month <= p.period_end
GROUP BY p.period_start, r.unit_id
