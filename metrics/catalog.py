"""The metric catalog (catalog.yaml + sql/<name>.sql) and the functions that evaluate it.

Every metric query takes the same named parameters and returns the same three columns,
so one function serves KPI cards, rankings, trends and the CLI alike:

    $date_from, $date_to   first and last day of the range (DATE)
    $bucket                month | quarter | half | year | all   (one row set per bucket)
    $community_id, $grid_id  filters, NULL for none
    $by                    community | grid: what unit_id is

    -> period_start DATE, unit_id VARCHAR (NULL on the total row), value
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from metrics.periods import MONTHS_IN, Period, add_months, month_end

CATALOG_PATH = Path(__file__).resolve().parent / "catalog.yaml"
SQL_DIR = Path(__file__).resolve().parent / "sql"

Bucket = Literal["month", "quarter", "half", "year", "all"]
# What a metric's SQL reads: the rollups only (its values are then kept per community and
# standard period, metrics/period_values.py), or a dataset's records or the registry.
Source = Literal["rollup", "records"]
SOURCES: tuple[Source, ...] = ("rollup", "records")
# "total" is for totals and trend, which read the total rows only: rollup-backed metrics
# then skip the per-community rows (metrics on raw records ignore it and give both).
By = Literal["community", "grid", "total"]
_PARAM_RE = re.compile(r"\$([a-z_]+)")


@dataclass(frozen=True)
class Metric:
    name: str
    label: dict[str, str]
    description: dict[str, str]
    unit: dict[str, str]
    format: str
    direction: str
    additive: bool
    dataset: str
    source: Source
    grid: bool
    standard: dict[str, float] = field(default_factory=dict)

    @property
    def sql(self) -> str:
        return _sql_text(self.name)

    def text(self, what: str, lang: str) -> str:
        values: dict[str, str] = getattr(self, what)
        return values.get(lang) or values["zh"]


@functools.cache
def _sql_text(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@functools.cache
def catalog() -> dict[str, Metric]:
    raw = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
    return {
        name: Metric(
            name=name,
            label=entry["label"],
            description=entry["description"],
            unit=entry["unit"],
            format=entry["format"],
            direction=entry["direction"],
            additive=bool(entry["additive"]),
            dataset=entry["dataset"],
            source=_source(name, entry["source"]),
            grid=bool(entry["grid"]),
            standard=entry.get("standard") or {},
        )
        for name, entry in raw.items()
    }


def _source(name: str, value: Any) -> Source:
    if value not in SOURCES:
        raise ValueError(f"catalog.yaml: {name}: source must be rollup or records, not {value!r}")
    return cast(Source, value)


def metric(name: str) -> Metric:
    try:
        return catalog()[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}") from None


@dataclass(frozen=True)
class Scope:
    """Which records a query covers: a community, a grid within it, or the whole city."""

    community_id: str | None = None
    grid_id: str | None = None


CITY = Scope()


def evaluate(
    con: duckdb.DuckDBPyConnection,
    name: str,
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope = CITY,
    *,
    bucket: Bucket = "all",
    by: By = "community",
) -> pd.DataFrame:
    """Run one metric: rows (period_start, unit_id, value); unit_id is None on totals."""
    return evaluate_many(con, [name], date_from, date_to, scope, bucket=bucket, by=by)[name]


# A metric query's read of the rollup macros (sql/_rollup_reads.sql), and the calls that
# every metric of a query makes alike (the same macro, the query's own parameters).
_ROLLUP_READ_RE = re.compile(r"\b((?:cases|wishes)_(?:monthly|days))\(")
_SHARED_CALL_RE = re.compile(
    r"\b(((?:cases|wishes)_(?:monthly|days))\(\$by, \$community_id, \$grid_id\)"
    r"|(periods)\(\$date_from, \$date_to, \$bucket\))"
)


def _query_sql(name: str, by: By, scope: Scope, shared: dict[str, str]) -> str:
    """The metric's SQL as it is run for `by` and `scope`.

    Where the rollup macros would read the stored rollup only (rollup_rows in
    sql/_rollup_reads.sql: by community or total, no grid), they are swapped for their
    `_stored` twins, otherwise for their `_records` twins: the same rows, without binding
    the branch that would give none. The calls that every metric makes alike read a common
    table expression `_<macro>` instead (added to `shared`: name -> what it selects), bound
    once for every metric of the query rather than once per metric.
    """
    twin = r"\1" + _twin(by, scope) + "("

    def share(match: re.Match[str]) -> str:
        macro = match.group(2) or match.group(3)
        shared[macro] = _ROLLUP_READ_RE.sub(twin, match.group(1))
        return f"_{macro}"

    sql = _SHARED_CALL_RE.sub(share, metric(name).sql)
    return _ROLLUP_READ_RE.sub(twin, sql)


def precomputed(name: str) -> bool:
    """Whether the store keeps the metric's value per community and standard period
    (metrics/period_values.py): its catalog entry says it reads the rollups only."""
    return metric(name).source == "rollup"


def _standard_periods(
    date_from: dt.date, date_to: dt.date, bucket: Bucket
) -> tuple[str, dt.date, dt.date] | None:
    """(kind, first period_start, last period_start) when the query's buckets are standard
    periods, each whole: what the table of period values holds. None otherwise."""
    if date_from.day != 1 or date_to != month_end(date_to.year, date_to.month):
        return None
    months = Period(date_from, date_to, "range").months
    if bucket == "all":
        kind = next((k for k, n in MONTHS_IN.items() if n == months), None)
        if kind is None:
            return None
        step = months
    else:
        kind, step = bucket, MONTHS_IN[bucket]
        if months % step:
            return None
    if (date_from.month - 1) % step:
        return None  # a quarter starts in Jan, Apr, Jul or Oct; a half in Jan or Jul
    return kind, date_from, add_months(date_to, 1 - step)


def _lookup(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    periods: tuple[str, dt.date, dt.date],
    scope: Scope,
    by: By,
) -> dict[str, pd.DataFrame] | None:
    """The metrics' rows from the table of period values, as their SQL would give them
    (rows with no value left out); None when the connection's table does not cover them."""
    kind, first, last = periods
    params: dict[str, Any] = {"kind": kind, "first": first, "last": last}
    try:
        # Whether the table covers the periods, and the files of their partitions (kind and
        # year): reading those alone is several times faster than the table's view.
        row = (
            con.cursor()
            .execute(
                "SELECT (SELECT count(*) FROM period_values_cover"
                "        WHERE $first >= first AND $last <= last),"
                " (SELECT list(file) FROM period_values_files"
                "  WHERE kind = $kind AND year BETWEEN year($first) AND year($last))",
                params,
            )
            .fetchone()
        )
    except duckdb.CatalogException:  # a connection without rollups
        return None
    if not row or not row[0]:
        return None
    files: list[str] = row[1] or []
    # The scope's total rows (unit_id NULL), and each community's own when by community:
    # the city's from the connection's copy, the communities' from their partition's files.
    when = " WHERE period_start BETWEEN $first AND $last"
    branches = []
    if scope.community_id is None:
        branches.append(
            "SELECT period_start, NULL::VARCHAR AS unit_id, COLUMNS($names)"
            " FROM period_values_city" + when + " AND kind = $kind"
        )
    elif files:
        branches.append(
            "SELECT period_start, NULL::VARCHAR AS unit_id, COLUMNS($names)"
            " FROM read_parquet($files)" + when + " AND community_id = $community"
        )
    if by == "community" and files:
        theirs = " AND community_id = $community" if scope.community_id else ""
        branches.append(
            "SELECT period_start, community_id AS unit_id, COLUMNS($names)"
            " FROM read_parquet($files)" + when + " AND community_id IS NOT NULL" + theirs
        )
    if not branches:  # no file holds the periods: nothing has a value in them
        empty = pd.DataFrame(
            {
                "period_start": pd.Series([], dtype="datetime64[us]"),
                "unit_id": pd.Series([], dtype=object),
                "value": pd.Series([], dtype="float64"),
            }
        )
        return {name: empty.copy() for name in names}
    statement = " UNION ALL ".join(branches)
    values = {**params, "names": names, "files": files, "community": scope.community_id}
    params = {k: values[k] for k in set(_PARAM_RE.findall(statement))}
    # Through Arrow: three times faster than .df() for 110,000 communities' rows. Dates as
    # the datetime64[us] that .df() gives on the SQL path, so the two stay alike.
    table = con.cursor().sql(statement, params=params).to_arrow_table()
    table = table.set_column(0, "period_start", table.column(0).cast(pa.timestamp("us")))
    frame = table.to_pandas()
    keys = frame[["period_start", "unit_id"]]
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        value = frame[name].to_numpy(dtype="float64")
        keep = ~np.isnan(value)
        rows = keys if keep.all() else keys.loc[keep].reset_index(drop=True)
        out[name] = rows.assign(value=value[keep])
    return out


