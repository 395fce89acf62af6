-- 督办办结率: of the tracked follow-up items whose deadline falls in the period, the share
-- closed by their deadline, each item as it stood at the period's end (its latest event by
-- then): closed means an answer standing (已办结 or 销号; one the leader returned does not
-- count) whose day (answered_on) is on or before the deadline. metrics/tracking/closure.py
-- says why; the items are not reported by grid.
WITH latest AS (
    SELECT p.period_start, p.period_end, e.item_id, max(e.event_no) AS event_no
    FROM followup_events AS e
    JOIN periods($date_from, $date_to, $bucket) AS p
        ON e.day <= p.period_end
    GROUP BY p.period_start, p.period_end, e.item_id
)
SELECT
    l.period_start,
    e.community_id AS unit_id,
    avg(
        CAST(
            CASE
                WHEN e.status IN ('answered', 'accepted') AND e.answered_on <= e.deadline THEN 1
                ELSE 0
            END AS DOUBLE
        )
    ) AS value
FROM latest AS l
JOIN followup_events AS e
    ON e.item_id = l.item_id AND e.event_no = l.event_no
WHERE e.deadline BETWEEN l.period_start AND l.period_end
    AND in_scope(e.community_id, NULL, $community_id, NULL)
GROUP BY GROUPING SETS ((l.period_start, e.community_id), (l.period_start))
