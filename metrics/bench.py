"""`python -m metrics bench`: the pages' queries at national scale, against pandas.

Generates a synthetic store of N ledger records (70 % cases, 30 % wishes, five years,
~110,000 communities at 1e8 and proportionally fewer below), in chunks through the real
store; builds the rollups; then, each in its own spawned process so that peak memory is
its own, times the functions the pages call and the naive baseline (pandas: read every
record, group by). Also times a 10,000-row upload with its rollup refresh and a
1,000,000-row CSV ingest in UTF-8 and GB18030. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from metrics import catalog, derived, ingest, queries
from metrics.catalog import CITY, Scope
from metrics.periods import Period
from metrics.schemas import CASE_STATUSES, CHANNELS, CLAIMANTS, DATASETS
from metrics.spark import bench as spark_bench
from metrics.store import Store

FIRST = dt.date(2021, 1, 1)
MONTHS = 60
DAYS = (dt.date(2025, 12, 31) - FIRST).days + 1
COMMUNITIES_AT_1E8 = 110_000
GRIDS_PER_COMMUNITY = 8
CHUNK_ROWS = 2_000_000
YEAR = Period.parse("2025")
MONTH = Period.parse("2025-11")
TREND = Period.span(dt.date(2025, 1, 1), dt.date(2025, 12, 1))


@dataclass(frozen=True)
class PeriodCases:
    """One period's records as the naive baseline slices them in pandas."""

    start: pd.Timestamp
    end: pd.Timestamp
    received: pd.DataFrame  # cases received in the period
    resolved: pd.DataFrame  # cases resolved (已化解) in the period
    unresolved: pd.DataFrame  # cases received by the period's end and not resolved by then
    wishes: pd.DataFrame


# The page KPIs the bench times, each with the naive way to it: the app side asks the
# catalog for these names (KPIS), the pandas baseline computes each from a PeriodCases.
PANDAS_KPIS: dict[str, Callable[[PeriodCases], float]] = {
    "cases_received": lambda p: len(p.received),
    "disputes_handled": lambda p: int((p.received["case_type"] == "矛盾纠纷").sum()),
    "problems_resolved": lambda p: int((p.resolved["case_type"] == "急难愁盼").sum()),
    "resolution_rate": lambda p: float((p.received["status"] == "已化解").mean()),
    "median_days_to_resolve": lambda p: float(
        (p.resolved["resolved_on"] - p.resolved["reported_on"]).dt.days.median()
    ),
    "open_backlog": lambda p: len(p.unresolved),
    "overdue_cases": lambda p: int(
        (p.unresolved["reported_on"] < p.end - pd.Timedelta(days=30)).sum()
    ),
    "wishes_fulfilled": lambda p: int(p.wishes["fulfilled_on"].between(p.start, p.end).sum()),
}
KPIS = list(PANDAS_KPIS)


def community_count(rows: int) -> int:
    return max(12, round(COMMUNITIES_AT_1E8 * rows / 1e8))


def community_ids(first: int, stop: int) -> pa.Array:
    numbers = pc.cast(pa.array(np.arange(first, stop)), pa.string())
    return pc.binary_join_element_wise("N", pc.utf8_lpad(numbers, 6, "0"), "")


# -- synthetic data ----------------------------------------------------------------------
def _dates(offsets: np.ndarray) -> pa.Array:
    return pa.array(offsets.astype("int32") + (FIRST - dt.date(1970, 1, 1)).days, pa.date32())


def _ids(communities: pa.Array, kind: str, start: int) -> pa.Array:
    seq = pc.cast(pa.array(np.arange(start, start + len(communities))), pa.string())
    return pc.binary_join_element_wise(communities, kind, seq, "")


