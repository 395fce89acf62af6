-- Median days from receipt to closing, over the cases resolved during the period.
SELECT
    p.period_start,
    unit_of($by, c.community_id, c.grid_id) AS unit_id,
    median(date_diff('day', c.reported_on, c.resolved_on)) AS value
FROM cases AS c
JOIN periods($date_from, $date_to, $bucket) AS p
    ON c.resolved_on BETWEEN p.period_start AND p.period_end
WHERE c.status = '已化解'
    AND in_scope(c.community_id, c.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
