-- Mean households per standard grid (micro-grids left out); the standard is 300-500.
SELECT p.period_start, unit_of($by, g.community_id, g.grid_id) AS unit_id, avg(CAST(g.households AS DOUBLE)) AS value
FROM grids AS g
CROSS JOIN periods($date_from, $date_to, $bucket) AS p
WHERE NOT g.is_micro
    AND in_scope(g.community_id, g.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
