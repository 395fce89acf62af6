-- Disputes and urgent problems taken in (受理) during the period.
SELECT p.period_start, unit_of($by, c.community_id, c.grid_id) AS unit_id, count(*) AS value
FROM cases AS c
JOIN periods($date_from, $date_to, $bucket) AS p
    ON c.reported_on BETWEEN p.period_start AND p.period_end
WHERE in_scope(c.community_id, c.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
