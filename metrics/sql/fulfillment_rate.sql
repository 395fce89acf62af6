-- Of the wishes registered in the period, the share now fulfilled (已实现).
SELECT
    p.period_start,
    unit_of($by, w.community_id, w.grid_id) AS unit_id,
    avg(CASE WHEN w.status = '已实现' THEN 1.0 ELSE 0.0 END) AS value
FROM wishes AS w
JOIN periods($date_from, $date_to, $bucket) AS p
    ON w.registered_on BETWEEN p.period_start AND p.period_end
WHERE in_scope(w.community_id, w.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
