"""Reads that are not metrics: the registry lists, the data's date range, record
drill-downs and category breakdowns; and which periods a figure is compared with. Values
are bound; identifiers come from the contract.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics.catalog import CITY, Scope
from metrics.periods import Period, add_months
from metrics.schemas import DATASETS

# Dataset -> the date columns whose span says which months have data.
_DATED = {"cases": "reported_on", "wishes": "registered_on", "employment": "month"}

# Columns a page may break a dataset down by (categorical fields of the contract).
BREAKDOWNS = {
    "cases": ("case_type", "category", "channel", "status"),
    "wishes": ("beneficiary_group", "wish_category", "claimed_by", "status"),
    "property_ratings": ("stars", "outcome", "company"),
}
# Tables of the city's record counts by month and value of each breakdown column, kept by
# the store in every commit (metrics/derived/city_counts.py): a city-wide breakdown reads a
# few hundred rows instead of every record of the period (176 ms over a year at 10^8 records).
CITY_COUNTS = {"cases": "cases_city_counts", "wishes": "wishes_city_counts"}


def data_months_per_value(dataset: str) -> int:
    """How many months one record period of `dataset` spans: 3 for a quarterly ledger
    (property ratings), 1 for everything dated by day or month (and undated registers)."""
    spec = DATASETS[dataset]
    if spec.period_field is not None and spec.field(spec.period_field).type == "quarter":
        return 3
    return 1


def compared_periods(dataset: str, period: Period) -> tuple[Period, Period]:
    """The periods a figure of `dataset` for `period` is compared with: (环比, 同比).

    Usually the period before and the same period a year earlier. A quarterly ledger has
    one value per quarter, and its figure for a period counts every quarter the period
    touches: a month is then compared with the quarter before (the month before is mostly
    the same quarter, the same ratings) and with the same quarter a year earlier.
    """
    step = data_months_per_value(dataset)
    first = add_months(period.start, -((period.start.month - 1) % step))
    last = add_months(period.end, (step - period.end.month % step) % step)
    if (first, last.month) == (period.start, period.end.month):
        return period.previous(), period.year_ago()
    whole = Period.span(first, last)
    if whole.months == 3:
        whole = Period.of("quarter", first)
    return whole.previous(), whole.year_ago()


def communities(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return (
        con.cursor()
        .execute("SELECT community_id, name, street FROM communities ORDER BY community_id")
        .df()
    )


def grids(con: duckdb.DuckDBPyConnection, community_id: str | None) -> pd.DataFrame:
    return (
        con.cursor()
        .execute(
            "SELECT grid_id, community_id, name, households, is_micro FROM grids"
            " WHERE $community_id IS NULL OR community_id = $community_id ORDER BY grid_id",
            {"community_id": community_id},
        )
        .df()
    )


# The same months from the rollups' city rows (cases received, wishes registered, by the
# month of the date in _DATED): a few hundred rows instead of every record's date.
_DATA_MONTHS_FROM_ROLLUPS = """
SELECT min(lo), max(hi) FROM (
    SELECT min(month) AS lo, max(month) AS hi FROM cases_rollup
    WHERE community_id IS NULL AND received > 0
    UNION ALL
    SELECT min(month), max(month) FROM wishes_rollup
    WHERE community_id IS NULL AND registered > 0
    UNION ALL
    SELECT min(month), max(month) FROM employment
)"""


def data_months(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """First and last month that any dated ledger covers; None on an empty store."""
    try:
        row = con.cursor().execute(_DATA_MONTHS_FROM_ROLLUPS).fetchone()
    except duckdb.CatalogException:  # a connection without rollups: read the records
        parts = " UNION ALL ".join(
            f"SELECT min({col}) AS lo, max({col}) AS hi FROM {name}" for name, col in _DATED.items()
        )
        sql = f"SELECT min(lo), max(hi) FROM ({parts})"  # table and column names from _DATED
        row = con.cursor().execute(sql).fetchone()
    lo, hi = row or (None, None)
    if lo is None or hi is None:
        return None
    return lo.replace(day=1), hi.replace(day=1)


def _where(dataset: str, period: Period | None, scope: Scope) -> tuple[str, dict[str, object]]:
    spec = DATASETS[dataset]
    clauses = ["($community_id IS NULL OR community_id = $community_id)"]
    params: dict[str, object] = {"community_id": scope.community_id}
    if spec.has_grid and "grid_id" in spec.field_names:
        clauses.append("($grid_id IS NULL OR grid_id = $grid_id)")
        params["grid_id"] = scope.grid_id
    if period is not None and spec.period_field is not None:
        column = spec.period_field
        if spec.field(column).type == "quarter":
            clauses.append(
                f"quarter_start({column}) <= $date_to AND quarter_end({column}) >= $date_from"
            )
        else:
            clauses.append(f"{column} BETWEEN $date_from AND $date_to")
        params.update(date_from=period.start, date_to=period.end)
    return " AND ".join(clauses), params


def records(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    scope: Scope = CITY,
    period: Period | None = None,
    *,
    limit: int = 200,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """One page of a dataset's records for the scope and period, and the total count."""
    spec = DATASETS[dataset]
    where, params = _where(dataset, period, scope)
    order = ", ".join(spec.key)
    # Only identifiers from the contract are spliced in; every value is bound. The page
    # and the count in one scan: the count is a window over the rows before LIMIT.
    page_sql = (
        f"SELECT *, count(*) OVER () AS _total FROM {spec.name} WHERE {where}"
        f" ORDER BY {order} LIMIT $limit OFFSET $offset"
    )
    cur = con.cursor()
    page = cur.execute(page_sql, {**params, "limit": limit, "offset": offset}).df()
    if len(page):
        return page.drop(columns="_total"), int(page["_total"].iloc[0])
    # Past the last page (or nothing at all): the count alone.
    count_sql = f"SELECT count(*) FROM {spec.name} WHERE {where}"
    total = cur.execute(count_sql, params).fetchone()
    return page.drop(columns="_total"), int(total[0]) if total else 0


