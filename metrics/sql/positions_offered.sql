-- Positions offered through the service (提供岗位), summed over the monthly reports in the period.
-- Employment is reported per community, not per grid: a grid has no value (catalog grid: false).
SELECT p.period_start, e.community_id AS unit_id, sum(e.positions_offered) AS value
FROM employment AS e
JOIN periods($date_from, $date_to, $bucket) AS p
    ON e.month BETWEEN p.period_start AND p.period_end
WHERE in_scope(e.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((p.period_start, e.community_id), (p.period_start))
