-- Rollups: per unit and month, the additive measures that the cases and wishes metrics are
-- made of, so that pages read ~60 rows per community instead of every record.
-- Loaded by Store.connect after _macros.sql. Why and how they stay in step with the data:
-- docs/decisions/0005-scale.md.
--
-- *_measures(unit_kind, want_community, want_grid) compute them from the raw records of the
-- scope; the store keeps the result for every community (and the city, community_id NULL)
-- in the tables cases_rollup, cases_days_rollup, wishes_rollup, wishes_days_rollup and
-- wishes_cohort_rollup. *_grid_measures are the same measures by grid within each community
-- (a column grid_id after the unit): the tables cases_grid_rollup and the like, keyed
-- (community_id, grid_id, ...), with no city rows, for the drill-downs into a community's
-- grids. Each pair is one *_keyed macro, by_grid saying whether grid_id is a key (NULL when
-- not), so that the two cannot drift apart. *_monthly / *_days / *_cohorts are what metric
-- queries read (sql/_rollup_reads.sql).
--
-- Every figure of a period is as of the period's end, from the dates alone (never today's
-- status; docs/decisions/0009-as-of-period-end.md). Period-end stocks are sums of flows,
-- so that every column stays additive:
--   open at month end T   = sum over months <= T of net_open
--   overdue at T          = open at T - young_open of T's month (opened in the 30 days to T)
-- exact for any T that is a month end, which every Period is. Cases received in a period
-- and resolved by its end come from cases_days_rollup, which keeps the month received.

CREATE OR REPLACE MACRO cases_keyed(unit_kind, want_community, want_grid, by_grid) AS TABLE
    WITH c AS (
        SELECT
            unit_of(unit_kind, community_id, grid_id) AS unit_id,
            CASE WHEN by_grid THEN grid_id END AS grid_key,
            *
        FROM cases
        WHERE in_scope(community_id, grid_id, want_community, want_grid)
    ),
    events AS (
        SELECT
            unit_id,
            grid_key,
            date_trunc('month', reported_on)::DATE AS month,
            1 AS received,
            (case_type = '矛盾纠纷')::INTEGER AS disputes,
            is_supervised::INTEGER AS supervised,
            0 AS problems_resolved,
            1 AS net_open,
            0 AS young_open
        FROM c
        UNION ALL
        SELECT unit_id, grid_key, date_trunc('month', greatest(reported_on, resolved_on))::DATE,
            0, 0, 0, 0, -1, 0
        FROM c WHERE resolved_on IS NOT NULL
        UNION ALL
        SELECT unit_id, grid_key, date_trunc('month', resolved_on)::DATE, 0, 0, 0, 1, 0, 0
        FROM c WHERE case_type = '急难愁盼' AND status = '已化解' AND resolved_on IS NOT NULL
        UNION ALL
        SELECT unit_id, grid_key, m::DATE, 0, 0, 0, 0, 0, 1
        FROM c, unnest([date_trunc('month', reported_on),
                        date_trunc('month', reported_on) + INTERVAL 1 MONTH]) AS t(m)
        WHERE reported_on >= last_day(m) - INTERVAL 30 DAY
            AND reported_on <= last_day(m)
            AND (resolved_on IS NULL OR resolved_on > last_day(m))
    )
    SELECT
        unit_id,
        grid_key AS grid_id,
        month,
        sum(received)::BIGINT AS received,
        sum(disputes)::BIGINT AS disputes,
        sum(supervised)::BIGINT AS supervised,
        sum(problems_resolved)::BIGINT AS problems_resolved,
        sum(net_open)::BIGINT AS net_open,
        sum(young_open)::BIGINT AS young_open
    FROM events
    GROUP BY unit_id, grid_key, month;
CREATE OR REPLACE MACRO cases_measures(unit_kind, want_community, want_grid) AS TABLE
    SELECT * EXCLUDE (grid_id) FROM cases_keyed(unit_kind, want_community, want_grid, false);
CREATE OR REPLACE MACRO cases_grid_measures(unit_kind, want_community, want_grid) AS TABLE
    FROM cases_keyed(unit_kind, want_community, want_grid, true);

-- Days from receipt to closing of the cases resolved, as a histogram by the month closed
-- (month) and the month received: exact medians over any run of months, for any community
-- (see docs/decisions/0005-scale.md on its size), and the cases received in a period that
-- were resolved by its end (received_month in the period, month up to its end), exact for
-- any period. The month received adds few rows: with the month closed and the days, it
-- can take two values at most.
CREATE OR REPLACE MACRO cases_days_keyed(unit_kind, want_community, want_grid, by_grid) AS TABLE
    SELECT
        unit_of(unit_kind, community_id, grid_id) AS unit_id,
        CASE WHEN by_grid THEN grid_id END AS grid_id,
        date_trunc('month', resolved_on)::DATE AS month,
        date_diff('day', reported_on, resolved_on)::BIGINT AS days,
        date_trunc('month', reported_on)::DATE AS received_month,
        count(*)::BIGINT AS n
    FROM cases
    WHERE status = '已化解' AND resolved_on IS NOT NULL
        AND in_scope(community_id, grid_id, want_community, want_grid)
    GROUP BY ALL;
CREATE OR REPLACE MACRO cases_days_measures(unit_kind, want_community, want_grid) AS TABLE
    SELECT * EXCLUDE (grid_id) FROM cases_days_keyed(unit_kind, want_community, want_grid, false);
CREATE OR REPLACE MACRO cases_grid_days_measures(unit_kind, want_community, want_grid) AS TABLE
    FROM cases_days_keyed(unit_kind, want_community, want_grid, true);

