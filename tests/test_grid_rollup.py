"""The grid rollups (metrics/derived/rollups.py: cases_grid_rollup and the like, keyed
(community_id, grid_id, ...)): what a drill-down into a community's grids reads instead of
the records. Their rows by hand from tests/fixtures/, the drill-down's values by hand, kept
exact by uploads (each touched community's rows anew), rollbacks and recovery, and equal to
what the records give for every grid metric over the demo store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from metrics import catalog, demo
from metrics.catalog import Scope
from metrics.delta import load_sql
from metrics.derived import ROLLUPS, recovery, rollups
from metrics.periods import Period
from metrics.store import Store
from tests.conftest import fixture_store

NAN = float("nan")
ALL = Period.parse("2025-08..2025-11")
QTX01_GRIDS = ["QTX01-G01", "QTX01-G02", "QTX01-G03"]
GRID_ROLLUPS = [n for tables in ROLLUPS.values() for n in tables if not rollups.has_city_rows(n)]
# The metrics that break down by grid and read the rollups: what a drill-down shows.
GRID_METRICS = [
    m.name for m in catalog.catalog().values() if m.grid and catalog.precomputed(m.name)
]

# QTX01's grids over 2025-08..2025-11, from tests/fixtures/cases.csv and wishes.csv:
# G01 holds C01 C03 C05 C07 and W01 W03 W05, G02 C02 C06 and W02, G03 C04 and W04.
BY_GRID: dict[str, tuple[float, float, float]] = {
    "cases_received": (4, 2, 1),
    "disputes_handled": (3, 0, 1),  # 矛盾纠纷: C01 C03 C07 | none | C04
    "problems_resolved": (0, 2, 0),  # 急难愁盼 已化解: C05 is open | C02 Sep 10, C06 Oct 14
    "resolution_rate": (3 / 4, 1, 0),  # C05 open | both | C04 未化解
    "median_days_to_resolve": (5, 12.5, NAN),  # 10 5 2 | (21+4)/2 | none 已化解
    "open_backlog": (1, 0, 0),  # at Nov 30: C05 (C04 was closed, 未化解, on Oct 20)
    "overdue_cases": (1, 0, 0),  # C05, received Sep 25, before Oct 31
    "supervision_orders": (1, 1, 0),  # C05 | C02
    "wishes_registered": (3, 1, 1),
    "wishes_claimed": (3, 1, 0),  # W01 W03 W05 | W02 | W04 unclaimed
    "wishes_fulfilled": (2, 1, 0),  # W01 W05 | W02
    "fulfillment_rate": (2 / 3, 1, 0),  # W01 (9 days) W05 (6) of 3 | W02 (21) | W04
    "wishes_not_due": (0, 0, 0),  # every wish registered long ago
    "median_days_to_fulfil": (7.5, 21, NAN),  # (6+9)/2 | 21 | none
    "wishes_unclaimed_overdue": (0, 0, 1),  # W04, registered Sep 20, before Oct 31
}


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fixture_store(tmp_path_factory.mktemp("grid"))


@pytest.fixture
def fcon(fixtures: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = fixtures.connect()
    yield connection
    connection.close()


def _records_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """catalog as it was before the grid rollups: grids from the records (`_records`)."""
    stored = catalog._twin

    def twin(by: catalog.By, scope: Scope) -> str:
        return "_records" if stored(by, scope) == "_grids" else stored(by, scope)

    monkeypatch.setattr(catalog, "_twin", twin)


def _stored(store: Store, name: str) -> list[tuple[object, ...]]:
    con = store.connect()
    try:
        return con.sql(f"SELECT * FROM {name} ORDER BY ALL").fetchall()  # names from ROLLUPS
    finally:
        con.close()


def _assert_recomputed(store: Store) -> None:
    """Every grid rollup as stored equals its rows computed from the records anew."""
    version = store.version()
    for dataset, tables in ROLLUPS.items():
        for name in tables:
            if rollups.has_city_rows(name):
                continue
            files = rollups.files_reflecting(store, name, version.of(dataset))
            assert files is not None, f"{name} does not reflect {dataset}@{version.of(dataset)}"
            con = store.records_connection(dataset, version.of(dataset))
            try:
                load_sql(con, "_rollups.sql")
                fresh = con.sql(f"SELECT * FROM ({rollups.recompute_sql(name)}) ORDER BY ALL")
                stored = con.sql("SELECT * FROM read_parquet($f) ORDER BY ALL", params={"f": files})
                assert stored.fetchall() == fresh.fetchall(), name
            finally:
                con.close()


# -- the rows, by hand ---------------------------------------------------------------------
def test_grid_rollup_rows(fixtures: Store) -> None:
    rows = [r for r in _stored(fixtures, "cases_grid_rollup") if r[1] == "QTX01-G01"]
    # (community, grid, month, received, disputes, supervised, problems_resolved, net_open,
    # young_open) of QTX01-G01: C01 in and out in Aug; C03 in and out, C05 in (supervised,
    # open at Sep 30, received in its last 30 days) in Sep; C07 in and out in Nov.
    assert rows == [
        ("QTX01", "QTX01-G01", dt.date(2025, 8, 1), 1, 1, 0, 0, 0, 0),
        ("QTX01", "QTX01-G01", dt.date(2025, 9, 1), 2, 1, 1, 0, 1, 1),
        ("QTX01", "QTX01-G01", dt.date(2025, 11, 1), 1, 1, 0, 0, 0, 0),
    ]
    days = [r for r in _stored(fixtures, "cases_grid_days_rollup") if r[1] == "QTX01-G02"]
    # (community, grid, month resolved, days, month received, n): C02 Aug 20 -> Sep 10, C06
    # Oct 10 -> Oct 14, both 已化解.
    assert days == [
        ("QTX01", "QTX01-G02", dt.date(2025, 9, 1), 21, dt.date(2025, 8, 1), 1),
        ("QTX01", "QTX01-G02", dt.date(2025, 10, 1), 4, dt.date(2025, 10, 1), 1),
    ]
    for name in GRID_ROLLUPS:  # no city rows: the city's sum by grid would repeat them all
        assert all(r[0] is not None for r in _stored(fixtures, name)), name
    # One per community rollup, its keys after grid_id.
    assert len(GRID_ROLLUPS) == 5
    _assert_recomputed(fixtures)


def test_drill_down_by_hand(fcon: duckdb.DuckDBPyConnection) -> None:
    table = catalog.by_unit(fcon, GRID_METRICS, ALL, QTX01_GRIDS, Scope("QTX01"), by="grid")
    assert set(BY_GRID) == set(GRID_METRICS)
    for name, values in BY_GRID.items():
        assert list(table[name]) == pytest.approx(list(values), nan_ok=True), name
    # The drill-down's total row is the community's figure (as the stored rollups give it;
    # no row where a count is 0, as the KPI card then shows).
    total = catalog.totals(fcon, GRID_METRICS, ALL, Scope("QTX01"))
    frames = catalog.evaluate_many(
        fcon, GRID_METRICS, ALL.start, ALL.end, Scope("QTX01"), by="grid"
    )
    for name in GRID_METRICS:
        rows = frames[name][frames[name]["unit_id"].isna()]
        got = float(rows["value"].iloc[0]) if len(rows) else catalog._empty(name)
        assert got == pytest.approx(total[name], nan_ok=True), name


def test_one_grid_by_month_by_hand(fcon: duckdb.DuckDBPyConnection) -> None:
    got = catalog.trend(
        fcon,
        ["cases_received", "open_backlog", "overdue_cases", "resolution_rate"],
        ALL,
        Scope("QTX01", "QTX01-G01"),
    )
    assert list(got["cases_received"]) == [1, 2, 0, 1]  # C01 | C03 C05 | none | C07
    assert list(got["open_backlog"]) == [0, 1, 1, 1]  # C05 from Sep 25 on
    assert list(got["overdue_cases"]) == [0, 0, 1, 1]  # C05 past 30 days from Oct 31
    # Aug C01 | Sep C03 of C03 C05 | none received | Nov C07
    assert list(got["resolution_rate"]) == pytest.approx([1, 1 / 2, NAN, 1], nan_ok=True)


# -- kept exact ------------------------------------------------------------------------------
def _case(case_id: str, grid: str, day: str, closed: str | None) -> dict[str, str | None]:
    return {
        "case_id": case_id,
        "community_id": "QTX02",
        "grid_id": grid,
        "case_type": "矛盾纠纷",
        "category": "邻里纠纷",
        "channel": "板凳会",
        "is_supervised": "false",
        "reported_on": day,
        "resolved_on": closed,
        "status": "已化解" if closed else "办理中",
        "note": None,
    }


def _received(store: Store) -> list[float]:
    con = store.connect()
    try:
        grids = ["QTX02-G01", "QTX02-G02"]
        table = catalog.by_unit(con, ["cases_received"], ALL, grids, Scope("QTX02"), by="grid")
        return list(table["cases_received"])
    finally:
        con.close()


def test_uploads_rollbacks_and_recovery_keep_them_exact(store: Store) -> None:
    start = store.version().of("cases")
    assert _received(store) == [3, 2]  # C08 C10 C12 | C09 C11
    # An upload to QTX02: C12 moves to G02, and a new case in G01. Only QTX02's rows anew.
    before = [r for r in _stored(store, "cases_grid_rollup") if r[0] == "QTX01"]
    rows = [
        _case("C12", "QTX02-G02", "2025-11-20", None),
        _case("C20", "QTX02-G01", "2025-09-09", None),
    ]
    store.upsert("cases", pa.Table.from_pylist(rows), community_id="QTX02")
    assert _received(store) == [3, 3]  # C08 C10 C20 | C09 C11 C12
    assert [r for r in _stored(store, "cases_grid_rollup") if r[0] == "QTX01"] == before
    for name in GRID_ROLLUPS[:2]:  # the cases' grid rollups: QTX02's rows only, no city's
        last = DeltaTable(str(store.rollup_path(name))).history(1)[0]
        assert last["operationParameters"]["predicate"] == "community_id = 'QTX02'", name
    _assert_recomputed(store)
    store.rollback("cases", start)
    assert _received(store) == [3, 2]
    _assert_recomputed(store)
    # A bulk write that nobody refreshed (as a writer killed after its commit leaves it):
    # the next reader's recovery brings the grid rollups up to it with the others.
    store.append(
        "cases",
        pa.Table.from_pylist([_case("C21", "QTX02-G02", "2025-10-01", None)]),
        {"user": "bulk"},
        refresh=False,
    )
    assert rollups.files_reflecting(store, "cases_grid_rollup", start + 3) is None  # behind
    recovery.ensure(store)  # what every reader runs on open
    assert _received(store) == [3, 3]
    _assert_recomputed(store)


# -- the same as the records, over the demo store --------------------------------------------
@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = demo.store_at(tmp_path_factory.mktemp("demo"))
    demo.write(store)
    return store


def _drill_downs(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every grid metric's drill-down into each community, and each grid's figures, over
    a month, a year and a range; by_unit's tables and evaluate_many's rows."""
    communities = list(con.sql("SELECT community_id FROM communities ORDER BY 1").fetchall())
    grids = con.sql("SELECT community_id, grid_id FROM grids ORDER BY ALL").fetchall()
    out: dict[str, pd.DataFrame] = {}
    for code in ("2025-12", "2025", "2025-02..2025-09"):
        period = Period.parse(code)
        for (cid,) in communities:
            mine = [g for c, g in grids if c == cid]
            out[f"{code} {cid}"] = catalog.by_unit(
                con, GRID_METRICS, period, mine, Scope(cid), by="grid"
            )
            frames = catalog.evaluate_many(
                con, GRID_METRICS, period.start, period.end, Scope(cid), bucket="month", by="grid"
            )
            for name, frame in frames.items():
                rows = frame.sort_values(["period_start", "unit_id"], na_position="last")
                out[f"{code} {cid} {name}"] = rows.reset_index(drop=True)
        for cid, gid in grids[:: max(1, len(grids) // 12)]:
            out[f"{code} {gid}"] = catalog.trend(con, GRID_METRICS, period, Scope(cid, gid))
    return out


@pytest.mark.slow  # 200 s at load average 25-30 on 2 cores (the demo store and ~400 queries)
def test_drill_downs_equal_the_records_over_the_demo(
    demo_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = demo_store.connect()
    try:
        with catalog.read_on(demo.AS_OF):  # the demo's own day: December's wishes not all due
            after = _drill_downs(con)
            _records_path(monkeypatch)
            before = _drill_downs(con)
    finally:
        con.close()
    assert after.keys() == before.keys()
    for key, frame in after.items():
        pd.testing.assert_frame_equal(frame, before[key], obj=key)
    # Not vacuous: the demo's drill-downs have values.
    assert any("cases_received" in f and f["cases_received"].sum() > 0 for f in after.values())
