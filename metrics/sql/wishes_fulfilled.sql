-- Micro-wishes fulfilled (圆梦), counted in the period of their fulfilment date.
-- From the rollup (sql/_rollups.sql): wishes with status 已实现 by the month fulfilled.
SELECT p.period_start, r.unit_id, sum(r.fulfilled) AS value
FROM wishes_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
