-- Community workers per 10,000 permanent residents; the staffing standard is at least 18.
SELECT
    p.period_start,
    c.community_id AS unit_id,
    CAST(sum(c.community_workers) AS DOUBLE) * 10000 / nullif(sum(c.residents), 0) AS value
FROM communities AS c
CROSS JOIN periods($date_from, $date_to, $bucket) AS p
WHERE in_scope(c.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, c.community_id), (p.period_start))
