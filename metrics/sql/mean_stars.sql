-- Mean star rating (1-5) of the property companies rated in the quarters the period touches.
SELECT p.period_start, r.community_id AS unit_id, avg(CAST(r.stars AS DOUBLE)) AS value
FROM property_ratings AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON quarter_start(r.quarter) <= p.period_end AND quarter_end(r.quarter) >= p.period_start
WHERE in_scope(r.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, r.community_id), (p.period_start))
