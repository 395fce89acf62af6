"""The metric catalog (catalog.yaml + sql/<name>.sql) and the functions that evaluate it.

Every metric query takes the same named parameters and returns the same three columns,
so one function serves KPI cards, rankings, trends and the CLI alike:

    $date_from, $date_to   first and last day of the range (DATE)
    $bucket                month | quarter | half | year | all   (one row set per bucket)
    $community_id, $grid_id  filters, NULL for none
    $by                    community | grid: what unit_id is
    $today                 the day a figure is read on (DATE): only a metric whose catalog
                           entry has `final_after` depends on it (the fulfilment rate judges
                           a wish once its 30 days are over)

    -> period_start DATE, unit_id VARCHAR (NULL on the total row), value

Every figure of a period is as of the period's end, from the dates alone: never from a
status as it stands today (docs/decisions/0009-as-of-period-end.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from metrics import period_lookup, periods
from metrics.periods import MONTHS_IN, Period
from metrics.schemas import DATASETS

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
# What a unit with no rows in a period has: zero (nothing happened: no case received) or
# none (nothing was reported: a community's employment report or property ratings).
Empty = Literal["zero", "none"]
_PARAM_RE = re.compile(r"\$([a-z_]+)")
# The day the table of period values is computed for: after every period's end, so that
# it holds each period's final value (`final_after`).
FINAL_DAY = dt.date(9999, 12, 31)
# The day figures are read on when a call names none (`read_on`), else periods.today().
_reading_day: ContextVar[dt.date | None] = ContextVar("govdash_reading_day", default=None)


@contextmanager
def read_on(day: dt.date) -> Iterator[None]:
    """Every figure computed inside is read on `day` (the `$today` of the metric SQL): a
    meeting's figures as of its moment (the demo's own day for the demo), not the clock's."""
    reset = _reading_day.set(day)
    try:
        yield
    finally:
        _reading_day.reset(reset)


def reading_day(today: dt.date | None = None) -> dt.date:
    """`today` if given, else the day of the enclosing `read_on`, else periods.today()."""
    return today or _reading_day.get() or periods.today()


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
    empty: Empty = "zero"
    final_after: int = 0  # days after a period's end from which its value is final

    @property
    def sql(self) -> str:
        return _sql_text(self.name)

    @property
    def zero_when_empty(self) -> bool:
        """Whether a unit with no rows has 0 (an additive metric whose `empty` is zero)."""
        return self.additive and self.empty == "zero"

    def final_by(self, period_end: dt.date, today: dt.date) -> bool:
        """Whether the value of a period ending on `period_end` no longer changes with the
        day it is read on (corrections aside), when read on `today`."""
        return today >= period_end + dt.timedelta(days=self.final_after)

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
            empty=_empty_kind(name, entry.get("empty", "zero" if entry["additive"] else "none")),
            final_after=int(entry.get("final_after", 0)),
        )
        for name, entry in raw.items()
    }


def _empty_kind(name: str, value: Any) -> Empty:
    if value not in ("zero", "none"):
        raise ValueError(f"catalog.yaml: {name}: empty must be zero or none, not {value!r}")
    return cast(Empty, value)


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
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Run one metric: rows (period_start, unit_id, value); unit_id is None on totals."""
    frames = evaluate_many(
        con, [name], date_from, date_to, scope, bucket=bucket, by=by, today=today
    )
    return frames[name]


# A metric query's read of the rollup macros (sql/_rollup_reads.sql), and the calls that
# every metric of a query makes alike (the same macro, the query's own parameters).
_ROLLUP_READ_RE = re.compile(r"\b((?:cases|wishes)_(?:monthly|days|cohorts))\(")
_SHARED_CALL_RE = re.compile(
    r"\b(((?:cases|wishes)_(?:monthly|days|cohorts))\(\$by, \$community_id, \$grid_id\)"
    r"|(periods)\(\$date_from, \$date_to, \$bucket\))"
)


def _query_sql(name: str, by: By, scope: Scope, shared: dict[str, str]) -> str:
    """The metric's SQL as it is run for `by` and `scope`.

    Where the rollup macros would read the stored rollup only (rollup_rows in
    sql/_rollup_reads.sql: by community or total, no grid), they are swapped for their
    `_stored` twins, otherwise (by grid, or for a grid) for their `_grids` twins, which
    read the grid rollups: the rows the records would give, without binding the branch
    that would give none or computing the measures from the records. The calls that every
    metric makes alike read a common table expression `_<macro>` instead (added to
    `shared`: name -> what it selects), bound once for every metric of the query rather
    than once per metric.
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
    return period_lookup.standard_periods(date_from, date_to, bucket)


def _lookup(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    periods: tuple[str, dt.date, dt.date],
    scope: Scope,
    by: By,
) -> dict[str, pd.DataFrame] | None:
    return period_lookup.lookup(con, names, periods, scope.community_id, by)


