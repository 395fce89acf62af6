"""The city's counts per breakdown column (metrics/derived/city_counts.py): a city-wide
breakdown gives exactly what counting the records gives, after uploads and rollbacks too."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from metrics import queries
from metrics.catalog import CITY, Scope
from metrics.periods import Period
from metrics.store import Store

PERIODS = [None, "2025-08", "2025-09", "2025Q3", "2025Q4", "2025", "2026-01"]


def _both(store: Store) -> list[tuple[str, str, str | None, pd.DataFrame, pd.DataFrame]]:
    """(dataset, column, period, from the counts, from the records) for every breakdown."""
    counted, recorded = store.connect(), store.connect(rollups=False)
    out = []
    try:
        assert "cases_city_counts" in {r[0] for r in counted.execute("SHOW TABLES").fetchall()}
        for dataset in ("cases", "wishes"):
            for column in queries.BREAKDOWNS[dataset]:
                for code in PERIODS:
                    period = Period.parse(code) if code else None
                    a = queries.breakdown(counted, dataset, column, CITY, period)
                    b = queries.breakdown(recorded, dataset, column, CITY, period)
                    out.append((dataset, column, code, a, b))
    finally:
        counted.close()
        recorded.close()
    return out


def _assert_same(store: Store) -> None:
    for dataset, column, code, a, b in _both(store):
        pd.testing.assert_frame_equal(a, b, obj=f"{dataset}.{column} {code}")


def test_city_breakdowns_equal_the_records(con: duckdb.DuckDBPyConnection, store: Store) -> None:
    # By hand from tests/fixtures/cases.csv: in Q3 板凳会 took C01, 协商月 C03, C04 and C10.
    q3 = queries.breakdown(con, "cases", "channel", CITY, Period.parse("2025Q3"))
    assert dict(zip(q3["value"], q3["count"], strict=True))["协商月"] == 3
    assert q3["count"].sum() == 8
    _assert_same(store)


def test_uploads_and_rollbacks_keep_them_equal(store: Store) -> None:
    start = store.version().of("cases")
    row = {
        "case_id": "C20",
        "community_id": "QTX02",
        "grid_id": "QTX02-G01",
        "case_type": "矛盾纠纷",
        "category": "新类别",
        "channel": "板凳会",
        "is_supervised": "false",
        "reported_on": "2025-09-09",
        "resolved_on": None,
        "status": "办理中",
        "note": None,
    }
    store.upsert("cases", pa.Table.from_pylist([row]), community_id="QTX02")
    con = store.connect()
    try:
        got = queries.breakdown(con, "cases", "category", CITY, Period.parse("2025-09"))
        assert dict(zip(got["value"], got["count"], strict=True))["新类别"] == 1
    finally:
        con.close()
    _assert_same(store)
    # Moved to another category: the old one is gone from the counts, not left at zero.
    store.upsert(
        "cases", pa.Table.from_pylist([{**row, "category": "邻里纠纷"}]), community_id="QTX02"
    )
    _assert_same(store)
    store.rollback("cases", start)
    _assert_same(store)


def test_a_community_breakdown_still_counts_its_records(store: Store) -> None:
    con = store.connect()
    try:
        got = queries.breakdown(con, "cases", "channel", Scope("QTX01"), Period.parse("2025Q3"))
        # QTX01 in Q3: C01 板凳会, C02 网格走访, C03 and C04 协商月, C05 民情督办单.
        assert dict(zip(got["value"], got["count"], strict=True)) == {
            "协商月": 2,
            "板凳会": 1,
            "民情督办单": 1,
            "网格走访": 1,
        }
    finally:
        con.close()