def _twin(by: By, scope: Scope) -> str:
    return "_stored" if by in ("community", "total") and scope.grid_id is None else "_records"


def evaluate_many(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope = CITY,
    *,
    bucket: Bucket = "all",
    by: By = "community",
    lookup: bool = True,
) -> dict[str, pd.DataFrame]:
    """Several metrics at once, in one DuckDB query: for each, what `evaluate` gives.

    Metrics the store keeps per standard period (`precomputed`) are looked up instead when
    the buckets are standard periods of the city or a community (metrics/period_values.py);
    `lookup=False` always runs their SQL (which is how that table is filled).

    Each metric's own SQL runs unchanged as one branch of a UNION ALL BY NAME, its value in
    a column of its own (so each keeps its own type until it becomes float64, as alone).
    One query per page instead of one per metric: the per-query cost (parsing, binding,
    planning, the round trip) is most of a page's time on small rollups.
    """
    unique = list(dict.fromkeys(names))
    if not unique:
        return {}
    found: dict[str, pd.DataFrame] = {}
    stored = [n for n in unique if precomputed(n)] if lookup else []
    periods = _standard_periods(date_from, date_to, bucket)
    if stored and periods and scope.grid_id is None and by in ("community", "total"):
        found = _lookup(con, stored, periods, scope, by) or {}
    unique = [n for n in unique if n not in found]
    if not unique:
        return found
    statement, params = _union_sql(unique, date_from, date_to, scope, bucket, by)
    # A cursor per call: the connection may be shared by Streamlit's session threads.
    frame = con.cursor().execute(statement, params).df()
    which = frame["_m"].to_numpy()
    keys = frame[["period_start", "unit_id"]]
    out: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(unique):
        mine = which == i
        rows = keys.loc[mine].reset_index(drop=True)
        out[name] = rows.assign(value=frame[f"_v{i}"].astype("float64").to_numpy()[mine])
    return {**found, **out}


