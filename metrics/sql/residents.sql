-- Permanent residents (常住人口), from the community registry as it stands (not dated).
SELECT p.period_start, c.community_id AS unit_id, sum(c.residents) AS value
FROM communities AS c
CROSS JOIN periods($date_from, $date_to, $bucket) AS p
WHERE in_scope(c.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, c.community_id), (p.period_start))
