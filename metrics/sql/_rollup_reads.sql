-- What metric queries read instead of raw records; loaded by Store.connect once the rollup
-- views exist (sql/_rollups.sql says what the rollups hold).
--
-- What a metric query reads: rows (unit_id, month, measures...), where unit_id NULL rows
-- add up to the scope's total. unit_kind 'total' asks for the total rows only.
-- The city and its communities come from the stored rollup; grids from raw records.
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

CREATE OR REPLACE MACRO cases_monthly_records(unit_kind, want_community, want_grid) AS TABLE
    SELECT CASE WHEN u.as_unit THEN m.unit_id END AS unit_id, m.* EXCLUDE (unit_id)
    FROM cases_measures(unit_kind, want_community, want_grid) AS m, (VALUES (true), (false)) AS u(as_unit)
    WHERE unit_kind <> 'total' OR NOT u.as_unit;

CREATE OR REPLACE MACRO cases_monthly(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_rows('cases_rollup', unit_kind, want_community, want_grid)
    UNION ALL BY NAME
    SELECT * FROM cases_monthly_records(unit_kind, want_community, want_grid)
    WHERE NOT rollup_rows(unit_kind, want_grid);

CREATE OR REPLACE MACRO cases_days_records(unit_kind, want_community, want_grid) AS TABLE
    SELECT CASE WHEN u.as_unit THEN m.unit_id END AS unit_id, m.* EXCLUDE (unit_id)
    FROM cases_days_measures(unit_kind, want_community, want_grid) AS m, (VALUES (true), (false)) AS u(as_unit)
    WHERE unit_kind <> 'total' OR NOT u.as_unit;

CREATE OR REPLACE MACRO cases_days(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_rows('cases_days_rollup', unit_kind, want_community, want_grid)
    UNION ALL BY NAME
    SELECT * FROM cases_days_records(unit_kind, want_community, want_grid)
    WHERE NOT rollup_rows(unit_kind, want_grid);

CREATE OR REPLACE MACRO wishes_monthly_records(unit_kind, want_community, want_grid) AS TABLE
    SELECT CASE WHEN u.as_unit THEN m.unit_id END AS unit_id, m.* EXCLUDE (unit_id)
    FROM wishes_measures(unit_kind, want_community, want_grid) AS m, (VALUES (true), (false)) AS u(as_unit)
    WHERE unit_kind <> 'total' OR NOT u.as_unit;

CREATE OR REPLACE MACRO wishes_monthly(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_rows('wishes_rollup', unit_kind, want_community, want_grid)
    UNION ALL BY NAME
    SELECT * FROM wishes_monthly_records(unit_kind, want_community, want_grid)
    WHERE NOT rollup_rows(unit_kind, want_grid);

CREATE OR REPLACE MACRO wishes_days_records(unit_kind, want_community, want_grid) AS TABLE
    SELECT CASE WHEN u.as_unit THEN m.unit_id END AS unit_id, m.* EXCLUDE (unit_id)
    FROM wishes_days_measures(unit_kind, want_community, want_grid) AS m, (VALUES (true), (false)) AS u(as_unit)
    WHERE unit_kind <> 'total' OR NOT u.as_unit;

CREATE OR REPLACE MACRO wishes_days(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_rows('wishes_days_rollup', unit_kind, want_community, want_grid)
    UNION ALL BY NAME
    SELECT * FROM wishes_days_records(unit_kind, want_community, want_grid)
    WHERE NOT rollup_rows(unit_kind, want_grid);


-- The same rows as cases_monthly and friends when rollup_rows(unit_kind, want_grid) holds,
-- read from the stored rollup alone (the *_records twins above are the other case).
-- catalog.evaluate reads these twins directly, having decided which case holds: each binds
-- in a fraction of the time of the two together.
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

CREATE OR REPLACE MACRO cases_monthly_stored(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_scope('cases_rollup', unit_kind, want_community);

CREATE OR REPLACE MACRO cases_days_stored(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_scope('cases_days_rollup', unit_kind, want_community);

CREATE OR REPLACE MACRO wishes_monthly_stored(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_scope('wishes_rollup', unit_kind, want_community);

CREATE OR REPLACE MACRO wishes_days_stored(unit_kind, want_community, want_grid) AS TABLE
    SELECT * FROM stored_scope('wishes_days_rollup', unit_kind, want_community);
