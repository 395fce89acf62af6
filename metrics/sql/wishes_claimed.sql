-- Micro-wishes claimed (认领) by a party member, office, company or volunteer during the period.
SELECT p.period_start, unit_of($by, w.community_id, w.grid_id) AS unit_id, count(*) AS value
FROM wishes AS w
JOIN periods($date_from, $date_to, $bucket) AS p
    ON w.claimed_on BETWEEN p.period_start AND p.period_end
WHERE in_scope(w.community_id, w.grid_id, $community_id, $grid_id)
GROUP BY GROUPING SETS ((p.period_start, unit_id), (p.period_start))