def synth_cases(
    rng: np.random.Generator, first: int, stop: int, n: int, start: int, since: int = 0
) -> pa.Table:
    """n cases over communities first..stop-1, received from day `since` of the five years,
    sorted by community then date received (so min/max statistics can skip files)."""
    community = np.sort(rng.integers(first, stop, n))
    reported = rng.integers(since, DAYS, n)
    order = np.lexsort((reported, community))
    community, reported = community[order], reported[order]
    ids = community_ids(0, COMMUNITIES_AT_1E8 * 10).take(pa.array(community))
    grid = pc.binary_join_element_wise(
        ids, pc.cast(pa.array(rng.integers(1, GRIDS_PER_COMMUNITY + 1, n)), pa.string()), "-G"
    )
    closed = rng.random(n) < 0.88
    days = np.minimum(rng.geometric(1 / 12, n) - 1, DAYS - 1 - reported)
    status = np.where(closed, np.where(rng.random(n) < 0.93, 1, 2), 0)
    return pa.table(
        {
            "case_id": _ids(ids, "-C", start),
            "community_id": ids,
            "grid_id": grid,
            "case_type": pa.array(np.where(rng.random(n) < 0.55, "矛盾纠纷", "急难愁盼")),
            "category": pa.array(
                np.array(["邻里纠纷", "物业纠纷", "供暖供水", "停车纠纷"])[rng.integers(0, 4, n)]
            ),
            "channel": pa.array(np.array(CHANNELS)[rng.integers(0, len(CHANNELS), n)]),
            "is_supervised": pa.array(rng.random(n) < 0.1),
            "reported_on": _dates(reported),
            "resolved_on": pa.array(
                np.where(closed, reported + days, 0).astype("int32")
                + (FIRST - dt.date(1970, 1, 1)).days,
                pa.date32(),
                mask=~closed,
            ),
            "status": pa.array(np.array(CASE_STATUSES)[status]),
            "note": pa.nulls(n, pa.string()),
        }
    )


def synth_wishes(rng: np.random.Generator, first: int, stop: int, n: int, start: int) -> pa.Table:
    community = np.sort(rng.integers(first, stop, n))
    registered = rng.integers(0, DAYS, n)
    order = np.lexsort((registered, community))
    community, registered = community[order], registered[order]
    ids = community_ids(0, COMMUNITIES_AT_1E8 * 10).take(pa.array(community))
    grid = pc.binary_join_element_wise(
        ids, pc.cast(pa.array(rng.integers(1, GRIDS_PER_COMMUNITY + 1, n)), pa.string()), "-G"
    )
    claimed = rng.random(n) < 0.9
    fulfilled = claimed & (rng.random(n) < 0.85)
    claim_days = np.minimum(rng.geometric(1 / 6, n) - 1, DAYS - 1 - registered)
    fulfil_days = np.minimum(claim_days + rng.geometric(1 / 10, n), DAYS - 1 - registered)
    epoch = (FIRST - dt.date(1970, 1, 1)).days
    status = np.where(fulfilled, "已实现", np.where(claimed, "已认领", "待认领"))
    return pa.table(
        {
            "wish_id": _ids(ids, "-W", start),
            "community_id": ids,
            "grid_id": grid,
            "beneficiary_group": pa.array(
                np.array(["困难老人", "留守儿童", "残疾人"])[rng.integers(0, 3, n)]
            ),
            "wish_category": pa.array(
                np.array(["生活用品", "学习用品", "陪伴服务"])[rng.integers(0, 3, n)]
            ),
            "registered_on": _dates(registered),
            "claimed_on": pa.array(
                (registered + claim_days + epoch).astype("int32"), pa.date32(), mask=~claimed
            ),
            "claimed_by": pa.array(np.array(CLAIMANTS)[rng.integers(0, 4, n)], mask=~claimed),
            "fulfilled_on": pa.array(
                (registered + fulfil_days + epoch).astype("int32"), pa.date32(), mask=~fulfilled
            ),
            "status": pa.array(status),
        }
    )


