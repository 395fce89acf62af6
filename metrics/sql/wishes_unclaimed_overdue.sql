-- Wishes still unclaimed at the end of the period, registered more than 30 days before it.
-- From the rollup (sql/_rollups.sql): unclaimed at the period's end minus those registered in its last 30 days.
SELECT
    p.period_start,
    r.unit_id,
    sum(r.net_unclaimed)
        - coalesce(sum(r.young_unclaimed) FILTER (WHERE r.month = date_trunc('month', p.period_end)), 0) AS value
FROM wishes_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month <= p.period_end
GROUP BY p.period_start, r.unit_id
