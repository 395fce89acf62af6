-- Cases open at the end of the period that had then been open for more than 30 days.
SELECT p.period_start, unit_of($by, c.community_id, c.grid_id) AS unit_id, count(*) AS value
FROM cases AS c
JOIN periods($date_from, $date_to, $bucket) AS p
    ON c.reported_on < p.period_end - INTERVAL 30 DAY
    AND (c.resolved_on IS NULL OR c.resolved_on > p.period_end)
WHERE in_scope(c.community_id, c.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
