-- Grids (网格) on the registry, micro-grids included.
SELECT p.period_start, unit_of($by, g.community_id, g.grid_id) AS unit_id, count(*) AS value
FROM grids AS g
CROSS JOIN periods($date_from, $date_to, $bucket) AS p
WHERE in_scope(g.community_id, g.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