def load(store: Store, rows: int, seed: int = 7) -> dict[str, float]:
    """Write the synthetic store in chunks of communities; returns seconds per step."""
    rng = np.random.default_rng(seed)
    n_comm = community_count(rows)
    ids = community_ids(0, n_comm)
    registry = pa.table(
        {
            "community_id": ids,
            "name": ids,
            "street": pa.array(["街道"] * n_comm),
            "households": pa.array(rng.integers(2000, 6000, n_comm)),
            "residents": pa.array(rng.integers(5000, 15000, n_comm)),
            "community_workers": pa.array(rng.integers(8, 30, n_comm)),
            "grid_party_branches": pa.array(rng.integers(1, 6, n_comm)),
            "party_groups": pa.array(rng.integers(2, 12, n_comm)),
            "party_member_households": pa.array(rng.integers(5, 40, n_comm)),
        }
    )
    grid_community = pc.take(ids, pa.array(np.repeat(np.arange(n_comm), GRIDS_PER_COMMUNITY)))
    grid_no = np.tile(np.arange(1, GRIDS_PER_COMMUNITY + 1), n_comm)
    grids = pa.table(
        {
            "grid_id": pc.binary_join_element_wise(
                grid_community, pc.cast(pa.array(grid_no), pa.string()), "-G"
            ),
            "community_id": grid_community,
            "name": pa.array(["网格"] * len(grid_no)),
            "households": pa.array(rng.integers(250, 550, len(grid_no))),
            "is_micro": pa.array(np.zeros(len(grid_no), bool)),
        }
    )
    started = time.perf_counter()
    store.replace_all("communities", registry)
    store.replace_all("grids", grids)
    chunks = max(1, round(rows / CHUNK_ROWS))
    bounds = np.linspace(0, n_comm, chunks + 1).astype(int)
    done = {"cases": 0, "wishes": 0}
    for i in range(chunks):
        share = rows * (bounds[i + 1] - bounds[i]) // n_comm
        for name, fraction, make in (("cases", 0.7, synth_cases), ("wishes", 0.3, synth_wishes)):
            n = int(share * fraction)
            table = make(rng, int(bounds[i]), int(bounds[i + 1]), n, done[name])
            store.append(name, table, {"source": "bench"}, refresh=False)
            done[name] += n
    loaded = time.perf_counter()
    for name in ("cases", "wishes"):
        derived.refresh(store, name, period_values=False)
    rolled = time.perf_counter()
    derived.period_table.refresh(store)
    store.refresh_all()  # the rest of recovery: audit entries of the loads, the marks
    return {
        "load_s": loaded - started,
        "rollup_build_s": rolled - loaded,
        "period_values_build_s": time.perf_counter() - rolled,
    }


