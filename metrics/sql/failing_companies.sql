-- Property companies rated two stars or fewer (不合格) at least once in the quarters the period touches.
-- A community with ratings and none failing has 0; one without ratings has no value.
SELECT
    p.period_start,
    r.community_id AS unit_id,
    count(DISTINCT r.company) FILTER (WHERE r.stars <= 2) AS value
FROM property_ratings AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON quarter_start(r.quarter) <= p.period_end AND quarter_end(r.quarter) >= p.period_start
WHERE in_scope(r.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, r.community_id), (p.period_start))
