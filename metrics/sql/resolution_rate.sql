-- Of the cases received in the period, the share resolved (已化解) by the period's end: a
-- case received in October and resolved on 3 November is not resolved in October's figure
-- (it is in the quarter's). From the dates alone, never from a status as it stands today.
-- From the rollups (sql/_rollups.sql): cases received by month, over the resolved cases'
-- histogram by month received (received_month) and month resolved (month).
SELECT period_start, unit_id, sum(resolved) / nullif(sum(received), 0)::DOUBLE AS value
FROM (
    SELECT p.period_start, r.unit_id, r.received, 0 AS resolved
    FROM cases_monthly($by, $community_id, $grid_id) AS r
    JOIN periods($date_from, $date_to, $bucket) AS p
        ON r.month BETWEEN p.period_start AND p.period_end
    UNION ALL
    SELECT p.period_start, d.unit_id, 0, d.n
    FROM cases_days($by, $community_id, $grid_id) AS d
    JOIN periods($date_from, $date_to, $bucket) AS p
        ON d.received_month BETWEEN p.period_start AND p.period_end AND d.month <= p.period_end
    WHERE d.month BETWEEN $date_from AND $date_to  -- the same rows; lets the scan filter first
)
GROUP BY period_start, unit_id