# -- what the pages call -----------------------------------------------------------------
def page_queries(store: Store) -> list[tuple[str, str, Callable[[Any], Any]]]:
    con = store.connect()
    units = list(queries.communities(con)["community_id"])
    one = units[len(units) // 2]
    grids = list(queries.grids(con, one)["grid_id"])
    con.close()
    scope = Scope(community_id=one)
    return [
        ("overview", "kpi_totals_city_year", lambda c: catalog.totals(c, KPIS, YEAR)),
        ("overview", "kpi_totals_city_month", lambda c: catalog.totals(c, KPIS, MONTH)),
        ("overview", "trend_city_monthly", lambda c: catalog.trend(c, KPIS, TREND)),
        ("overview", "ranking_communities_year", lambda c: catalog.by_unit(c, KPIS, YEAR, units)),
        ("cases", "kpi_totals_community_year", lambda c: catalog.totals(c, KPIS, YEAR, scope)),
        ("cases", "trend_community_monthly", lambda c: catalog.trend(c, KPIS, TREND, scope)),
        (
            "cases",
            "grid_drilldown_year",
            lambda c: catalog.by_unit(c, KPIS, YEAR, grids, scope, by="grid"),
        ),
        ("cases", "records_community_month", lambda c: queries.records(c, "cases", scope, MONTH)),
        (
            "cases",
            "breakdown_channel_city_year",
            lambda c: queries.breakdown(c, "cases", "channel", CITY, YEAR),
        ),
    ]


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


def _peak_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over an exec, so a spawned
    # child would report its parent's peak (the data generator's) as its own.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _app_side(root: str, runs: int) -> dict[str, Any]:
    store = Store(root)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    con = store.connect(store.version())
    out["connect_ms"] = (time.perf_counter() - started) * 1000
    for page, name, fn in page_queries(store):
        fn(con)  # warm: the first call reads Parquet footers
        out[name] = (page, *_timed(functools.partial(fn, con), runs))
    out["peak_mb"] = _peak_mb()
    return out


# -- the naive baseline: read everything into pandas, group by per page ------------------
def _baseline_side(root: str, runs: int) -> dict[str, Any]:
    store = Store(root)
    version = store.version()
    started = time.perf_counter()
    cases = _read_all(store.files("cases", version.of("cases")))
    wishes = _read_all(store.files("wishes", version.of("wishes")))
    out: dict[str, Any] = {"load_s": time.perf_counter() - started}
    for frame, column in ((cases, "reported_on"), (wishes, "registered_on")):
        frame[column] = pd.to_datetime(frame[column])
    cases["resolved_on"] = pd.to_datetime(cases["resolved_on"])
    wishes["fulfilled_on"] = pd.to_datetime(wishes["fulfilled_on"])
    one = sorted(cases["community_id"].unique())[cases["community_id"].nunique() // 2]
    for name, job in _baseline_jobs(cases, wishes, one).items():
        out[name] = _timed(job, max(1, min(runs, 3)))
    out["peak_mb"] = _peak_mb()
    return out


def _baseline_jobs(
    cases: pd.DataFrame, wishes: pd.DataFrame, one: str
) -> dict[str, Callable[[], Any]]:
    """The pandas way to each of page_queries, by the same names; `one` is the community."""
    return {
        "kpi_totals_city_year": lambda: _kpis(cases, wishes, YEAR),
        "kpi_totals_city_month": lambda: _kpis(cases, wishes, MONTH),
        "trend_city_monthly": lambda: _trend(cases, wishes),
        "ranking_communities_year": lambda: _ranking(cases, wishes),
        "kpi_totals_community_year": lambda: _kpis(*_community(cases, wishes, one), YEAR),
        "trend_community_monthly": lambda: _trend(*_community(cases, wishes, one)),
        "grid_drilldown_year": lambda: _grid_drill(cases, wishes, one),
        "records_community_month": lambda: _records(cases, one),
        "breakdown_channel_city_year": lambda: _breakdown(cases),
    }


def _period_cases(c: pd.DataFrame, w: pd.DataFrame, period: Period) -> PeriodCases:
    lo, hi = pd.Timestamp(period.start), pd.Timestamp(period.end)
    return PeriodCases(
        start=lo,
        end=hi,
        received=c[c["reported_on"].between(lo, hi)],
        resolved=c[c["resolved_on"].between(lo, hi) & (c["status"] == "已化解")],
        unresolved=c[(c["reported_on"] <= hi) & ~(c["resolved_on"] <= hi)],
        wishes=w,
    )


def _kpis(c: pd.DataFrame, w: pd.DataFrame, period: Period) -> dict[str, float]:
    cut = _period_cases(c, w, period)
    return {name: formula(cut) for name, formula in PANDAS_KPIS.items()}


def _trend(c: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    months = pd.date_range(TREND.start, TREND.end, freq="MS")
    return pd.DataFrame([_kpis(c, w, Period.of("month", m.date())) for m in months], index=months)


def _ranking(c: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    year = _period_cases(c, w, YEAR)
    got, closed = year.received, year.resolved
    return pd.concat(
        [
            got.groupby("community_id").size(),
            got.assign(r=got["status"] == "已化解").groupby("community_id")["r"].mean(),
            (closed["resolved_on"] - closed["reported_on"])
            .dt.days.groupby(closed["community_id"])
            .median(),
            year.unresolved.groupby("community_id").size(),
            w[w["fulfilled_on"].between(year.start, year.end)].groupby("community_id").size(),
        ],
        axis=1,
    )


def _community(c: pd.DataFrame, w: pd.DataFrame, one: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return c[c["community_id"] == one], w[w["community_id"] == one]


def _grid_drill(c: pd.DataFrame, w: pd.DataFrame, one: str) -> pd.DataFrame:
    mine, _ = _community(c, w, one)
    lo, hi = pd.Timestamp(YEAR.start), pd.Timestamp(YEAR.end)
    got = mine[mine["reported_on"].between(lo, hi)]
    return got.groupby("grid_id").agg(n=("case_id", "size"))


def _records(c: pd.DataFrame, one: str) -> pd.DataFrame:
    lo, hi = pd.Timestamp(MONTH.start), pd.Timestamp(MONTH.end)
    mine = c[(c["community_id"] == one) & c["reported_on"].between(lo, hi)]
    page: pd.DataFrame = mine.sort_values("case_id").head(200)
    return page


def _breakdown(c: pd.DataFrame) -> pd.Series:
    lo, hi = pd.Timestamp(YEAR.start), pd.Timestamp(YEAR.end)
    return c[c["reported_on"].between(lo, hi)]["channel"].value_counts()


def _read_all(files: list[str]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def _in_child(fn: Callable[[str, int], dict[str, Any]], root: Path, runs: int) -> dict[str, Any]:
    # spawn, not fork: the deltalake runtime does not survive a fork.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(fn, (str(root), runs))
    return result


# -- uploads -----------------------------------------------------------------------------
def _csv(table: pa.Table, encoding: str) -> bytes:
    spec = DATASETS["cases"]
    renamed = table.rename_columns([spec.field(c).zh for c in table.column_names])
    buffer = io.BytesIO()
    pacsv.write_csv(renamed, buffer)
    data = buffer.getvalue()
    return data if encoding == "utf-8" else data.decode("utf-8").encode(encoding)


def _upload_rows(store: Store, n: int, community: str, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    number = int(community[1:])
    december = DAYS - 31
    table = synth_cases(rng, number, number + 1, n, 900_000_000, since=december)
    grids = ingest_grids(store, community)
    return table.set_column(1, "community_id", pa.array([community] * n)).set_column(
        2, "grid_id", pa.array(np.array(grids)[rng.integers(0, len(grids), n)])
    )


def ingest_grids(store: Store, community: str) -> list[str]:
    con = store.connect()
    try:
        return list(queries.grids(con, community)["grid_id"])
    finally:
        con.close()


def time_upload(store: Store, rows: int, community: str, encoding: str = "utf-8") -> float:
    """Validate and commit one community's file of `rows` cases; seconds, rollups included."""
    # New rows on every run (the seed follows the table's version): the same file again
    # would be a no-op upload, not what is being measured.
    seed = rows + max(0, store.version().of("cases"))
    data = _csv(_upload_rows(store, rows, community, seed=seed), encoding)
    started = time.perf_counter()
    validation = ingest.validate(
        data,
        f"bench-{encoding}.csv",
        "cases",
        community,
        store,
        today=dt.date(2026, 1, 31),
        max_bytes=1 << 30,  # the web upload limit is not what is measured here
    )
    if not validation.ok:
        raise RuntimeError(validation.summary("en"))
    ingest.commit(store, validation, user="bench")
    return time.perf_counter() - started


# -- the whole run -----------------------------------------------------------------------
def run(
    scale: float,
    *,
    runs: int = 7,
    workdir: Path | None = None,
    ingest_rows: int = 1_000_000,
    keep: bool = False,
    spark: bool = False,
) -> dict[str, Any]:
    rows = int(scale)
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="govdash-bench-"))
    store = Store(root)
    steps = load(store, rows) if store.is_empty() else {}
    app = _in_child(_app_side, root, runs)
    needed, available = _baseline_mb(rows), _available_mb()
    if needed < available:
        base = _in_child(_baseline_side, root, runs)
    else:  # the naive way cannot even hold the records here: say so instead of swapping
        base = {"load_s": None, "peak_mb": None}
        skipped = f"pandas would need ~{needed / 1024:.0f} GB, {available / 1024:.0f} GB free"
    community = str(community_ids(0, community_count(rows))[-1])
    upload_s = time_upload(store, 10_000, community)
    # The whole rebuild on DuckDB, and with `spark` on Spark too when pyspark is installed.
    rebuilds = spark_bench.rebuild_times(store, spark=spark)
    result: dict[str, Any] = {
        "scale": f"{scale:.0e}".replace("e+0", "e").replace("e+", "e"),
        "rows": rows,
        "communities": community_count(rows),
        "queries": [],
        "upload_10k_s": round(upload_s, 3),
        **{k: round(v, 2) for k, v in {**steps, **rebuilds}.items()},
        "store_mb": round(sum(f.stat().st_size for f in root.rglob("*.parquet")) / 2**20, 1),
        "connect_ms": round(app["connect_ms"], 1),
        "baseline_load_s": _rounded(base["load_s"], 2),
        "app_peak_mb": round(app["peak_mb"]),
        "baseline_peak_mb": _rounded(base["peak_mb"], 0),
    }
    if base["peak_mb"] is None:
        result["baseline_skipped"] = skipped
    for name, value in app.items():
        if not isinstance(value, tuple):
            continue
        page, p50, p95 = value
        b50 = base[name][0] if name in base else None
        result["queries"].append(
            {
                "page": page,
                "name": name,
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "baseline_p50_ms": _rounded(b50, 1),
                "ratio": round(b50 / p50, 1) if p50 and b50 is not None else None,
            }
        )
    # The bulk ingest goes into a fresh store holding the registry only, so that it measures
    # reading, decoding and validating a big file and one commit, not the table's size.
    for encoding in ("utf-8", "gb18030"):
        fresh = Store(root / f"ingest-{encoding}")
        fresh.replace_all("communities", store_table(store, "communities", community))
        fresh.replace_all("grids", store_table(store, "grids", community))
        key = "ingest_1m_utf8_s" if encoding == "utf-8" else "ingest_1m_gb18030_s"
        if ingest_rows != 1_000_000:
            key = key.replace("1m", f"{ingest_rows}")
        result[key] = round(time_upload(fresh, ingest_rows, community, encoding), 2)
        shutil.rmtree(str(fresh.root), ignore_errors=True)  # bench stores are local
    if not keep and workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return result


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# What the pandas baseline holds per record, measured at 1e7 (2,872 MB for 10^7 records),
# with a third more for the group-bys' copies.
_BASELINE_BYTES_PER_ROW = 290 * 4 / 3


def _baseline_mb(rows: int) -> float:
    return rows * _BASELINE_BYTES_PER_ROW / 2**20


def _available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def store_table(store: Store, dataset: str, community: str) -> pa.Table:
    con = store.connect()
    try:
        statement = f"SELECT * FROM {dataset} WHERE community_id = $c"  # a contract name
        result: pa.Table = con.sql(statement, params={"c": community}).to_arrow_table()
        return result
    finally:
        con.close()


def table_text(result: dict[str, Any]) -> str:
    """The result as the Markdown table in docs/benchmarks.md."""
    lines = [
        "| page | query | p50 ms | p95 ms | pandas p50 ms | × faster |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for q in result["queries"]:
        lines.append(
            f"| {q['page']} | {q['name']} | {q['p50_ms']} | {q['p95_ms']} "
            f"| {q['baseline_p50_ms']} | {q['ratio']} |"
        )
    extras = {k: v for k, v in result.items() if k != "queries"}
    lines += ["", "| measure | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in extras.items()]
    return "\n".join(lines)
