"""The table of metric values per community and standard period (metrics/period_values.py).

It is a cache of the metric SQL, so the first test is that a page gets exactly what the
SQL gives, for every metric it holds, period, scope and bucket; then values read from the
table itself, counted by hand from tests/fixtures/cases.csv; then that it follows uploads
(only the community's rows and the city's rewritten), rollbacks and new years.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from metrics import catalog, period_values
from metrics.catalog import CITY, Scope
from metrics.periods import Period
from metrics.store import PERIOD_VALUES, Store
from tests.conftest import fixture_store

PERIODS = ["2025-08", "2025-09", "2025-10", "2025Q3", "2025Q4", "2025H2", "2025", "2026-01"]
SCOPES = [CITY, Scope("QTX01"), Scope("QTX02"), Scope("QTX03")]


def _rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """A metric's rows as a sorted list, rows without a value left out (the table keeps no
    row for them; every reader treats the two alike)."""
    kept = frame.dropna(subset=["value"])
    return sorted(
        (pd.Timestamp(p).date(), u if isinstance(u, str) else "", float(v))
        for p, u, v in kept.itertuples(index=False)
    )


def _assert_lookups_equal_sql(con: duckdb.DuckDBPyConnection, periods: list[str] = PERIODS) -> int:
    names = period_values.metrics()
    checked = 0
    for code in periods:
        period = Period.parse(code)
        buckets: list[catalog.Bucket] = ["all", "month"]
        if period.months >= 3:
            buckets.append("quarter")
        for bucket in buckets:
            for scope in SCOPES:
                for by in ("total", "community"):
                    args = (con, names, period.start, period.end, scope)
                    looked = catalog.evaluate_many(*args, bucket=bucket, by=by)
                    ran = catalog.evaluate_many(*args, bucket=bucket, by=by, lookup=False)
                    for name in names:
                        where = f"{name} {code} {bucket} {scope} {by}"
                        assert _rows(looked[name]) == _rows(ran[name]), where
                        checked += 1
    return checked


def _looks_up(con: duckdb.DuckDBPyConnection, code: str) -> bool:
    period = Period.parse(code)
    found = catalog._lookup(
        con, ["cases_received"], ("month", period.start, period.start), CITY, "total"
    )
    return found is not None


def test_the_table_holds_the_rollup_metrics_only() -> None:
    names = period_values.metrics()
    assert "median_days_to_resolve" in names and "open_backlog" in names
    assert "wishes_unclaimed_overdue" in names
    # Registry, employment and property metrics read their own tables, not the rollups.
    assert not {"residents", "placed_stable", "mean_stars", "grids"} & set(names)


def test_lookups_equal_the_metric_sql(con: duckdb.DuckDBPyConnection) -> None:
    assert _looks_up(con, "2025-09")
    assert _assert_lookups_equal_sql(con) > 1000


def test_values_counted_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    def value(community: str | None, kind: str, start: dt.date, name: str) -> float | None:
        where = "community_id = $c" if community else "community_id IS NULL"
        sql = f"SELECT {name} FROM period_values WHERE kind = $k AND period_start = $s AND {where}"
        params = {"k": kind, "s": start} | ({"c": community} if community else {})
        row = con.execute(sql, params).fetchone()
        return None if row is None else row[0]

    september, q3, q4 = dt.date(2025, 9, 1), dt.date(2025, 7, 1), dt.date(2025, 10, 1)
    # QTX01 received C03, C04 and C05 in September.
    assert value("QTX01", "month", september, "cases_received") == 3
    # Open at 30 September: C04 (closed 20 October) and C05 (open); C01-C03 were closed.
    assert value("QTX01", "month", september, "open_backlog") == 2
    # Resolved in September: C02 after 21 days (20 Aug - 10 Sep), C03 after 5: median 13.
    assert value("QTX01", "month", september, "median_days_to_resolve") == 13
    # The city in Q3: C01-C05 of QTX01 and C08-C10 of QTX02.
    assert value(None, "quarter", q3, "cases_received") == 8
    # Q4: C06, C07 of QTX01 and C11, C12 of QTX02; disputes among them: C07 and C12.
    assert value(None, "quarter", q4, "cases_received") == 4
    assert value(None, "quarter", q4, "disputes_handled") == 2


def _case(case_id: str, community: str, grid: str, reported: str, resolved: str | None) -> dict:
    return {
        "case_id": case_id,
        "community_id": community,
        "grid_id": grid,
        "case_type": "矛盾纠纷",
        "category": "邻里纠纷",
        "channel": "板凳会",
        "is_supervised": "false",
        "reported_on": reported,
        "resolved_on": resolved,
        "status": "已化解" if resolved else "办理中",
        "note": None,
    }


def _upload(store: Store, *cases: dict) -> None:
    table = pa.Table.from_pylist(list(cases))
    store.upsert("cases", table, community_id=cases[0]["community_id"], meta={"user": "pytest"})


def _totals(store: Store, code: str, scope: Scope = CITY) -> dict[str, float | None]:
    con = store.connect()
    try:
        return catalog.totals(con, ["cases_received", "open_backlog"], Period.parse(code), scope)
    finally:
        con.close()


def test_an_upload_rewrites_its_community_and_the_city_only(store: Store) -> None:
    before = _totals(store, "2025Q4")
    _upload(store, _case("C13", "QTX02", "QTX02-G01", "2025-10-08", None))
    table = DeltaTable(str(store.rollup_path(PERIOD_VALUES)))
    last = table.history(limit=1)[0]
    assert "predicate" in str(last.get("operationParameters")), "not an incremental refresh"
    assert "QTX02" in str(last["operationParameters"]["predicate"])
    after = _totals(store, "2025Q4")
    assert after["cases_received"] == before["cases_received"] + 1 == 5
    # Still open at 31 December, beside C05 and C11.
    assert after["open_backlog"] == 3
    assert _totals(store, "2025Q4", Scope("QTX01")) == {"cases_received": 2, "open_backlog": 1}
    con = store.connect()
    try:
        assert _looks_up(con, "2025-10")
        _assert_lookups_equal_sql(con, ["2025-10", "2025Q4"])
    finally:
        con.close()


def test_rollback_and_a_new_year_rebuild_the_table(store: Store) -> None:
    start = store.version().of("cases")
    _upload(store, _case("C13", "QTX02", "QTX02-G01", "2025-10-08", None))
    store.rollback("cases", start)
    assert _totals(store, "2025Q4")["cases_received"] == 4
    # A case of 2027 is past the years covered (2025 and the next): the table grows.
    _upload(store, _case("C14", "QTX01", "QTX01-G01", "2027-02-03", "2027-02-05"))
    con = store.connect()
    try:
        cover = con.execute("SELECT first, last FROM period_values_cover").fetchall()
        assert cover == [(dt.date(2025, 1, 1), dt.date(2028, 12, 31))]
        assert catalog.totals(con, ["cases_received"], Period.parse("2027-02")) == {
            "cases_received": 1
        }
        assert _looks_up(con, "2027-02")
        _assert_lookups_equal_sql(con, ["2025Q4", "2027-02", "2027"])
    finally:
        con.close()


def test_other_periods_run_the_metric_sql() -> None:
    standard = catalog._standard_periods
    d = dt.date
    assert standard(d(2025, 7, 1), d(2025, 9, 30), "all") == (
        "quarter",
        d(2025, 7, 1),
        d(2025, 7, 1),
    )
    assert standard(d(2025, 1, 1), d(2025, 12, 31), "month") == (
        "month",
        d(2025, 1, 1),
        d(2025, 12, 1),
    )
    assert standard(d(2025, 1, 1), d(2025, 12, 31), "half") == (
        "half",
        d(2025, 1, 1),
        d(2025, 7, 1),
    )
    assert standard(d(2025, 8, 1), d(2025, 10, 31), "all") is None  # a custom range
    assert standard(d(2025, 2, 1), d(2025, 7, 31), "quarter") is None  # not calendar quarters
    assert standard(d(2025, 1, 1), d(2025, 11, 30), "quarter") is None  # a part quarter
    assert standard(d(2025, 1, 5), d(2025, 1, 31), "all") is None  # not whole months


def test_a_store_without_the_table_still_answers(tmp_path: Path) -> None:
    store = fixture_store(tmp_path / "data")
    with_table = _totals(store, "2025Q3")
    con = store.connect(period_table=False)
    try:
        assert not _looks_up(con, "2025-09")
        period = Period.parse("2025Q3")
        names = ["cases_received", "open_backlog"]
        assert catalog.totals(con, names, period) == with_table
    finally:
        con.close()


@pytest.mark.parametrize("code", ["2025Q3", "2025"])
def test_ranking_lookups_match(con: duckdb.DuckDBPyConnection, code: str) -> None:
    names = period_values.metrics()
    period = Period.parse(code)
    units = ["QTX01", "QTX02", "QTX03"]
    looked = catalog.by_unit(con, names, period, units)
    frames = catalog.evaluate_many(con, names, period.start, period.end, lookup=False)
    for name in names:
        ran = frames[name].dropna(subset=["unit_id"]).set_index("unit_id")["value"]
        expected = ran.reindex(units)
        if catalog.metric(name).additive:
            expected = expected.fillna(0.0)
        pd.testing.assert_series_equal(
            looked[name], expected, check_names=False, check_index_type=False
        )


def test_a_new_metric_waits_for_a_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A table written before "wishes_claimed" was a rollup metric (patched out of the build).
    full = period_values.metrics()
    with monkeypatch.context() as patch:
        patch.setattr(period_values, "metrics", lambda: [m for m in full if m != "wishes_claimed"])
        store = fixture_store(tmp_path / "data")
    # Now the catalog has it: the old table is not used (no look-up of a missing column)...
    con = store.connect()
    try:
        assert not _looks_up(con, "2025-09")
        claimed = catalog.totals(con, ["wishes_claimed"], Period.parse("2025Q3"))
    finally:
        con.close()
    # ...until `python -m metrics refresh` rebuilds it with every metric.
    store.refresh_all()
    con = store.connect()
    try:
        assert _looks_up(con, "2025-09")
        assert catalog.totals(con, ["wishes_claimed"], Period.parse("2025Q3")) == claimed
    finally:
        con.close()


def test_the_cli_refresh(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from metrics.__main__ import main

    assert main(["--data-dir", str(store.root), "refresh", "--lang", "en"]) == 0
    assert "Rollups and period values match the data" in capsys.readouterr().out


def test_data_months_from_the_rollups_equal_the_records(store: Store) -> None:
    from metrics import queries

    _upload(store, _case("C15", "QTX03", "QTX03-G01", "2026-03-30", None))
    with_rollups, records_only = store.connect(), store.connect(rollups=False)
    try:
        # The fixtures start in August 2025 (cases C01, C08); the last case is C15's month.
        expected = (dt.date(2025, 8, 1), dt.date(2026, 3, 1))
        assert queries.data_months(with_rollups) == queries.data_months(records_only) == expected
    finally:
        with_rollups.close()
        records_only.close()
