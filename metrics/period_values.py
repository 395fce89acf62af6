"""Metric values per community and standard period, kept in the store beside the rollups.

KPI cards, trends and rankings ask for standard periods (a month, quarter, half-year or
year, or months of one). For the metrics computed from the rollups alone
(`catalog.precomputed`), the store keeps each one's value for the city and for every
community in every such period: table `period_values`, one row per (community_id, kind,
period_start), community_id NULL for the city, one column per metric; partitioned by kind
and year, so that a page reads one year of one kind. A page then looks
its numbers up (~1 ms) instead of having DuckDB plan the metric SQL (~3 ms per metric) and
walk the day histograms of every community for the exact medians (~130 ms at 10^7
records). Decision: docs/decisions/0006-period-values.md.

Every value is what the metric's own SQL gives (`catalog.evaluate_many(..., lookup=False)`
on the same pinned rollups), so the table is a cache of the catalog, never a second
definition; tests/test_period_values.py compares the two for every metric and period.

This module computes rows; `metrics.derived` (period_table.py) decides when, writes them,
and pins the version a connection reads. It never imports the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from metrics import catalog
from metrics.catalog import CITY, Bucket, Scope

KINDS: tuple[Bucket, ...] = ("month", "quarter", "half", "year")
# At most this many communities' periods in one query of a full build: bounds its memory
# (the backlog's months-up-to-the-period join grows with communities × months²).
WHOLE_SPAN_COMMUNITIES = 300


def metrics() -> list[str]:
    """The metrics the table holds, in catalog order."""
    return [name for name in catalog.catalog() if catalog.precomputed(name)]


def schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("community_id", pa.string()),
            pa.field("kind", pa.string()),
            pa.field("year", pa.int32()),  # of period_start: a partition, as kind is
            pa.field("period_start", pa.date32()),
            *(pa.field(name, pa.float64()) for name in metrics()),
        ]
    )


# The first and last month of any event in the city's rollup rows (what `cover` spans;
# metrics/spark/ runs it on Spark).
COVER_SQL = (
    "SELECT min(month), max(month) FROM ("
    " SELECT month FROM cases_rollup WHERE community_id IS NULL"
    " UNION ALL SELECT month FROM wishes_rollup WHERE community_id IS NULL)"
)


def cover(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """The whole years the table covers for the connection's rollups: from the first year
    with any event to one year past the last, so that the next year's first uploads are
    look-ups too. None when there are no events."""
    return cover_of(con.execute(COVER_SQL).fetchone())


def cover_of(row: Any) -> tuple[dt.date, dt.date] | None:
    """The cover from COVER_SQL's row (first and last month)."""
    if row is None or row[0] is None:
        return None
    return dt.date(row[0].year, 1, 1), dt.date(row[1].year + 1, 12, 31)


def cover_code(span: tuple[dt.date, dt.date]) -> str:
    """The cover as the store records it with each version: "2021-01-01..2026-12-31"."""
    return f"{span[0]}..{span[1]}"


def _years(span: tuple[dt.date, dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    for year in range(span[0].year, span[1].year + 1):
        yield dt.date(year, 1, 1), dt.date(year, 12, 31)


def _rows(
    con: duckdb.DuckDBPyConnection,
    span: tuple[dt.date, dt.date],
    kind: Bucket,
    scope: Scope,
    by: catalog.By,
    community_id: str | None = None,
) -> pa.Table:
    """The metrics' rows for `kind` periods in `span`, in the table's columns. The unit of
    each row is its community (NULL: the city), or `community_id` for total rows."""
    wide = catalog.evaluate_wide(con, metrics(), span[0], span[1], scope, bucket=kind, by=by)
    return table_rows(wide, kind, community_id)


def table_rows(wide: pa.Table, kind: Bucket, community_id: str | None = None) -> pa.Table:
    """The rows of `evaluate_wide`'s result (by DuckDB or by Spark, metrics/spark/) in the
    table's columns: each row's unit as its community, or `community_id` for total rows."""
    unit = wide.column("unit_id")
    if community_id is not None:
        wide = wide.filter(pc.is_null(unit))
        unit = pa.array([community_id] * wide.num_rows, pa.string())
    columns = {
        "community_id": unit,
        "kind": pa.array([kind] * wide.num_rows, pa.string()),
        "year": pc.year(wide.column("period_start")),
        "period_start": wide.column("period_start"),
        **{name: wide.column(name) for name in metrics()},
    }
    return pa.table(columns).cast(schema())


def city_rows(con: duckdb.DuckDBPyConnection, span: tuple[dt.date, dt.date]) -> pa.Table:
    """The city's rows (community_id NULL) for every kind of period in `span`."""
    return pa.concat_tables([_rows(con, span, kind, CITY, "total") for kind in KINDS])


def every_rows(
    con: duckdb.DuckDBPyConnection, span: tuple[dt.date, dt.date], communities: int
) -> pa.Table:
    """Every row from the connection's rollups: the city's and every community's it holds
    (all of them, an upload's few, or a run of communities without the city's rows).
    A year per query when there are many communities, to bound the memory."""
    spans = [span] if communities <= WHOLE_SPAN_COMMUNITIES else list(_years(span))
    jobs = [(part, kind) for kind in KINDS for part in spans]
    # Two at a time, each on its own cursor: most of a small query is DuckDB planning it,
    # on one core, so two queries side by side finish in little more than one's time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda job: _rows(con, job[0], job[1], CITY, "community"), jobs))
    return pa.concat_tables(parts)
