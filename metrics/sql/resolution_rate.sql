-- Of the cases received in the period, the share now recorded as resolved (已化解).
-- From the rollup (sql/_rollups.sql): cases now 已化解 over cases received, by the month received.
SELECT p.period_start, r.unit_id, sum(r.resolved_of_received) / nullif(sum(r.received), 0)::DOUBLE AS value
FROM cases_monthly($by, $community_id, $grid_id) AS r
JOIN periods($date_from, $date_to, $bucket) AS p
    ON r.month BETWEEN p.period_start AND p.period_end
GROUP BY p.period_start, r.unit_id
