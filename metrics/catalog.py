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
from typing import Any, Literal

import duckdb
import pandas as pd
import yaml

from metrics.periods import Period

CATALOG_PATH = Path(__file__).resolve().parent / "catalog.yaml"
SQL_DIR = Path(__file__).resolve().parent / "sql"

Bucket = Literal["month", "quarter", "half", "year", "all"]
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
            grid=bool(entry["grid"]),
            standard=entry.get("standard") or {},
        )
        for name, entry in raw.items()
    }


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
) -> dict[str, pd.DataFrame]:
    """Several metrics at once, in one DuckDB query: for each, what `evaluate` gives.

    Each metric's own SQL runs unchanged as one branch of a UNION ALL BY NAME, its value in
    a column of its own (so each keeps its own type until it becomes float64, as alone).
    One query per page instead of one per metric: the per-query cost (parsing, binding,
    planning, the round trip) is most of a page's time on small rollups.
    """
    unique = list(dict.fromkeys(names))
    if not unique:
        return {}
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
    for i, name in enumerate(unique):
        sql = _query_sql(name, by, scope, shared)
        # Only the position i is spliced in; metric names and SQL come from the catalog.
        parts.append(f"SELECT {i} AS _m, period_start, unit_id, value AS _v{i} FROM (\n{sql}\n)")
    ctes = [f"_{macro} AS (SELECT * FROM {call})" for macro, call in sorted(shared.items())]
    union = "\nUNION ALL BY NAME\n".join(parts)
    statement = f"WITH {', '.join(ctes)}\nSELECT * FROM (\n{union}\n)" if ctes else union
    wanted = set(_PARAM_RE.findall(statement))
    params = {k: values[k] for k in wanted}
    # A cursor per call: the connection may be shared by Streamlit's session threads.
    frame = con.cursor().execute(statement, params).df()
    which = frame["_m"].to_numpy()
    out: dict[str, pd.DataFrame] = {}
    for i, name in enumerate(unique):
        rows = frame.loc[which == i, ["period_start", "unit_id", f"_v{i}"]]
        rows = rows.rename(columns={f"_v{i}": "value"}).reset_index(drop=True)
        rows["value"] = rows["value"].astype("float64")
        out[name] = rows
    return out


def totals(
    con: duckdb.DuckDBPyConnection, names: list[str], period: Period, scope: Scope = CITY
) -> dict[str, float | None]:
    """Each metric's value over the whole period, for the scope (the KPI-card number)."""
    frames = evaluate_many(con, names, period.start, period.end, scope, by="total")
    out: dict[str, float | None] = {}
    for name in names:
        frame = frames[name]
        total = frame.loc[frame["unit_id"].isna(), "value"]
        out[name] = _clean(total.iloc[0]) if len(total) else _empty(name)
    return out


def by_unit(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    units: list[str],
    scope: Scope = CITY,
    by: By = "community",
) -> pd.DataFrame:
    """A unit × metric table over the period (the ranking table); index is `units`."""
    table = pd.DataFrame(index=pd.Index(units, name="unit_id"))
    frames = evaluate_many(con, names, period.start, period.end, scope, by=by)
    for name in names:
        frame = frames[name]
        values = frame.dropna(subset=["unit_id"]).set_index("unit_id")["value"]
        column = values.reindex(units)
        if metric(name).additive:
            column = column.fillna(0.0)
        table[name] = column
    return table


def trend(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    period: Period,
    scope: Scope = CITY,
    bucket: Bucket = "month",
) -> pd.DataFrame:
    """A bucket × metric table of totals for the scope (the trend chart); index period_start."""
    starts = [p.date() for p in pd.date_range(period.start, period.end, freq="MS")]
    step = {"month": 1, "quarter": 3, "half": 6, "year": 12}.get(bucket, 1)
    index = pd.Index(starts[::step], name="period_start")
    table = pd.DataFrame(index=index)
    frames = evaluate_many(con, names, period.start, period.end, scope, bucket=bucket, by="total")
    for name in names:
        frame = frames[name]
        values = frame[frame["unit_id"].isna()].set_index("period_start")["value"]
        # DuckDB gives datetime64; match the date objects of `index` exactly (pandas 4 will
        # no longer treat the two as equal, and every bucket would come out empty).
        values.index = pd.to_datetime(values.index).date
        column = values.reindex(index)
        if metric(name).additive:
            column = column.fillna(0.0)
        table[name] = column
    return table


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
