-- Wishes registered in the period whose 30 days are not over yet (未到期): not judged by the
-- fulfilment rate yet (sql/fulfillment_rate.sql). None once today is 31 days past the
-- period's end.
-- From the rollups (sql/_rollups.sql): the months not judged whole, less the days judged of
-- the month the cut falls in (that of $today - 31).
WITH p AS (
    SELECT period_start, period_end, judged_to(period_end, $today) AS cut
    FROM periods($date_from, $date_to, $bucket)
),
pending AS (
    SELECT p.period_start, r.unit_id, r.registered AS n
    FROM wishes_monthly($by, $community_id, $grid_id) AS r
    JOIN p ON r.month BETWEEN p.period_start AND p.period_end AND last_day(r.month) > p.cut
    UNION ALL
    SELECT p.period_start, c.unit_id, -c.registered
    FROM wishes_cohorts($by, $community_id, $grid_id) AS c
    JOIN p ON c.month BETWEEN p.period_start AND p.period_end
        AND c.registered_on <= p.cut AND last_day(c.month) > p.cut
    WHERE c.month = date_trunc('month', $today::DATE - 31)
)
SELECT period_start, unit_id, sum(n) AS value
FROM pending
GROUP BY period_start, unit_id
