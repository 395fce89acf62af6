-- Disputes identified and taken in hand (排查处理矛盾纠纷) during the period, counted when received.
-- From the rollup (sql/_rollups.sql): cases of type 矛盾纠纷 by the month received.
SELECT p.period_start, r.unit_id, sum(r.disputes) AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
