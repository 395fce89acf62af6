-- Of the cases received in the period, the share now recorded as resolved (已化解).
SELECT
    p.period_start,
    unit_of($by, c.community_id, c.grid_id) AS unit_id,
    avg(CASE WHEN c.status = '已化解' THEN 1.0 ELSE 0.0 END) AS value
FROM cases AS c
JOIN periods($date_from, $date_to, $bucket) AS p
    ON c.reported_on BETWEEN p.period_start AND p.period_end
WHERE in_scope(c.community_id, c.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