def _union_sql(
    names: list[str],
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope,
    bucket: Bucket,
    by: By,
) -> tuple[str, dict[str, Any]]:
    """The metrics' SQL as one statement: rows (_m, period_start, unit_id, _v<i>), the value
    of metric i in column _v<i> and its position in _m; and the parameters it takes."""
    values: dict[str, Any] = {
        "date_from": date_from,
        "date_to": date_to,
        "bucket": bucket,
        "community_id": scope.community_id,
        "grid_id": scope.grid_id,
        "by": by,
    }
    parts: list[str] = []
    shared: dict[str, str] = {}
    for i, name in enumerate(names):
        sql = _query_sql(name, by, scope, shared)
        # Only the position i is spliced in; metric names and SQL come from the catalog.
        parts.append(f"SELECT {i} AS _m, period_start, unit_id, value AS _v{i} FROM (\n{sql}\n)")
    # Records (a grid drill-down) are read and turned into measures once for every metric,
    # not once per metric that refers to them: ~30 % off the drill-down at 10^7 records.
    # The stored rollups are not: copying a ranking's rows costs more than it saves.
    how = "MATERIALIZED " if _twin(by, scope) == "_records" else ""
    ctes = [f"_{macro} AS {how}(SELECT * FROM {call})" for macro, call in sorted(shared.items())]
    union = "\nUNION ALL BY NAME\n".join(parts)
    statement = f"WITH {', '.join(ctes)}\nSELECT * FROM (\n{union}\n)" if ctes else union
    wanted = set(_PARAM_RE.findall(statement))
    return statement, {k: values[k] for k in wanted}


def evaluate_wide(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope = CITY,
    *,
    bucket: Bucket = "all",
    by: By = "community",
) -> pa.Table:
    """The metrics' SQL (never a look-up) as one row per (period_start, unit_id) with a
    DOUBLE column per metric, NULL where the metric gave no row: how the table of period
    values is filled (metrics/period_values.py), in one query and no pandas."""
    unique = list(dict.fromkeys(names))
    statement, params = _union_sql(unique, date_from, date_to, scope, bucket, by)
    # Each metric gives at most one row per period and unit, so max() picks its value.
    # Column names are the catalog's metric names, never input.
    columns = ", ".join(f'max(_v{i})::DOUBLE AS "{name}"' for i, name in enumerate(unique))
    wide = f"SELECT period_start, unit_id, {columns} FROM (\n{statement}\n) GROUP BY ALL"
    table: pa.Table = con.cursor().sql(wide, params=params).to_arrow_table()
    return table


