-- Cases open at the end of the period that had then been open for more than 30 days.
-- From the rollup (sql/_rollups.sql): open at the period's end minus those received in its last 30 days.
SELECT
    p.period_start,
    r.unit_id,
    sum(r.net_open)
        - coalesce(sum(r.young_open) FILTER (WHERE r.month = date_trunc('month', p.period_end)), 0) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month <= p.period_end
GROUP BY p.period_start, r.unit_id
