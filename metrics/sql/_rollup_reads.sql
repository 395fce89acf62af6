-- What metric queries read instead of raw records; loaded by Store.connect once the rollup
-- views exist (sql/_rollups.sql says what the rollups hold).
--
-- What a metric query reads: cases_monthly, cases_days, wishes_monthly, wishes_days or
-- wishes_cohorts ($by, $community_id, $grid_id) at the end of this file, each a rollup table and the macro
-- of sql/_rollups.sql that computes it from the records. Rows (unit_id, month,
-- measures...), where unit_id NULL rows add up to the scope's total. unit_kind 'total'
-- asks for the total rows only. The city and its communities come from the stored rollup;
-- grids from raw records, or from the stored grid rollups (the `_grids` twins below).
CREATE OR REPLACE MACRO rollup_rows(unit_kind, want_grid) AS
    unit_kind IN ('community', 'total') AND want_grid IS NULL;


-- The stored rows of `rollup` for the scope: the city's or the chosen community's total,
-- and each community's own rows when the query wants them by community.
CREATE OR REPLACE MACRO stored_rows(rollup, unit_kind, want_community, want_grid) AS TABLE
    -- Three plain branches rather than one clever one, so that the community filter reaches
    -- the Parquet scan and skips row groups by their statistics.
    SELECT NULL::VARCHAR AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id IS NULL AND want_community IS NULL
        AND rollup_rows(unit_kind, want_grid)
    UNION ALL BY NAME
    SELECT community_id AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id = coalesce(want_community, community_id) AND unit_kind = 'community'
        AND rollup_rows(unit_kind, want_grid)
    UNION ALL BY NAME
    SELECT NULL::VARCHAR AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id = want_community AND rollup_rows(unit_kind, want_grid);

