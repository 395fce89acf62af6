-- Micro-wishes claimed (认领) by a party member, office, company or volunteer during the period.
-- From the rollup (sql/_rollups.sql): wishes by the month claimed.
SELECT p.period_start, r.unit_id, sum(r.claimed) AS value
FROM wishes_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