def _twin(by: By, scope: Scope) -> str:
    return "_stored" if by in ("community", "total") and scope.grid_id is None else "_grids"


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
    today: dt.date | None = None,
) -> dict[str, pd.DataFrame]:
    """Several metrics at once, in one DuckDB query: for each, what `evaluate` gives.

    Metrics the store keeps per standard period (`precomputed`) are looked up instead when
    the buckets are standard periods of the city or a community (metrics/period_values.py)
    and their values are final on `today` (default: `reading_day`); `lookup=False` always
    runs their SQL (which is how that table is filled). A metric that does not break down
    by grid has no rows for a grid (no value, never the community's figure or 0).

    Each metric's own SQL runs unchanged as one branch of a UNION ALL BY NAME, its value in
    a column of its own (so each keeps its own type until it becomes float64, as alone).
    One query per page instead of one per metric: the per-query cost (parsing, binding,
    planning, the round trip) is most of a page's time on small rollups.
    """
    unique = list(dict.fromkeys(names))
    if not unique:
        return {}
    day = reading_day(today)
    found = {n: period_lookup.no_rows() for n in unique if not _has_value(n, scope, by)}
    stored = [n for n in unique if n not in found and precomputed(n)] if lookup else []
    stored = [n for n in stored if metric(n).final_by(date_to, day)]
    standard = _standard_periods(date_from, date_to, bucket)
    if stored and standard and scope.grid_id is None and by in ("community", "total"):
        found.update(_lookup(con, stored, standard, scope, by) or {})
    unique = [n for n in unique if n not in found]
    if not unique:
        return found
    statement, params = _union_sql(unique, date_from, date_to, scope, bucket, by, day)
    # A cursor per call: the connection may be shared by Streamlit's session threads.
    frame = con.cursor().execute(statement, params).df()
    which = frame["_m"].to_numpy()
    starts, unit = frame["period_start"].to_numpy(), frame["unit_id"].to_numpy()
    out: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(unique):
        mine = which == i
        value = frame[f"_v{i}"].to_numpy(dtype="float64")[mine]
        # From arrays, not .loc and .assign: a third of the time for a page's eight metrics.
        out[name] = pd.DataFrame(
            {"period_start": starts[mine], "unit_id": unit[mine], "value": value}
        )
    return {**found, **out}


def _has_value(name: str, scope: Scope, by: By) -> bool:
    """Whether the metric can have a value for the scope and units: one that is not
    reported by grid has none for a grid (employment, ratings, the registry's counts)."""
    return metric(name).grid or (scope.grid_id is None and by != "grid")


def parameters(
    date_from: dt.date, date_to: dt.date, scope: Scope, bucket: Bucket, by: By, today: dt.date
) -> dict[str, Any]:
    """Every named parameter a metric query may take (module docstring), by name."""
    return {
        "date_from": date_from,
        "date_to": date_to,
        "bucket": bucket,
        "community_id": scope.community_id,
        "grid_id": scope.grid_id,
        "by": by,
        "today": today,
    }


