-- The Spark twins of the DuckDB macros that cannot be inlined as they are (metrics/spark/
-- translate.py inlines every other one from its DuckDB text). Each mirrors the macro of
-- the same name in sql/_macros.sql: change both together (tests/test_spark.py compares
-- every metric on both engines).

-- periods: DuckDB's range() over timestamps; Spark's sequence() of dates, exploded.
CREATE TEMPORARY FUNCTION periods(date_from DATE, date_to DATE, bucket STRING)
RETURNS TABLE (period_start DATE, period_end DATE)
RETURN
    SELECT
        p AS period_start,
        least(
            date_sub(add_months(p, CASE bucket WHEN 'month' THEN 1 WHEN 'quarter' THEN 3
                WHEN 'half' THEN 6 WHEN 'year' THEN 12 ELSE 12000 END), 1),
            date_to) AS period_end
    FROM (
        SELECT explode(sequence(date_from, date_to,
            CASE bucket WHEN 'month' THEN INTERVAL 1 MONTH WHEN 'quarter' THEN INTERVAL 3 MONTH
                WHEN 'half' THEN INTERVAL 6 MONTH WHEN 'year' THEN INTERVAL 12 MONTH
                ELSE INTERVAL 12000 MONTH END)) AS p
    );

CREATE TEMPORARY FUNCTION quarter_start(q STRING) RETURNS DATE
RETURN make_date(CAST(left(q, 4) AS INT), CAST(right(q, 1) AS INT) * 3 - 2, 1);

CREATE TEMPORARY FUNCTION quarter_end(q STRING) RETURNS DATE
RETURN date_sub(add_months(quarter_start(q), 3), 1);

CREATE TEMPORARY FUNCTION unit_of(unit_kind STRING, community_id STRING, grid_id STRING)
RETURNS STRING
RETURN CASE WHEN unit_kind = 'grid' THEN grid_id ELSE community_id END;

CREATE TEMPORARY FUNCTION in_scope(
    community_id STRING, grid_id STRING, want_community STRING, want_grid STRING)
RETURNS BOOLEAN
RETURN (want_community IS NULL OR community_id = want_community)
    AND (want_grid IS NULL OR grid_id = want_grid);

CREATE TEMPORARY FUNCTION judged_to(period_end DATE, today DATE) RETURNS DATE
RETURN least(period_end, date_sub(today, 31));

CREATE TEMPORARY FUNCTION rollup_rows(unit_kind STRING, want_grid STRING) RETURNS BOOLEAN
RETURN unit_kind IN ('community', 'total') AND want_grid IS NULL;
