-- Share of standard grids (micro-grids left out) whose households are within 300-500.
SELECT
    p.period_start,
    unit_of($by, g.community_id, g.grid_id) AS unit_id,
    avg(CAST(CASE WHEN g.households BETWEEN 300 AND 500 THEN 1 ELSE 0 END AS DOUBLE)) AS value
FROM grids AS g
CROSS JOIN periods($date_from, $date_to, $bucket) AS p
WHERE NOT g.is_micro
    AND in_scope(g.community_id, g.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
