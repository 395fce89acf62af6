-- Median days from receipt to closing, over the cases resolved (已化解) during the period.
-- From the rollup's histogram of days (sql/_rollups.sql), so exact over any run of months:
-- the mean of the two middle values when their number is even, as DuckDB's median.
WITH h AS (
    SELECT p.period_start, d.unit_id, d.days, sum(d.n) AS n
    FROM cases_days($by, $community_id, $grid_id) AS d
    JOIN periods($date_from, $date_to, $bucket) AS p
        ON d.month BETWEEN p.period_start AND p.period_end
    WHERE d.month BETWEEN $date_from AND $date_to  -- the same rows; lets the scan filter first
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
GROUP BY period_start, unit_id
