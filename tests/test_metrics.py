"""Every metric in metrics/catalog.yaml against numbers computed by hand from tests/fixtures/.

The comments next to each expected number are the arithmetic; the rows they name (C01..C12,
W01..W08, the grids and the ratings) are in the CSV files, which are short enough to read.
A case counts as open at a period end if it was received by then and not closed by then;
it is overdue if, in addition, it was received more than 30 days before the period end.
Every rate is as of the period's end: a case received in the period counts as resolved only
if it was closed (已化解) by the period's end. A wish counts as fulfilled in time when it was
fulfilled at most 30 days after registration; the fixtures' periods are long over (today is
long past 2025), so every wish is judged and none is 未到期 (tests/test_as_of.py moves the
clock). Employment and property ratings are reports: a community that sent none has no
value (NaN), not 0; nor has a grid, as neither is reported by grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from metrics import catalog
from metrics.catalog import Scope
from metrics.periods import Period
from metrics.schemas import (
    CODE_PATTERN,
    DATASETS,
    QUARTER_PATTERN,
    SCORE_PARTS,
    TOTAL_TOLERANCE,
    stars_for,
)
from metrics.store import Store
from tests.conftest import fixture_store

NAN = float("nan")
ALL = Period.parse("2025-08..2025-11")  # every case, wish and employment row falls in here
COMMUNITY_IDS = ["QTX01", "QTX02", "QTX03"]  # QTX03 has registry rows only
SQL_DIR = Path(catalog.__file__).resolve().parent / "sql"

# City totals over 2025-08..2025-11.
CITY_TOTALS: dict[str, float] = {
    # cases: C01..C12 were all received in Aug..Nov
    "cases_received": 12,  # 7 in QTX01 + 5 in QTX02
    "disputes_handled": 7,  # 矛盾纠纷: C01 C03 C04 C07 C08 C10 C12
    "problems_resolved": 3,  # 急难愁盼 and 已化解: C02 (Sep 10), C06 (Oct 14), C09 (Nov 5)
    # 已化解 by Nov 30: C01 C02 C03 C06 C07 C08 C09 C10; C04 C12 未化解, C05 C11 open
    "resolution_rate": 8 / 12,
    "median_days_to_resolve": 6.5,  # days 10 21 5 4 2 8 48 5 → 2 4 5 5 | 8 10 21 48 → (5+8)/2
    "open_backlog": 2,  # at Nov 30: C05 and C11 have no closing date
    "overdue_cases": 2,  # received before Oct 31 (Nov 30 − 30): C05 (Sep 25), C11 (Oct 22)
    "supervision_orders": 3,  # is_supervised: C02 C05 C09
    # wishes: W01..W08 were all registered in Aug..Nov
    "wishes_registered": 8,
    "wishes_claimed": 6,  # claimed_on set: W01 W02 W03 W05 W06 W08
    "wishes_fulfilled": 5,  # 已实现: W01 W02 W05 W06 W08
    # fulfilled within 30 days: W01 (9 days) W02 (21) W05 (6) W06 (10) W08 (17), of 8
    "fulfillment_rate": 5 / 8,
    "wishes_not_due": 0,  # every wish registered more than 31 days ago
    "median_days_to_fulfil": 10,  # days 9 21 6 10 17 → 6 9 10 17 21
    "wishes_unclaimed_overdue": 2,  # unclaimed, registered before Oct 31: W04 Sep 20, W07 Oct 15
    # employment: QTX01 Aug Sep Oct + QTX02 Aug Sep Nov
    "job_seekers_registered": 48,  # 10+12+8 + 5+6+7
    "job_postings": 24,  # 5+6+4 + 2+3+4
    "positions_offered": 36,  # 8+9+7 + 3+4+5
    "placed_stable": 5,  # 1+2+0 + 1+0+1
    "placed_flexible": 27,  # 6+7+5 + 2+3+4
    "placement_rate": 32 / 48,  # (5 stable + 27 flexible) / 48 job seekers
    # property ratings: Aug..Nov touches 2025Q3 and 2025Q4, not 2025Q2
    "mean_stars": 20 / 6,  # Q3 5 4 2, Q4 5 3 1
    "share_four_stars": 3 / 6,  # 5 4 5
    "failing_companies": 1,  # 塞上物业 (2 stars in Q3, 1 in Q4), counted once
    "property_sanctions": 2,  # 约谈整改 in Q3, 降低收费标准 in Q4
    # registry, not dated
    "communities": 3,
    "grids": 6,  # 3 + 2 + 1, the micro grid included
    "households_per_grid": 390,  # standard grids only: (400+520+300+450+280)/5
    "grids_within_standard": 3 / 5,  # 400 300 450 in 300..500; 520 and 280 outside
    "community_workers": 12,  # 6+3+3
    "workers_per_10k": 20.0,  # 12 × 10000 / (3000+2000+1000)
    "grid_party_branches": 6,  # 3+2+1
    "party_groups": 11,  # 5+4+2
    "party_member_households": 25,  # 12+8+5
    "residents": 6000,  # 3000+2000+1000
    # no tracked item in the fixture store: none due, no value (tests/test_tracking.py)
    "followup_closure_rate": NAN,
}

# Per community over 2025-08..2025-11: (QTX01, QTX02, QTX03). QTX03 has no cases, wishes,
# employment or ratings: counts are 0 there, rates and medians have no value.
BY_COMMUNITY: dict[str, tuple[float, float, float]] = {
    "cases_received": (7, 5, 0),  # C01..C07 | C08..C12
    "disputes_handled": (4, 3, 0),  # C01 C03 C04 C07 | C08 C10 C12
    "problems_resolved": (2, 1, 0),  # C02 C06 | C09
    "resolution_rate": (5 / 7, 3 / 5, NAN),  # C01 C02 C03 C06 C07 | C08 C09 C10
    "median_days_to_resolve": (5, 8, NAN),  # 2 4 5 10 21 | 5 8 48
    "open_backlog": (1, 1, 0),  # C05 | C11
    "overdue_cases": (1, 1, 0),  # C05 | C11
    "supervision_orders": (2, 1, 0),  # C02 C05 | C09
    "wishes_registered": (5, 3, 0),  # W01..W05 | W06..W08
    "wishes_claimed": (4, 2, 0),  # W01 W02 W03 W05 | W06 W08
    "wishes_fulfilled": (3, 2, 0),  # W01 W02 W05 | W06 W08
    "fulfillment_rate": (3 / 5, 2 / 3, NAN),  # W01 W02 W05 of 5 | W06 W08 of 3
    "wishes_not_due": (0, 0, 0),
    "median_days_to_fulfil": (9, 13.5, NAN),  # 6 9 21 | (10+17)/2
    "wishes_unclaimed_overdue": (1, 1, 0),  # W04 | W07
    # QTX03 sent no employment report: no value, not 0
    "job_seekers_registered": (30, 18, NAN),  # 10+12+8 | 5+6+7
    "job_postings": (15, 9, NAN),  # 5+6+4 | 2+3+4
    "positions_offered": (24, 12, NAN),  # 8+9+7 | 3+4+5
    "placed_stable": (3, 2, NAN),  # 1+2+0 | 1+0+1
    "placed_flexible": (18, 9, NAN),  # 6+7+5 | 2+3+4
    "placement_rate": (21 / 30, 11 / 18, NAN),  # (3+18)/30 | (2+9)/18
    "mean_stars": (17 / 4, 3 / 2, NAN),  # 5 4 5 3 | 2 1
    "share_four_stars": (3 / 4, 0, NAN),  # 5 4 5 of 4 | none of 2
    # QTX01's ratings have no failure and no sanction: 0; QTX03 has no ratings: no value
    "failing_companies": (0, 1, NAN),  # 塞上物业 in QTX02
    "property_sanctions": (0, 2, NAN),
    "communities": (1, 1, 1),
    "grids": (3, 2, 1),
    "households_per_grid": (460, 375, 280),  # (400+520)/2 | (300+450)/2 | 280; micro left out
    "grids_within_standard": (1 / 2, 1, 0),  # 520 outside | both inside | 280 outside
    "community_workers": (6, 3, 3),
    "workers_per_10k": (20, 15, 30),  # 6/3000 | 3/2000 | 3/1000, × 10000
    "grid_party_branches": (3, 2, 1),
    "party_groups": (5, 4, 2),
    "party_member_households": (12, 8, 5),
    "residents": (3000, 2000, 1000),
    "followup_closure_rate": (NAN, NAN, NAN),  # no tracked item: tests/test_tracking.py
}

# Month buckets Aug, Sep, Oct, Nov 2025 for the whole city.
MONTHLY: dict[str, list[float]] = {
    "cases_received": [3, 5, 2, 2],  # C01 C02 C08 | C03 C04 C05 C09 C10 | C06 C11 | C07 C12
    "disputes_handled": [2, 3, 0, 2],  # C01 C08 | C03 C04 C10 | none | C07 C12
    "problems_resolved": [0, 1, 1, 1],  # by closing date: C02 Sep 10, C06 Oct 14, C09 Nov 5
    # of the cases received that month, those resolved by its end: Aug C01 C08 (C02 closed
    # Sep 10) | Sep C03 (C09 Nov 5, C10 Oct 3 later; C04 未化解, C05 open) | Oct C06 | Nov C07
    "resolution_rate": [2 / 3, 1 / 5, 1 / 2, 1 / 2],
    "median_days_to_resolve": [9, 13, 4.5, 25],  # (10+8)/2 | (21+5)/2 | (4+5)/2 | (2+48)/2
    # open at month end: C02 | C04 C05 C09 C10 | C05 C09 C11 | C05 C11
    "open_backlog": [1, 4, 3, 2],
    # received before month end − 30 days (Aug 1, Aug 31, Oct 1, Oct 31) and open:
    # none | none | C05 (Sep 25) C09 (Sep 18) | C05 C11 (Oct 22)
    "overdue_cases": [0, 0, 2, 2],
    "wishes_registered": [3, 2, 2, 1],  # W01 W02 W06 | W03 W04 | W05 W07 | W08
    "wishes_fulfilled": [1, 2, 1, 1],  # W01 | W02 W06 | W05 | W08
    # unclaimed at month end and registered before month end − 30 days:
    # W06 (Aug 25, claimed Sep 1) too recent | W04 (Sep 20) too recent | W04 | W04 W07
    "wishes_unclaimed_overdue": [0, 0, 1, 2],
    "job_seekers_registered": [15, 18, 8, 7],  # 10+5 | 12+6 | 8 | 7
    # a quarter's ratings count in every month of the quarter
    "mean_stars": [11 / 3, 11 / 3, 3, 3],  # Q3 5 4 2 | Q4 5 3 1
    "property_sanctions": [1, 1, 1, 1],
    "communities": [3, 3, 3, 3],  # the registry is not dated
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """These tests only read, so one fixture store serves the whole module."""
    connection = fixture_store(tmp_path_factory.mktemp("metrics")).connect()
    yield connection
    connection.close()


def _approx(values: list[float] | tuple[float, ...]) -> object:
    return pytest.approx(list(values), nan_ok=True)


def test_every_metric_has_expected_values() -> None:
    assert set(CITY_TOTALS) == set(catalog.catalog())
    assert set(BY_COMMUNITY) == set(catalog.catalog())


def test_city_totals(con: duckdb.DuckDBPyConnection) -> None:
    got = catalog.totals(con, list(CITY_TOTALS), ALL)
    plain = {name: NAN if value is None else value for name, value in got.items()}  # no value
    assert plain == pytest.approx(CITY_TOTALS, nan_ok=True)


def test_by_community(con: duckdb.DuckDBPyConnection) -> None:
    table = catalog.by_unit(con, list(BY_COMMUNITY), ALL, COMMUNITY_IDS)
    assert list(table.index) == COMMUNITY_IDS
    for name, expected in BY_COMMUNITY.items():
        assert list(table[name]) == _approx(expected), name


def test_monthly_trend(con: duckdb.DuckDBPyConnection) -> None:
    table = catalog.trend(con, list(MONTHLY), ALL, bucket="month")
    assert [d.isoformat() for d in table.index] == [
        "2025-08-01",
        "2025-09-01",
        "2025-10-01",
        "2025-11-01",
    ]
    for name, expected in MONTHLY.items():
        assert list(table[name]) == _approx(expected), name


def test_month_over_month(con: duckdb.DuckDBPyConnection) -> None:
    october = Period.parse("2025-10")
    names = ["cases_received", "open_backlog", "overdue_cases", "wishes_unclaimed_overdue"]
    now = catalog.totals(con, names, october)
    before = catalog.totals(con, names, october.previous())
    assert now == {
        "cases_received": 2,  # C06 C11
        "open_backlog": 3,  # C05 C09 C11 at Oct 31
        "overdue_cases": 2,  # C05 C09
        "wishes_unclaimed_overdue": 1,  # W04
    }
    assert before == {
        "cases_received": 5,  # C03 C04 C05 C09 C10
        "open_backlog": 4,  # C04 C05 C09 C10 at Sep 30
        "overdue_cases": 0,
        "wishes_unclaimed_overdue": 0,
    }
    assert catalog.change(now["cases_received"], before["cases_received"]) == pytest.approx(
        -0.6  # (2 − 5) / 5
    )
    assert catalog.change(now["open_backlog"], before["open_backlog"]) == pytest.approx(-0.25)
    assert catalog.change(now["overdue_cases"], before["overdue_cases"]) is None  # from 0


def test_grid_drill_down(con: duckdb.DuckDBPyConnection) -> None:
    grids = ["QTX01-G01", "QTX01-G02", "QTX01-G03"]
    expected: dict[str, list[float]] = {
        "cases_received": [4, 2, 1],  # C01 C03 C05 C07 | C02 C06 | C04
        "open_backlog": [1, 0, 0],  # C05
        "resolution_rate": [3 / 4, 1, 0],  # C05 open | both 已化解 | C04 未化解
        "wishes_registered": [3, 1, 1],  # W01 W03 W05 | W02 | W04
        "wishes_unclaimed_overdue": [0, 0, 1],  # W04
        "grids": [1, 1, 1],
        "households_per_grid": [400, 520, NAN],  # G03 is a micro grid
        "grids_within_standard": [1, 0, NAN],
    }
    table = catalog.by_unit(con, list(expected), ALL, grids, Scope(community_id="QTX01"), by="grid")
    for name, values in expected.items():
        assert list(table[name]) == _approx(values), name
    # Drilling into QTX01 yields QTX01's grids only.
    frame = catalog.evaluate(
        con, "cases_received", ALL.start, ALL.end, Scope(community_id="QTX01"), by="grid"
    )
    assert set(frame["unit_id"].dropna()) == set(grids)


def test_grid_scope(con: duckdb.DuckDBPyConnection) -> None:
    scope = Scope(community_id="QTX02", grid_id="QTX02-G01")
    got = catalog.totals(
        con,
        [
            "cases_received",
            "disputes_handled",
            "resolution_rate",
            "wishes_fulfilled",
            "median_days_to_fulfil",
            "grids",
            "households_per_grid",
            "job_seekers_registered",
            "placed_flexible",
        ],
        ALL,
        scope,
    )
    assert got == pytest.approx(
        {
            "cases_received": 3,  # C08 C10 C12
            "disputes_handled": 3,
            "resolution_rate": 2 / 3,  # C12 未化解
            "wishes_fulfilled": 2,  # W06 W08
            "median_days_to_fulfil": 13.5,  # (10 + 17) / 2
            "grids": 1,
            "households_per_grid": 300,
            # employment is reported per community, not per grid: no value for a grid
            "job_seekers_registered": None,
            "placed_flexible": None,
        }
    )
    # The grid alone selects the same records as community and grid together.
    alone = catalog.totals(con, ["cases_received"], ALL, Scope(grid_id="QTX02-G01"))
    assert alone == {"cases_received": 3}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # a month counts the ratings of its quarter
        ("2025-09", {"mean_stars": 11 / 3, "share_four_stars": 2 / 3, "property_sanctions": 1}),
        # Jun..Jul touches 2025Q2 (3 stars) and 2025Q3 (5 4 2)
        (
            "2025-06..2025-07",
            {"mean_stars": 14 / 4, "share_four_stars": 2 / 4, "property_sanctions": 1},
        ),
        ("2025Q2", {"mean_stars": 3, "share_four_stars": 0, "property_sanctions": 0}),
        (
            "2025-12",
            {"mean_stars": 3, "share_four_stars": 1 / 3, "property_sanctions": 1},
        ),  # Q4 5 3 1
        # no ratings for 2026Q1: no value, not 0 sanctions (达标)
        ("2026-01", {"mean_stars": None, "share_four_stars": None, "property_sanctions": None}),
    ],
)
def test_quarter_overlap(
    con: duckdb.DuckDBPyConnection, code: str, expected: dict[str, float | None]
) -> None:
    got = catalog.totals(con, list(expected), Period.parse(code))
    assert got == pytest.approx(expected)


def test_quarter_buckets(con: duckdb.DuckDBPyConnection) -> None:
    table = catalog.trend(
        con,
        ["mean_stars", "failing_companies", "cases_received"],
        Period.parse("2025H2"),
        bucket="quarter",
    )
    assert [d.isoformat() for d in table.index] == ["2025-07-01", "2025-10-01"]
    assert list(table["mean_stars"]) == _approx([11 / 3, 3])  # Q3 5 4 2 | Q4 5 3 1
    assert list(table["failing_companies"]) == [1, 1]  # 塞上物业 in each
    assert list(table["cases_received"]) == [8, 4]  # Aug 3 + Sep 5 | Oct 2 + Nov 2


def test_empty_store(tmp_path: Path) -> None:
    """Before any upload, counts of events are 0; rates and reports (employment, ratings)
    have no value (the page shows —)."""
    con = Store(tmp_path).connect()
    got = catalog.totals(con, list(catalog.catalog()), ALL)
    for name, value in got.items():
        assert value == (0.0 if catalog.metric(name).zero_when_empty else None), name


def test_fixtures_follow_the_contract(con: duckdb.DuckDBPyConnection) -> None:
    """The fixtures are valid data, so the numbers above test metrics and not bad input."""
    for name, spec in DATASETS.items():
        frame = con.sql(f"SELECT * FROM {name}").df()
        assert 3 <= len(frame) <= 20, name
        for f in spec.fields:
            column = frame[f.name]
            if not f.nullable:
                assert column.notna().all(), (name, f.name)
            if f.allowed:
                assert set(column.dropna()) <= set(f.allowed), (name, f.name)
            if f.type == "code":
                assert column.dropna().str.fullmatch(CODE_PATTERN[1:-1]).all(), (name, f.name)
            if f.type == "quarter":
                assert column.str.fullmatch(QUARTER_PATTERN[1:-1]).all()
    ratings = con.sql("SELECT * FROM property_ratings").df()
    mean = ratings[list(SCORE_PARTS)].mean(axis=1)
    assert (mean - ratings["total_score"]).abs().max() <= TOTAL_TOLERANCE
    assert list(ratings["stars"]) == [stars_for(t) for t in ratings["total_score"]]
    # Cross-field rules: dates in order, a closing date exactly when the case is closed,
    # every grid in its community.
    broken = """
        SELECT case_id FROM cases
        WHERE resolved_on < reported_on OR (resolved_on IS NULL) <> (status = '办理中')
        UNION ALL
        SELECT wish_id FROM wishes
        WHERE claimed_on < registered_on OR fulfilled_on < claimed_on
            OR (status = '已实现') <> (fulfilled_on IS NOT NULL)
            OR (status = '待认领') <> (claimed_on IS NULL)
        UNION ALL
        SELECT x.grid_id FROM (SELECT grid_id, community_id FROM cases
                               UNION SELECT grid_id, community_id FROM wishes) AS x
        LEFT JOIN grids AS g USING (grid_id)
        WHERE g.community_id IS DISTINCT FROM x.community_id
    """
    assert con.sql(broken).fetchall() == []


# -- the catalog itself ---------------------------------------------------------------------

FORMATS = {"int", "pct", "float1", "days", "stars"}
DIRECTIONS = {"up", "down", "neutral"}
# The parameters a metric query may use, as documented at the top of metrics/catalog.py.
DOCUMENTED_PARAMS = set(re.findall(r"\$([a-z_]+)", catalog.__doc__ or ""))


def test_documented_params() -> None:
    expected = {"date_from", "date_to", "bucket", "community_id", "grid_id", "by", "today"}
    assert expected == DOCUMENTED_PARAMS


def test_catalog_and_sql_files_match() -> None:
    files = {p.stem for p in SQL_DIR.glob("*.sql") if not p.stem.startswith("_")}
    assert files == set(catalog.catalog())


@pytest.mark.parametrize("name", sorted(catalog.catalog()))
def test_catalog_entry(name: str) -> None:
    m = catalog.metric(name)
    for what in ("label", "description", "unit"):
        texts = getattr(m, what)
        assert set(texts) == {"zh", "en"}, (name, what)
        if what != "unit":  # a rate has no unit
            assert texts["zh"].strip() and texts["en"].strip(), (name, what)
    assert m.format in FORMATS
    assert m.direction in DIRECTIONS
    assert m.dataset in DATASETS
    assert set(m.standard) <= {"low", "high"}
    params = set(re.findall(r"\$([a-z_]+)", m.sql))
    assert params <= DOCUMENTED_PARAMS, params - DOCUMENTED_PARAMS
    assert {"date_from", "date_to", "bucket"} <= params
    # A metric that breaks down by grid honours the grid filter; one that does not, cannot.
    assert ("grid_id" in params) == m.grid


def test_macros_take_no_parameters() -> None:
    assert "$" not in (SQL_DIR / "_macros.sql").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(catalog.catalog()))
def test_result_shape(con: duckdb.DuckDBPyConnection, name: str) -> None:
    frame = catalog.evaluate(con, name, ALL.start, ALL.end, bucket="month")
    assert list(frame.columns) == ["period_start", "unit_id", "value"]
    # one total row per month bucket, never more
    totals = frame[frame["unit_id"].isna()]
    assert totals["period_start"].is_unique
