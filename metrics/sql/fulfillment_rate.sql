-- Of the wishes registered in the period, the share now fulfilled (已实现).
-- From the rollup (sql/_rollups.sql): wishes now 已实现 over wishes registered, by the month registered.
SELECT p.period_start, r.unit_id, sum(r.fulfilled_of_registered) / nullif(sum(r.registered), 0)::DOUBLE AS value
FROM wishes_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