def breakdown(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    column: str,
    scope: Scope = CITY,
    period: Period | None = None,
) -> pd.DataFrame:
    """Record counts by one categorical column: (value, count), largest first."""
    if column not in BREAKDOWNS.get(dataset, ()):
        raise ValueError(f"{dataset} cannot be broken down by {column!r}")
    if scope.community_id is None and scope.grid_id is None:
        counted = _city_counts(con, dataset, column, period)
        if counted is not None:
            return counted
    where, params = _where(dataset, period, scope)
    sql = (
        f"SELECT CAST({column} AS VARCHAR) AS value, count(*) AS count FROM {dataset}"
        f" WHERE {where} GROUP BY ALL ORDER BY count DESC, value"
    )
    return con.cursor().execute(sql, params).df()


def _city_counts(
    con: duckdb.DuckDBPyConnection, dataset: str, column: str, period: Period | None
) -> pd.DataFrame | None:
    """The city-wide breakdown from the store's city counts (CITY_COUNTS), the same rows as
    counting the records; None when the connection has no counts."""
    table = CITY_COUNTS.get(dataset)
    if table is None:
        return None
    # The table name from CITY_COUNTS; every value is bound.
    sql = (
        "SELECT value, sum(n)::BIGINT AS count"
        f" FROM {table} WHERE column_name = $column"
        " AND ($date_from IS NULL OR month BETWEEN $date_from AND $date_to)"
        " GROUP BY ALL HAVING sum(n) > 0 ORDER BY count DESC, value"
    )
    params = {
        "column": column,
        "date_from": period.start if period else None,
        "date_to": period.end if period else None,
    }
    try:
        return con.cursor().execute(sql, params).df()
    except duckdb.CatalogException:
        return None


# Property companies across communities, over the ratings of the quarters a period touches
# (as the property metrics count them). Ranked by mean stars, then by fewer sanctions;
# companies equal on both share a rank. The worst rating is the company's fewest stars, in
# the latest quarter it got them.
_PROPERTY_LEAGUE_SQL = """
WITH r AS (
    SELECT r.*, coalesce(c.name, r.community_id) AS community
    FROM property_ratings AS r
    LEFT JOIN communities AS c USING (community_id)
    WHERE quarter_start(r.quarter) <= $date_to AND quarter_end(r.quarter) >= $date_from
        AND ($community_id IS NULL OR r.community_id = $community_id)
),
worst AS (
    SELECT company, min(stars) AS worst_stars FROM r GROUP BY company
),
league AS (
    SELECT
        r.company,
        string_agg(DISTINCT r.community, '、' ORDER BY r.community) AS communities,
        count(DISTINCT r.community_id) AS community_count,
        count(DISTINCT (r.community_id, r.compound)) AS compounds,
        count(*) AS ratings,
        avg(r.stars) AS mean_stars,
        any_value(w.worst_stars) AS worst_stars,
        max(r.quarter) FILTER (WHERE r.stars = w.worst_stars) AS worst_quarter,
        count(*) FILTER (WHERE r.outcome <> '无') AS sanctions
    FROM r JOIN worst AS w USING (company)
    GROUP BY r.company
)
SELECT
    rank() OVER (ORDER BY round(mean_stars, 9) DESC, sanctions) AS rank,
    *
FROM league
ORDER BY rank, company
"""


def property_league(
    con: duckdb.DuckDBPyConnection, period: Period, scope: Scope = CITY
) -> pd.DataFrame:
    """红色物业企业榜: one row per property company rated in the quarters `period` touches
    (of the scope's community, or of every community): rank (shared by companies with the
    same mean stars and sanctions), company, communities (names, 、-separated),
    community_count, compounds, ratings, mean_stars, worst_stars, worst_quarter (the
    latest quarter with the fewest stars), sanctions (ratings followed by talks, a fee
    reduction or the qualification withdrawn). Best first."""
    params = {"date_from": period.start, "date_to": period.end, "community_id": scope.community_id}
    return con.cursor().execute(_PROPERTY_LEAGUE_SQL, params).df()