-- The rows of `measured` (the name of a table of a *_measures macro's rows, by unit) and,
-- unless the query wants the total rows only, each of them again as a total row.
CREATE OR REPLACE MACRO with_total_rows(measured, unit_kind) AS TABLE
    SELECT CASE WHEN u.as_unit THEN m.unit_id END AS unit_id, m.* EXCLUDE (unit_id)
    FROM query_table(measured) AS m, (VALUES (true), (false)) AS u(as_unit)
    WHERE unit_kind <> 'total' OR NOT u.as_unit;

-- A rollup read: the stored rows of `rollup` where it holds them, else the rows of
-- `measured` (computed from the records).
CREATE OR REPLACE MACRO rollup_read(rollup, measured, unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_rows(rollup, unit_kind, want_community, want_grid)
    UNION ALL BY NAME
    SELECT * FROM with_total_rows(measured, unit_kind)
    WHERE NOT rollup_rows(unit_kind, want_grid);


-- The same rows as a rollup read when rollup_rows(unit_kind, want_grid) holds, read from
-- the stored rollup alone (with_total_rows of the records is the other case).
-- catalog.evaluate reads these twins (*_stored, *_records) directly, having decided which
-- case holds: each binds in a fraction of the time of the two together.
-- The scope's total (the city's rows, or the chosen community's), then each community's own
-- rows when the query wants them by community. Plain filters, so that the rollup table's
-- zone maps skip to the community.
CREATE OR REPLACE MACRO stored_scope(rollup, unit_kind, want_community) AS TABLE
    SELECT NULL::VARCHAR AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id IS NULL AND want_community IS NULL
    UNION ALL BY NAME
    SELECT NULL::VARCHAR AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id = want_community
    UNION ALL BY NAME
    SELECT community_id AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id IS NOT NULL AND want_community IS NULL AND unit_kind = 'community'
    UNION ALL BY NAME
    SELECT community_id AS unit_id, * EXCLUDE (community_id) FROM query_table(rollup)
    WHERE community_id = want_community AND unit_kind = 'community';


-- A grid rollup's rows for the scope (a community, a grid or both), by unit (unit_of: each
-- grid's own rows when drilling into a community's grids), as the *_measures macros give
-- them from the records of the same scope: the same sums, several rows per unit and month
-- where the unit is not a grid (one per grid), which every metric adds up anyway.
CREATE OR REPLACE MACRO grid_rows(rollup, unit_kind, want_community, want_grid) AS TABLE
    SELECT unit_of(unit_kind, community_id, grid_id) AS unit_id, * EXCLUDE (community_id, grid_id)
    FROM query_table(rollup)
    WHERE in_scope(community_id, grid_id, want_community, want_grid);


-- The exact median of a histogram of days (rows unit_id, month, days, n, as cases_days and
-- wishes_days give them; `histogram` names a table of them) per bucket and unit, over the
-- months from date_from to date_to: the mean of the two middle values when their number is
-- even, as DuckDB's median.
CREATE OR REPLACE MACRO median_days(histogram, date_from, date_to, bucket) AS TABLE
    WITH h AS (
        SELECT p.period_start, d.unit_id, d.days, sum(d.n) AS n
        FROM query_table(histogram) AS d
        JOIN periods(date_from, date_to, bucket) AS p
            ON d.month BETWEEN p.period_start AND p.period_end
        WHERE d.month BETWEEN date_from AND date_to  -- the same rows; lets the scan filter first
        GROUP BY ALL
    ),
    ranked AS (
        SELECT
            *,
            sum(n) OVER (PARTITION BY period_start, unit_id ORDER BY days ROWS UNBOUNDED PRECEDING) AS upto,
            sum(n) OVER (PARTITION BY period_start, unit_id) AS total
        FROM h
    )
    SELECT
        period_start,
        unit_id,
        (min(days) FILTER (WHERE upto >= (total - 1) // 2 + 1)
            + min(days) FILTER (WHERE upto >= total // 2 + 1)) / 2.0 AS value
    FROM ranked
    GROUP BY period_start, unit_id;


-- The five rollup reads, each with its twins: which rollup table, which measures. The
-- `_grids` twin gives the `_records` twin's rows (by grid, or for one grid) from the grid
-- rollup: what catalog reads whenever a query is by grid or for a grid.
CREATE OR REPLACE MACRO cases_monthly(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM cases_measures(unit_kind, want_community, want_grid))
    FROM rollup_read('cases_rollup', 'measured', unit_kind, want_community, want_grid);
CREATE OR REPLACE MACRO cases_monthly_stored(unit_kind, want_community, want_grid) AS TABLE
    FROM stored_scope('cases_rollup', unit_kind, want_community);
CREATE OR REPLACE MACRO cases_monthly_records(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM cases_measures(unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
CREATE OR REPLACE MACRO cases_monthly_grids(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM grid_rows('cases_grid_rollup', unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);

CREATE OR REPLACE MACRO cases_days(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM cases_days_measures(unit_kind, want_community, want_grid))
    FROM rollup_read('cases_days_rollup', 'measured', unit_kind, want_community, want_grid);
CREATE OR REPLACE MACRO cases_days_stored(unit_kind, want_community, want_grid) AS TABLE
    FROM stored_scope('cases_days_rollup', unit_kind, want_community);
CREATE OR REPLACE MACRO cases_days_records(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM cases_days_measures(unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
CREATE OR REPLACE MACRO cases_days_grids(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM grid_rows('cases_grid_days_rollup', unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);

CREATE OR REPLACE MACRO wishes_monthly(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_measures(unit_kind, want_community, want_grid))
    FROM rollup_read('wishes_rollup', 'measured', unit_kind, want_community, want_grid);
CREATE OR REPLACE MACRO wishes_monthly_stored(unit_kind, want_community, want_grid) AS TABLE
    FROM stored_scope('wishes_rollup', unit_kind, want_community);
CREATE OR REPLACE MACRO wishes_monthly_records(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_measures(unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
CREATE OR REPLACE MACRO wishes_monthly_grids(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM grid_rows('wishes_grid_rollup', unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);

CREATE OR REPLACE MACRO wishes_days(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_days_measures(unit_kind, want_community, want_grid))
    FROM rollup_read('wishes_days_rollup', 'measured', unit_kind, want_community, want_grid);
CREATE OR REPLACE MACRO wishes_days_stored(unit_kind, want_community, want_grid) AS TABLE
    FROM stored_scope('wishes_days_rollup', unit_kind, want_community);
CREATE OR REPLACE MACRO wishes_days_records(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_days_measures(unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
CREATE OR REPLACE MACRO wishes_days_grids(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM grid_rows('wishes_grid_days_rollup', unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);

CREATE OR REPLACE MACRO wishes_cohorts(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_cohort_measures(unit_kind, want_community, want_grid))
    FROM rollup_read('wishes_cohort_rollup', 'measured', unit_kind, want_community, want_grid);
CREATE OR REPLACE MACRO wishes_cohorts_stored(unit_kind, want_community, want_grid) AS TABLE
    FROM stored_scope('wishes_cohort_rollup', unit_kind, want_community);
CREATE OR REPLACE MACRO wishes_cohorts_records(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM wishes_cohort_measures(unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
CREATE OR REPLACE MACRO wishes_cohorts_grids(unit_kind, want_community, want_grid) AS TABLE
    WITH measured AS (FROM grid_rows('wishes_grid_cohort_rollup', unit_kind, want_community, want_grid))
    FROM with_total_rows('measured', unit_kind);