-- A wish counts as fulfilled in time when it was fulfilled (已实现) at most 30 days after
-- it was registered: on day 30 it is, on day 31 it is not.
CREATE OR REPLACE MACRO fulfilled_in_time(status, registered_on, fulfilled_on) AS
    (status = '已实现' AND fulfilled_on IS NOT NULL
        AND date_diff('day', registered_on, fulfilled_on) <= 30)::INTEGER;

CREATE OR REPLACE MACRO wishes_keyed(unit_kind, want_community, want_grid, by_grid) AS TABLE
    WITH w AS (
        SELECT
            unit_of(unit_kind, community_id, grid_id) AS unit_id,
            CASE WHEN by_grid THEN grid_id END AS grid_key,
            *
        FROM wishes
        WHERE in_scope(community_id, grid_id, want_community, want_grid)
    ),
    events AS (
        SELECT
            unit_id,
            grid_key,
            date_trunc('month', registered_on)::DATE AS month,
            1 AS registered,
            fulfilled_in_time(status, registered_on, fulfilled_on) AS fulfilled_in_time,
            0 AS claimed,
            0 AS fulfilled,
            1 AS net_unclaimed,
            0 AS young_unclaimed
        FROM w
        UNION ALL
        SELECT unit_id, grid_key, date_trunc('month', claimed_on)::DATE, 0, 0, 1, 0, 0, 0
        FROM w WHERE claimed_on IS NOT NULL
        UNION ALL
        SELECT unit_id, grid_key, date_trunc('month', greatest(registered_on, claimed_on))::DATE,
            0, 0, 0, 0, -1, 0
        FROM w WHERE claimed_on IS NOT NULL
        UNION ALL
        SELECT unit_id, grid_key, date_trunc('month', fulfilled_on)::DATE, 0, 0, 0, 1, 0, 0
        FROM w WHERE status = '已实现' AND fulfilled_on IS NOT NULL
        UNION ALL
        SELECT unit_id, grid_key, m::DATE, 0, 0, 0, 0, 0, 1
        FROM w, unnest([date_trunc('month', registered_on),
                        date_trunc('month', registered_on) + INTERVAL 1 MONTH]) AS t(m)
        WHERE registered_on >= last_day(m) - INTERVAL 30 DAY
            AND registered_on <= last_day(m)
            AND (claimed_on IS NULL OR claimed_on > last_day(m))
    )
    SELECT
        unit_id,
        grid_key AS grid_id,
        month,
        sum(registered)::BIGINT AS registered,
        sum(fulfilled_in_time)::BIGINT AS fulfilled_in_time,
        sum(claimed)::BIGINT AS claimed,
        sum(fulfilled)::BIGINT AS fulfilled,
        sum(net_unclaimed)::BIGINT AS net_unclaimed,
        sum(young_unclaimed)::BIGINT AS young_unclaimed
    FROM events
    GROUP BY unit_id, grid_key, month;
CREATE OR REPLACE MACRO wishes_measures(unit_kind, want_community, want_grid) AS TABLE
    SELECT * EXCLUDE (grid_id) FROM wishes_keyed(unit_kind, want_community, want_grid, false);
CREATE OR REPLACE MACRO wishes_grid_measures(unit_kind, want_community, want_grid) AS TABLE
    FROM wishes_keyed(unit_kind, want_community, want_grid, true);

CREATE OR REPLACE MACRO wishes_days_keyed(unit_kind, want_community, want_grid, by_grid) AS TABLE
    SELECT
        unit_of(unit_kind, community_id, grid_id) AS unit_id,
        CASE WHEN by_grid THEN grid_id END AS grid_id,
        date_trunc('month', fulfilled_on)::DATE AS month,
        date_diff('day', registered_on, fulfilled_on)::BIGINT AS days,
        count(*)::BIGINT AS n
    FROM wishes
    WHERE status = '已实现' AND fulfilled_on IS NOT NULL
        AND in_scope(community_id, grid_id, want_community, want_grid)
    GROUP BY ALL;
CREATE OR REPLACE MACRO wishes_days_measures(unit_kind, want_community, want_grid) AS TABLE
    SELECT * EXCLUDE (grid_id) FROM wishes_days_keyed(unit_kind, want_community, want_grid, false);
CREATE OR REPLACE MACRO wishes_grid_days_measures(unit_kind, want_community, want_grid) AS TABLE
    FROM wishes_days_keyed(unit_kind, want_community, want_grid, true);

-- Wishes by the day they were registered (a cohort), and how many of each day's were
-- fulfilled in time: the fulfilment rate judges a wish once its 30 days are over, so the
-- month in which that cut falls is counted by day (sql/fulfillment_rate.sql); whole months
-- come from wishes_rollup. One row per community and day with a registration.
CREATE OR REPLACE MACRO wishes_cohort_keyed(unit_kind, want_community, want_grid, by_grid) AS TABLE
    SELECT
        unit_of(unit_kind, community_id, grid_id) AS unit_id,
        CASE WHEN by_grid THEN grid_id END AS grid_id,
        date_trunc('month', registered_on)::DATE AS month,
        registered_on,
        count(*)::BIGINT AS registered,
        sum(fulfilled_in_time(status, registered_on, fulfilled_on))::BIGINT AS fulfilled_in_time
    FROM wishes
    WHERE in_scope(community_id, grid_id, want_community, want_grid)
    GROUP BY ALL;
CREATE OR REPLACE MACRO wishes_cohort_measures(unit_kind, want_community, want_grid) AS TABLE
    SELECT * EXCLUDE (grid_id) FROM wishes_cohort_keyed(unit_kind, want_community, want_grid, false);
CREATE OR REPLACE MACRO wishes_grid_cohort_measures(unit_kind, want_community, want_grid) AS TABLE
    FROM wishes_cohort_keyed(unit_kind, want_community, want_grid, true);