def _union_sql(
    names: list[str],
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope,
    bucket: Bucket,
    by: By,
    today: dt.date,
) -> tuple[str, dict[str, Any]]:
    """The metrics' SQL as one statement: rows (_m, period_start, unit_id, _v<i>), the value
    of metric i in column _v<i> and its position in _m; and the parameters it takes."""
    values = parameters(date_from, date_to, scope, bucket, by, today)
    parts: list[str] = []
    shared: dict[str, str] = {}
    for i, name in enumerate(names):
        sql = _query_sql(name, by, scope, shared)
        # Only the position i is spliced in; metric names and SQL come from the catalog.
        parts.append(f"SELECT {i} AS _m, period_start, unit_id, value AS _v{i} FROM (\n{sql}\n)")
    # A grid drill-down's rows (of the grid rollups' Parquet files, or of the records) are
    # read once for every metric, not once per metric that refers to them: from the records
    # that was ~30 % off the drill-down at 10^7 records. The stored community rollups are
    # not: copying a ranking's rows costs more than it saves.
    how = "MATERIALIZED " if _twin(by, scope) != "_stored" else ""
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
    values is filled (metrics/period_values.py), in one query and no pandas. Each value
    is the period's final one (read on FINAL_DAY): the table is read only where that is
    the value of the day (`Metric.final_by`)."""
    unique = list(dict.fromkeys(names))
    statement, params = _union_sql(unique, date_from, date_to, scope, bucket, by, FINAL_DAY)
    # Each metric gives at most one row per period and unit, so max() picks its value.
    # Column names are the catalog's metric names, never input.
    columns = ", ".join(f'max(_v{i})::DOUBLE AS "{name}"' for i, name in enumerate(unique))
    wide = f"SELECT period_start, unit_id, {columns} FROM (\n{statement}\n) GROUP BY ALL"
    table: pa.Table = con.cursor().sql(wide, params=params).to_arrow_table()
    return table


def totals(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    scope: Scope = CITY,
    *,
    compared: bool = False,
    today: dt.date | None = None,
) -> dict[str, float | None]:
    """Each metric's value over the whole period, for the scope (the KPI-card number).

    `compared`: the period is one another is compared with (环比, 同比), and a metric whose
    data begin after the period starts has no value there (see `comparable`)."""
    wanted = comparable(con, names, period) if compared else list(names)
    frames = evaluate_many(con, wanted, period.start, period.end, scope, by="total", today=today)
    out: dict[str, float | None] = {}
    for name in names:
        total = _total_rows(frames[name]) if name in frames else []
        empty = _empty(name, name in wanted and _has_value(name, scope, "total"))
        out[name] = _clean(total[0][1]) if total else empty
    return out


# The first month of each dated ledger's data, city-wide (a quarter's ratings from the
# quarter's first day): cases and wishes from the rollups' city rows where the connection
# has them (a few hundred rows), else from their records.
_REPORTS_BEGIN = """
UNION ALL SELECT 'employment', min(month) FROM employment
UNION ALL SELECT 'property_ratings', min(quarter_start(quarter)) FROM property_ratings
"""
_DATA_BEGIN_SQL = (
    "SELECT 'cases', min(month) FROM cases_rollup WHERE community_id IS NULL AND received > 0"
    " UNION ALL SELECT 'wishes', min(month) FROM wishes_rollup"
    " WHERE community_id IS NULL AND registered > 0" + _REPORTS_BEGIN
)
_DATA_BEGIN_RECORDS_SQL = (
    "SELECT 'cases', min(date_trunc('month', reported_on)) FROM cases"
    " UNION ALL SELECT 'wishes', min(date_trunc('month', registered_on)) FROM wishes"
    + _REPORTS_BEGIN
)


def data_begins(con: duckdb.DuckDBPyConnection) -> dict[str, dt.date]:
    """The first day of the first month with data, per dated dataset that has any."""
    try:
        rows = con.cursor().execute(_DATA_BEGIN_SQL).fetchall()
    except duckdb.CatalogException:  # a connection without rollups: read the records
        rows = con.cursor().execute(_DATA_BEGIN_RECORDS_SQL).fetchall()
    return {str(name): first for name, first in rows if first is not None}


def comparable(con: duckdb.DuckDBPyConnection, names: list[str], period: Period) -> list[str]:
    """The metrics among `names` that a figure may be compared with over `period`: all
    but those of a dated dataset whose data begin after the period starts (or that has no
    data). Compared with months before the data began, a figure would read as growth
    (a 36-month range +52 % against a year ago that was mostly empty): "—" instead."""
    begins = data_begins(con)

    def fine(name: str) -> bool:
        dataset = metric(name).dataset
        if DATASETS[dataset].period_field is None:  # the registry is not dated
            return True
        first = begins.get(dataset)
        return first is not None and period.start >= first

    return [n for n in dict.fromkeys(names) if fine(n)]


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
    *,
    compared: bool = False,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """A unit × metric table over the period (the ranking table); index is `units`. No
    value (NaN) where a unit has no rows, except 0 for a metric whose `empty` is zero;
    `compared` as for `totals` (the period a ranking's rank change is against)."""
    index = pd.Index(units, name="unit_id")
    asked = comparable(con, names, period) if compared else list(names)
    frames = evaluate_many(con, asked, period.start, period.end, scope, by=by, today=today)
    frames.update({n: period_lookup.no_rows() for n in names if n not in frames})
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
        if _empty(name, name in asked and _has_value(name, scope, by)) == 0:
            column = np.nan_to_num(column, nan=0.0)
        columns[name] = column
    return pd.DataFrame(columns, index=index, columns=list(dict.fromkeys(names)))


def trend(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    scope: Scope = CITY,
    bucket: Bucket = "month",
    *,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """A bucket × metric table of totals for the scope (the trend chart); index period_start."""
    starts = [p.date() for p in pd.date_range(period.start, period.end, freq="MS")]
    step = MONTHS_IN.get(bucket, 1)
    index = pd.Index(starts[::step], name="period_start")
    frames = evaluate_many(
        con, names, period.start, period.end, scope, bucket=bucket, by="total", today=today
    )
    columns: dict[str, list[float]] = {}
    for name in names:
        # DuckDB gives datetime64; keyed by date objects to match `index` exactly.
        values = dict(_total_rows(frames[name]))
        empty = _empty(name, _has_value(name, scope, "total"))
        empty = float("nan") if empty is None else empty
        columns[name] = [float(v) if (v := values.get(day)) is not None else empty for day in index]
    return pd.DataFrame(columns, index=index, columns=list(dict.fromkeys(names)))


def _clean(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _empty(name: str, available: bool = True) -> float | None:
    """What a unit with no rows has: 0 where nothing happened (`zero_when_empty`), else no
    value; no value either where the metric is not `available` (not reported by grid,
    `_has_value`; a period before the data begin, `comparable`)."""
    return 0.0 if available and metric(name).zero_when_empty else None


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
