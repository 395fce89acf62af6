-- Wishes still unclaimed at the end of the period, registered more than 30 days before it.
SELECT p.period_start, unit_of($by, w.community_id, w.grid_id) AS unit_id, count(*) AS value
FROM wishes AS w
JOIN periods($date_from, $date_to, $bucket) AS p
    ON w.registered_on < p.period_end - INTERVAL 30 DAY
    AND (w.claimed_on IS NULL OR w.claimed_on > p.period_end)
WHERE in_scope(w.community_id, w.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
