-- Of the wishes registered in the period that are judged (their 30 days are over: registered
-- at least 31 days before $today, sql/_macros.sql judged_to), the share fulfilled (已实现)
-- within 30 days of registration. The rest are 未到期 (wishes_not_due), so the latest month
-- shows no built-in fall; a period's value is final 31 days after its end.
-- From the rollups (sql/_rollups.sql): months judged whole from wishes_rollup, the one month
-- the cut falls in (that of $today - 31) day by day from wishes_cohort_rollup.
WITH p AS (
    SELECT period_start, period_end, judged_to(period_end, $today) AS cut
    FROM periods($date_from, $date_to, $bucket)
),
judged AS (
    SELECT p.period_start, r.unit_id, r.registered, r.fulfilled_in_time
    FROM wishes_monthly($by, $community_id, $grid_id) AS r
    JOIN p ON r.month BETWEEN p.period_start AND p.period_end AND last_day(r.month) <= p.cut
    UNION ALL
    SELECT p.period_start, c.unit_id, c.registered, c.fulfilled_in_time
    FROM wishes_cohorts($by, $community_id, $grid_id) AS c
    JOIN p ON c.month BETWEEN p.period_start AND p.period_end
        AND c.registered_on <= p.cut AND last_day(c.month) > p.cut
    WHERE c.month = date_trunc('month', $today::DATE - 31)
)
SELECT period_start, unit_id, sum(fulfilled_in_time) / nullif(sum(registered), 0)::DOUBLE AS value
FROM judged
GROUP BY period_start, unit_id