def totals(
    con: duckdb.DuckDBPyConnection, names: list[str], period: Period, scope: Scope = CITY
) -> dict[str, float | None]:
    """Each metric's value over the whole period, for the scope (the KPI-card number)."""
    frames = evaluate_many(con, names, period.start, period.end, scope, by="total")
    out: dict[str, float | None] = {}
    for name in names:
        total = _total_rows(frames[name])
        out[name] = _clean(total[0][1]) if total else _empty(name)
    return out


def _total_rows(frame: pd.DataFrame) -> list[tuple[dt.date, float]]:
    """The (period_start, value) of a metric's total rows (unit_id NULL), as plain values:
    a page's KPI cards and trend then cost microseconds of pandas, not milliseconds."""
    unit = frame["unit_id"].to_numpy()
    mask = pd.isna(unit)
    starts = frame["period_start"].to_numpy()[mask]
    days: list[dt.date] = starts.astype("datetime64[D]").astype(object).tolist()
    return list(zip(days, frame["value"].to_numpy()[mask].tolist(), strict=True))


def by_unit(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    units: list[str],
    scope: Scope = CITY,
    by: By = "community",
) -> pd.DataFrame:
    """A unit × metric table over the period (the ranking table); index is `units`."""
    index = pd.Index(units, name="unit_id")
    frames = evaluate_many(con, names, period.start, period.end, scope, by=by)
    columns: dict[str, np.ndarray] = {}
    # Where each of `units` is in a frame's rows: the same for most metrics of a page (the
    # looked-up ones share their rows), so found once and reused while the rows are equal.
    seen: tuple[Any, np.ndarray] | None = None
    wanted = pa.array(units, type=pa.string())
    for name in names:
        frame = frames[name]
        unit = frame["unit_id"].array
        if seen is None or not (len(seen[0]) == len(unit) and seen[0].equals(unit)):
            # Arrow's hash look-up: twice as fast as pandas' indexer for 110,000 ids.
            ids = pa.array(unit, type=pa.string(), from_pandas=True)
            found = pc.fill_null(pc.index_in(wanted, value_set=ids), -1)  # -1: no row
            seen = (unit, found.to_numpy(zero_copy_only=False))
        position = seen[1]
        values = np.append(frame["value"].to_numpy(dtype="float64"), np.nan)
        column = values[position]  # position -1 is the NaN appended
        if metric(name).additive:
            column = np.nan_to_num(column, nan=0.0)
        columns[name] = column
    return pd.DataFrame(columns, index=index, columns=list(dict.fromkeys(names)))


def trend(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    scope: Scope = CITY,
    bucket: Bucket = "month",
) -> pd.DataFrame:
    """A bucket × metric table of totals for the scope (the trend chart); index period_start."""
    starts = [p.date() for p in pd.date_range(period.start, period.end, freq="MS")]
    step = MONTHS_IN.get(bucket, 1)
    index = pd.Index(starts[::step], name="period_start")
    frames = evaluate_many(con, names, period.start, period.end, scope, bucket=bucket, by="total")
    columns: dict[str, list[float]] = {}
    for name in names:
        # DuckDB gives datetime64; keyed by date objects to match `index` exactly.
        values = dict(_total_rows(frames[name]))
        empty = 0.0 if metric(name).additive else float("nan")
        columns[name] = [float(v) if (v := values.get(day)) is not None else empty for day in index]
    return pd.DataFrame(columns, index=index, columns=list(dict.fromkeys(names)))


def _clean(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _empty(name: str) -> float | None:
    return 0.0 if metric(name).additive else None


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change, current against previous (环比 / 同比); None where undefined."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


SUMMARY_KEYS = [
    "communities",
    "grids",
    "disputes_handled",
    "supervision_orders",
    "problems_resolved",
    "wishes_fulfilled",
    "job_seekers_registered",
    "job_postings",
    "positions_offered",
    "placed_stable",
    "placed_flexible",
    "community_workers",
    "grid_party_branches",
    "party_groups",
    "party_member_households",
]


def summary(con: duckdb.DuckDBPyConnection, period: Period, scope: Scope = CITY) -> dict[str, Any]:
    """The headline figures over a period, as the CLI's `summary` prints them."""
    values = totals(con, list(catalog()), period, scope)
    out: dict[str, Any] = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "community": scope.community_id,
    }
    for key in SUMMARY_KEYS + [k for k in values if k not in SUMMARY_KEYS]:
        value = values[key]
        if value is not None and metric(key).format in ("int",) and metric(key).additive:
            out[key] = round(value)
        elif value is not None:
            out[key] = round(value, 4)
        else:
            out[key] = None
    return out
