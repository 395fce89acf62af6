-- Shared by every metric query. Loaded by Store.connect on each new connection.

-- One row per reporting bucket between two dates (both inclusive). The caller passes a
-- date_from aligned to the bucket (first day of a month, quarter, half-year or year);
-- 'all' is a single bucket covering the whole range.
CREATE OR REPLACE MACRO bucket_width(bucket) AS
    CASE bucket
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        WHEN 'half' THEN INTERVAL 6 MONTH
        WHEN 'year' THEN INTERVAL 1 YEAR
        ELSE INTERVAL 1000 YEAR
    END;

CREATE OR REPLACE MACRO periods(date_from, date_to, bucket) AS TABLE
    SELECT
        r.p::DATE AS period_start,
        least((r.p + bucket_width(bucket) - INTERVAL 1 DAY)::DATE, date_to::DATE) AS period_end
    FROM range(date_from::TIMESTAMP, date_to::TIMESTAMP + INTERVAL 1 DAY, bucket_width(bucket)) AS r(p);

-- A rating quarter such as 2025Q3 as its first and last day.
CREATE OR REPLACE MACRO quarter_start(q) AS
    make_date(CAST(left(q, 4) AS INTEGER), CAST(right(q, 1) AS INTEGER) * 3 - 2, 1);
CREATE OR REPLACE MACRO quarter_end(q) AS
    (quarter_start(q) + INTERVAL 3 MONTH - INTERVAL 1 DAY)::DATE;

-- What a row is counted under: its community, or its grid when drilling into a community.
CREATE OR REPLACE MACRO unit_of(unit_kind, community_id, grid_id) AS
    CASE WHEN unit_kind = 'grid' THEN grid_id ELSE community_id END;

-- The community and grid filters; NULL means no filter.
CREATE OR REPLACE MACRO in_scope(community_id, grid_id, want_community, want_grid) AS
    (want_community IS NULL OR community_id = want_community)
    AND (want_grid IS NULL OR grid_id = want_grid);

-- The last registration day whose wishes are judged on `today`, for a period ending
-- `period_end`: a wish registered on day D has until D + 30 to be fulfilled in time, so it
-- is judged from D + 31 on (sql/fulfillment_rate.sql). Once today is 31 days past the
-- period's end, every wish of the period is judged and its value is final.
CREATE OR REPLACE MACRO judged_to(period_end, today) AS
    least(period_end::DATE, (today::DATE - 31)::DATE);
