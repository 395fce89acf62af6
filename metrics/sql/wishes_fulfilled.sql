-- Micro-wishes fulfilled (圆梦), counted in the period of their fulfilment date.
SELECT p.period_start, unit_of($by, w.community_id, w.grid_id) AS unit_id, count(*) AS value
FROM wishes AS w
JOIN periods($date_from, $date_to, $bucket) AS p
    ON w.fulfilled_on BETWEEN p.period_start AND p.period_end
WHERE w.status = '已实现'
    AND in_scope(w.community_id, w.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
