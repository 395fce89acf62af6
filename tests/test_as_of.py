"""Meeting-grade figures (issue 12), on the small fixtures in tests/fixtures/as_of/:

- every figure of a period as of the period's end, from the dates alone (a case resolved
  after its period's end is not resolved in that period, but is in the next and in the
  quarter);
- the fulfilment rate judges a wish once its 30 days are over: fulfilled on day 30 is in
  time, on day 31 it is not; the rest are 未到期 (wishes_not_due), and a period's value is
  final 31 days after its end;
- a community that reported nothing, and a grid for what is reported per community, have
  no value (None), never 0;
- 本年累计 and 全部 periods; 环比 and 同比 "—" against periods before the data begin;
- the placement rate and the property companies' league.

Rows (the CSV files are short enough to read):
  cases   R01: A1 G1 received 10-05 resolved 10-20 | A2 G1 10-10 → 11-03 | A3 G2 10-25 open
               A4 G2 11-02 closed 11-10 未化解 | A5 G2 09-20 → 10-02
          R02: B1 10-01 → 10-31 (resolved on the period's last day)
  wishes  R01: V1 G1 reg 10-01 fulfilled 10-31 (day 30) | V2 G1 10-01 → 11-01 (day 31)
               V3 G2 10-20 claimed 10-22 | V4 G2 11-03 → 11-04
          R02: U1 10-10 → 10-15 | U2 10-31 waiting
  employment  R01 Oct: 10 seekers, 2 stable, 6 flexible | R02 Oct: 4, 1, 5 | R02 Nov: 5, 1, 3
  R03 sent nothing at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from metrics import catalog, queries, targets
from metrics.catalog import CITY, Scope
from metrics.derived import ROLLUPS
from metrics.periods import Period
from metrics.schemas import DATASETS
from metrics.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "as_of"
D = dt.date
NAN = float("nan")
UNITS = ["R01", "R02", "R03"]
OCTOBER = Period.parse("2025-10")
NOVEMBER = Period.parse("2025-11")
Q4 = Period.parse("2025Q4")


def build(root: Path) -> Store:
    store = Store(root)
    for name in DATASETS:
        frame = pd.read_csv(FIXTURES / f"{name}.csv", dtype=str, encoding="utf-8")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        store.replace_all(name, table, meta={"user": "pytest"}, refresh=False)
    store.refresh_all()
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build(tmp_path_factory.mktemp("as_of") / "data")


@pytest.fixture(scope="module")
def con(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = store.connect()
    yield connection
    connection.close()


def units(
    con: duckdb.DuckDBPyConnection, name: str, period: Period, today: dt.date | None = None
) -> list[float]:
    return list(catalog.by_unit(con, [name], period, UNITS, today=today)[name])


def approx(values: list[float]) -> object:
    return pytest.approx(values, nan_ok=True)


# -- status as of the period's end ---------------------------------------------------------


def test_a_case_resolved_after_its_period_is_not_resolved_in_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # October: R01 received A1 A2 A3, resolved by 31 October: A1 (A2 only on 3 November);
    # R02 received B1, resolved on 31 October itself; R03 received nothing.
    assert units(con, "resolution_rate", OCTOBER) == approx([1 / 3, 1.0, NAN])
    assert catalog.totals(con, ["resolution_rate"], OCTOBER)["resolution_rate"] == 2 / 4
    # A2 counts where it was resolved: November's closings and the quarter's rate.
    # Q4: R01 received A1 A2 A3 A4, resolved by 31 December A1 A2 (A4 未化解, A3 open).
    assert units(con, "resolution_rate", Q4) == approx([2 / 4, 1.0, NAN])
    # November: R01 received A4 only, closed 未化解: 0 of 1; R02 received nothing.
    assert units(con, "resolution_rate", NOVEMBER) == approx([0.0, NAN, NAN])
    # September: A5 was received and resolved on 2 October: not resolved as of 30 September.
    assert catalog.totals(con, ["resolution_rate"], Period.parse("2025-09")) == {
        "resolution_rate": 0.0
    }
    # The problem A2 (急难愁盼) counts as resolved in November, by its closing date.
    got = catalog.trend(con, ["problems_resolved"], Period.parse("2025-10..2025-11"))
    assert list(got["problems_resolved"]) == [1, 1]  # A5 (10-02) | A2 (11-03)


def test_a_grid_row_reads_as_of_the_period_end(con: duckdb.DuckDBPyConnection) -> None:
    # The row "化解率 100 % beside 期末在办 2": grid R01-G1 received A1 and A2 in
    # October; A2 was resolved only in November, so the rate is 1/2 (not today's 2/2) and
    # A2 is open at 31 October. R01-G2: A3 received and open (A5 was closed on 2 October).
    names = ["resolution_rate", "open_backlog", "overdue_cases"]
    grids = ["R01-G1", "R01-G2"]
    table = catalog.by_unit(con, names, OCTOBER, grids, Scope("R01"), by="grid")
    assert list(table["resolution_rate"]) == [1 / 2, 0.0]
    assert list(table["open_backlog"]) == [1, 1]
    # Neither had been open more than 30 days on 31 October; at 30 November A3 (10-25) had.
    assert list(table["overdue_cases"]) == [0, 0]
    november = catalog.by_unit(con, names, NOVEMBER, grids, Scope("R01"), by="grid")
    assert list(november["overdue_cases"]) == [0, 1]
    assert list(november["open_backlog"]) == [0, 1]


def test_october_reads_the_same_in_december(con: duckdb.DuckDBPyConnection) -> None:
    # Cases and counts do not depend on the day they are read on.
    names = ["resolution_rate", "open_backlog", "wishes_claimed", "wishes_fulfilled"]
    first = catalog.totals(con, names, OCTOBER, today=D(2025, 11, 1))
    later = catalog.totals(con, names, OCTOBER, today=D(2025, 12, 20))
    # Claimed by 31 October: V1 V2 V3 U1; fulfilled in October: V1 (10-31) and U1; V2 was
    # fulfilled on 1 November and counts then.
    assert (
        first
        == later
        == {
            "resolution_rate": 2 / 4,
            "open_backlog": 2,  # A2 A3
            "wishes_claimed": 4,
            "wishes_fulfilled": 2,
        }
    )
    assert catalog.totals(con, ["wishes_fulfilled"], NOVEMBER) == {"wishes_fulfilled": 2}


# -- the fulfilment rate: judged once 30 days have passed -----------------------------------


def fulfilment(
    con: duckdb.DuckDBPyConnection, period: Period, today: dt.date
) -> tuple[list[float], list[float], dict[str, float | None]]:
    table = catalog.by_unit(con, ["fulfillment_rate", "wishes_not_due"], period, UNITS, today=today)
    city = catalog.totals(con, ["fulfillment_rate", "wishes_not_due"], period, today=today)
    return list(table["fulfillment_rate"]), list(table["wishes_not_due"]), city


def test_day_30_is_in_time_and_day_31_is_not(con: duckdb.DuckDBPyConnection) -> None:
    # V1 and V2 were both registered on 1 October in grid R01-G1: V1 fulfilled on
    # 31 October (30 days), V2 on 1 November (31 days). Read once October is final.
    table = catalog.by_unit(con, ["fulfillment_rate"], OCTOBER, ["R01-G1"], Scope("R01"), by="grid")
    assert list(table["fulfillment_rate"]) == [1 / 2]


def test_a_month_is_judged_day_by_day_and_final_31_days_after_its_end(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # On 31 October, before October's deadline: a wish registered on 30 September or
    # before would be judged; none of October's is. No rate (not 0 %), all five 未到期.
    rates, pending, city = fulfilment(con, OCTOBER, D(2025, 10, 31))
    assert rates == approx([NAN, NAN, NAN]) and pending == [3, 2, 0]
    assert city == {"fulfillment_rate": None, "wishes_not_due": 5}
    # On 5 November (the deadline): judged are the wishes registered by 5 October (31 days
    # before): V1 in time, V2 not (31 days). V3, U1 (10-10) and U2 (10-31) are 未到期.
    rates, pending, city = fulfilment(con, OCTOBER, D(2025, 11, 5))
    assert rates == approx([1 / 2, NAN, NAN]) and pending == [1, 2, 0]
    assert city == {"fulfillment_rate": 1 / 2, "wishes_not_due": 3}
    # On 30 November: registered by 30 October. R01: V1 of V1 V2 V3; R02: U1 of U1; U2 waits.
    rates, pending, city = fulfilment(con, OCTOBER, D(2025, 11, 30))
    assert rates == approx([1 / 3, 1.0, NAN]) and pending == [0, 1, 0]
    assert city == {"fulfillment_rate": 2 / 4, "wishes_not_due": 1}
    # From 1 December (31 October + 31 days) October is final: U2 (registered 10-31, still
    # unclaimed) now counts as not fulfilled in time.
    for today in (D(2025, 12, 1), D(2026, 6, 1)):
        rates, pending, city = fulfilment(con, OCTOBER, today)
        assert rates == approx([1 / 3, 1 / 2, NAN]) and pending == [0, 0, 0]
        assert city == {"fulfillment_rate": 2 / 5, "wishes_not_due": 0}


def test_the_latest_month_shows_no_built_in_fall(con: duckdb.DuckDBPyConnection) -> None:
    # Read on 4 December (before November's deadline), November's V4 (registered 11-03)
    # is judged and was fulfilled the next day: 100 %, not a fall for wishes that could
    # not be fulfilled yet. By month, the city: wishes registered by 3 November are judged,
    # so all of October's (2 of 5 in time: V1 U1) and November's V4 (1 of 1).
    trend = catalog.trend(
        con,
        ["fulfillment_rate", "wishes_not_due"],
        Period.parse("2025-10..2025-11"),
        today=D(2025, 12, 4),
    )
    assert list(trend["fulfillment_rate"]) == [2 / 5, 1.0]
    assert list(trend["wishes_not_due"]) == [0, 0]
    # The quarter read that day: V1 U1 V4 in time of all six registered by 3 November.
    assert catalog.totals(con, ["fulfillment_rate"], Q4, today=D(2025, 12, 4)) == {
        "fulfillment_rate": 3 / 6
    }
    # A day earlier V4's 30 days were not over: no November rate, one 未到期.
    assert catalog.totals(
        con, ["fulfillment_rate", "wishes_not_due"], NOVEMBER, today=D(2025, 12, 3)
    ) == {"fulfillment_rate": None, "wishes_not_due": 1}


def test_the_day_comes_from_the_clock_or_a_meeting(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-05T10:00")
    assert catalog.totals(con, ["fulfillment_rate"], OCTOBER) == {"fulfillment_rate": 1 / 2}
    # A meeting reads its figures as of its own moment (review: catalog.read_on).
    with catalog.read_on(D(2025, 12, 1)):
        assert catalog.totals(con, ["fulfillment_rate"], OCTOBER) == {"fulfillment_rate": 2 / 5}


def test_the_period_values_keep_final_values_only(
    store: Store, con: duckdb.DuckDBPyConnection
) -> None:
    # The table holds October's final value...
    row = con.execute(
        "SELECT fulfillment_rate, wishes_not_due FROM period_values"
        " WHERE kind = 'month' AND period_start = DATE '2025-10-01' AND community_id IS NULL"
    ).fetchone()
    assert row == (2 / 5, None)  # no wish 未到期: no value stored, read as 0
    # ...which a page reads only once it is final; before, the metric's SQL answers.
    names = ["fulfillment_rate", "wishes_not_due"]
    for today in (D(2025, 11, 5), D(2025, 12, 1), D(2026, 1, 1)):
        for scope in (CITY, Scope("R01")):
            args = (con, names, OCTOBER.start, Q4.end, scope)
            looked = catalog.evaluate_many(*args, bucket="month", by="community", today=today)
            ran = catalog.evaluate_many(
                *args, bucket="month", by="community", today=today, lookup=False
            )
            for name in names:
                assert (
                    looked[name]
                    .sort_values(["period_start", "unit_id"])
                    .reset_index(drop=True)
                    .equals(
                        ran[name].sort_values(["period_start", "unit_id"]).reset_index(drop=True)
                    )
                ), (
                    name,
                    today,
                    scope,
                )


def test_an_upload_keeps_the_new_rollups_exact(tmp_path: Path) -> None:
    store = build(tmp_path / "data")
    # R02 sends a wish fulfilled on day 30 and a case received in October and resolved in
    # December: each upload refreshes R02's rollup rows and the city's only.
    wish = {
        "wish_id": "U3",
        "community_id": "R02",
        "grid_id": "R02-G1",
        "beneficiary_group": "困难老人",
        "wish_category": "生活用品",
        "registered_on": "2025-10-20",
        "claimed_on": "2025-10-21",
        "claimed_by": "党员",
        "fulfilled_on": "2025-11-19",
        "status": "已实现",
    }
    store.upsert("wishes", pa.Table.from_pylist([wish]), community_id="R02", meta={"user": "t"})
    case = {
        "case_id": "B2",
        "community_id": "R02",
        "grid_id": "R02-G1",
        "case_type": "矛盾纠纷",
        "category": "邻里纠纷",
        "channel": "板凳会",
        "is_supervised": "false",
        "reported_on": "2025-10-15",
        "resolved_on": "2025-12-02",
        "status": "已化解",
        "note": None,
    }
    store.upsert("cases", pa.Table.from_pylist([case]), community_id="R02", meta={"user": "t"})
    con = store.connect()
    try:
        # October, final: R02 U1 and U3 in time of U1 U2 U3.
        assert units(con, "fulfillment_rate", OCTOBER) == approx([1 / 3, 2 / 3, NAN])
        # B2 is not resolved in October (R02: B1 of B1 B2) but is in the quarter.
        assert units(con, "resolution_rate", OCTOBER) == approx([1 / 3, 1 / 2, NAN])
        assert units(con, "resolution_rate", Q4) == approx([2 / 4, 1.0, NAN])
        # The stored rollups, refreshed in part, equal those computed from the records.
        for dataset, rollup in (
            ("cases", "cases_days_rollup"),
            ("wishes", "wishes_rollup"),
            ("wishes", "wishes_cohort_rollup"),
        ):
            measures = rollup.removesuffix("_rollup") + "_measures"
            fresh = f"SELECT * FROM {measures}('community', NULL, NULL)"
            stored = con.sql(
                f"SELECT community_id, * EXCLUDE (community_id) FROM {rollup}"
                " WHERE community_id IS NOT NULL ORDER BY ALL"
            ).fetchall()
            computed = con.sql(f"SELECT unit_id, * EXCLUDE (unit_id) FROM ({fresh}) ORDER BY ALL")
            assert stored == computed.fetchall(), rollup
            # The city's rows are the sums of the communities'.
            keys = ", ".join(ROLLUPS[dataset][rollup])
            city = con.sql(
                f"SELECT * EXCLUDE (community_id) FROM {rollup} WHERE community_id IS NULL"
                " ORDER BY ALL"
            ).fetchall()
            summed = con.sql(
                f"SELECT {keys}, sum(COLUMNS(* EXCLUDE (community_id, {keys})))::BIGINT"
                f" FROM {rollup} WHERE community_id IS NOT NULL GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            assert city == summed, rollup
    finally:
        con.close()


# -- nothing reported is no value ----------------------------------------------------------


def test_a_community_that_reported_nothing_has_no_value(con: duckdb.DuckDBPyConnection) -> None:
    names = [
        "job_seekers_registered",
        "placed_flexible",
        "placement_rate",
        "mean_stars",
        "property_sanctions",
        "failing_companies",
    ]
    table = catalog.by_unit(con, names, OCTOBER, UNITS)
    for name in names:
        assert pd.isna(table.loc["R03", name]), name
    # R01 reported its ratings and none failed or was sanctioned: a real 0.
    assert table.loc["R01", "property_sanctions"] == 0
    assert table.loc["R01", "failing_companies"] == 0
    # R01 sent no November employment report: none, not 0; R02 did (5 seekers, 1 + 3).
    november = catalog.by_unit(con, ["placed_flexible", "placement_rate"], NOVEMBER, UNITS)
    assert list(november["placed_flexible"]) == approx([NAN, 3, NAN])
    assert list(november["placement_rate"]) == approx([NAN, 4 / 5, NAN])
    # No report at all in a month: the city has no figure either.
    assert catalog.totals(con, ["placed_flexible"], Period.parse("2025-12")) == {
        "placed_flexible": None
    }


def test_employment_is_not_reported_by_grid(con: duckdb.DuckDBPyConnection) -> None:
    names = ["placed_flexible", "placement_rate", "mean_stars", "cases_received"]
    table = catalog.by_unit(con, names, OCTOBER, ["R01-G1", "R01-G2"], Scope("R01"), by="grid")
    assert table["placed_flexible"].isna().all()  # "—", never 0
    assert table["placement_rate"].isna().all()
    assert table["mean_stars"].isna().all()
    assert list(table["cases_received"]) == [2, 1]  # A1 A2 | A3
    grid = catalog.totals(con, names, OCTOBER, Scope("R01", "R01-G1"))
    assert grid == {
        "placed_flexible": None,
        "placement_rate": None,
        "mean_stars": None,
        "cases_received": 2,
    }


def test_placement_rate(con: duckdb.DuckDBPyConnection) -> None:
    # October: R01 (2 + 6) / 10; R02 (1 + 5) / 4; the city (3 + 11) / 14.
    assert units(con, "placement_rate", OCTOBER) == approx([0.8, 1.5, NAN])
    assert catalog.totals(con, ["placement_rate"], OCTOBER) == {"placement_rate": 1.0}
    # Q4: R02 adds November (1 + 3 of 5): (6 + 4) / 9; the city (8 + 10) / 19.
    assert units(con, "placement_rate", Q4) == approx([0.8, 10 / 9, NAN])
    assert catalog.totals(con, ["placement_rate"], Q4) == {"placement_rate": 18 / 19}
    # Its target: at least one placement per job seeker (✅ from 100 %, ⚠️ from 80 %).
    shipped = targets.defaults()
    assert [targets.status("placement_rate", v, shipped) for v in (1.5, 1.0, 0.8, 0.79)] == [
        "green",
        "green",
        "amber",
        "red",
    ]


# -- cumulative periods and comparisons ----------------------------------------------------


def test_year_to_date_and_all(con: duckdb.DuckDBPyConnection) -> None:
    names = ["cases_received", "resolution_rate", "open_backlog"]
    # January to October: A5 A1 A2 A3 B1 received; resolved by 31 October A5 A1 B1.
    assert catalog.totals(con, names, Period.parse("2025-10YTD")) == {
        "cases_received": 5,
        "resolution_rate": 3 / 5,
        "open_backlog": 2,  # A2 A3 at 31 October
    }
    # To November: A4 too; resolved by 30 November A5 A1 A2 B1.
    assert catalog.totals(con, names, Period.parse("2025-11YTD")) == {
        "cases_received": 6,
        "resolution_rate": 4 / 6,
        "open_backlog": 1,  # A3
    }
    # 全部 from the data's first month (September: A5) to November: the same cases.
    first, _ = queries.data_months(con) or (None, None)
    assert first == D(2025, 9, 1)
    everything = Period.since(D(2025, 9, 1), D(2025, 11, 1))
    assert everything.code == "2025-09..2025-11ALL"
    assert catalog.totals(con, names, everything) == {
        "cases_received": 6,
        "resolution_rate": 4 / 6,
        "open_backlog": 1,
    }


def test_comparisons_before_the_data_begin_have_no_value(con: duckdb.DuckDBPyConnection) -> None:
    assert catalog.data_begins(con) == {
        "cases": D(2025, 9, 1),
        "wishes": D(2025, 10, 1),
        "employment": D(2025, 10, 1),
        "property_ratings": D(2025, 7, 1),
    }
    names = ["cases_received", "wishes_registered", "placed_flexible", "communities"]
    # October against September: cases began in September (A5: 1); wishes and employment
    # only in October, so September is before their data: "—", not 0 (nor "up from 0").
    september = catalog.totals(con, names, OCTOBER.previous(), compared=True)
    assert september == {
        "cases_received": 1,
        "wishes_registered": None,
        "placed_flexible": None,
        "communities": 3,  # the registry is not dated
    }
    # Without `compared`, the same period reads as its figures are.
    plain = catalog.totals(con, names, OCTOBER.previous())
    assert plain == {**september, "wishes_registered": 0, "placed_flexible": None}
    # A year earlier: before every dated ledger.
    assert catalog.totals(con, names, OCTOBER.year_ago(), compared=True) == {
        "cases_received": None,
        "wishes_registered": None,
        "placed_flexible": None,
        "communities": 3,
    }
    # 全部 and a year to date: 环比 and 同比 both before the data.
    for code in ("2025-09..2025-11ALL", "2025-11YTD"):
        period = Period.parse(code)
        for earlier in (period.previous(), period.year_ago()):
            got = catalog.totals(con, ["cases_received"], earlier, compared=True)
            assert got == {"cases_received": None}, (code, earlier)
    # A ranking's previous period likewise: no values, so no rank change.
    before = catalog.by_unit(con, ["cases_received"], OCTOBER.year_ago(), UNITS, compared=True)
    assert before["cases_received"].isna().all()
    # Quarterly ratings: October is compared with Q3, when the ratings began (5 4 3 2).
    q3, q4_2024 = queries.compared_periods("property_ratings", OCTOBER)
    assert catalog.totals(con, ["mean_stars"], q3, compared=True) == {"mean_stars": 14 / 4}
    assert catalog.totals(con, ["mean_stars"], q4_2024, compared=True) == {"mean_stars": None}


# -- the property companies' league --------------------------------------------------------


def league_rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    columns = [
        "rank",
        "company",
        "communities",
        "community_count",
        "compounds",
        "ratings",
        "mean_stars",
        "worst_stars",
        "worst_quarter",
        "sanctions",
    ]
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


def test_company_league(con: duckdb.DuckDBPyConnection) -> None:
    # H2: Q3 and Q4. 宁安物业 5 3 4 2 in 北塔 and 南湖 (春华苑, 秋华苑), worst 2★ in Q4, one
    # sanction; 金域物业 4 4 (夏华苑), worst 4★ in Q3 and Q4: the latest, Q4; 康居物业 4;
    # 塞上物业 2 1, two sanctions. 金域 and 康居: 4.0 stars, no sanction: both first ("1=").
    got = league_rows(queries.property_league(con, Period.parse("2025H2")))
    assert got == [
        (1, "康居物业", "南湖社区", 1, 1, 1, 4.0, 4, "2025Q4", 0),
        (1, "金域物业", "北塔社区", 1, 1, 2, 4.0, 4, "2025Q4", 0),
        (3, "宁安物业", "北塔社区、南湖社区", 2, 2, 4, 3.5, 2, "2025Q4", 1),
        (4, "塞上物业", "南湖社区", 1, 1, 2, 1.5, 1, "2025Q4", 2),
    ]
    # October counts Q4's ratings only; 宁安物业 4 2.
    october = league_rows(queries.property_league(con, OCTOBER))
    assert [(r[0], r[1], r[6], r[9]) for r in october] == [
        (1, "康居物业", 4.0, 0),
        (1, "金域物业", 4.0, 0),
        (3, "宁安物业", 3.0, 1),
        (4, "塞上物业", 1.0, 1),
    ]
    # One community's: R01's ratings of the companies that serve it.
    r01 = league_rows(queries.property_league(con, Period.parse("2025H2"), Scope("R01")))
    assert [(r[0], r[1], r[5], r[6], r[7], r[8]) for r in r01] == [
        (1, "宁安物业", 2, 4.5, 4, "2025Q4"),
        (2, "金域物业", 2, 4.0, 4, "2025Q4"),
    ]
    # No ratings in the period: an empty league.
    assert queries.property_league(con, Period.parse("2025-05")).empty
