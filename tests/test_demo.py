"""The demo store tells the article's story: its city totals are the published figures,
and the months, communities and companies behave the way the article describes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metrics import catalog, demo
from metrics.catalog import Scope
from metrics.periods import Period
from metrics.store import REPO_ROOT

WHOLE = Period.parse("2023-01..2025-12")

# The figures as the article gives them ("960 余起" is 960..969, and so on).
ARTICLE_RANGES = {
    "disputes_handled": (960, 969),
    "supervision_orders": (180, 189),
    "wishes_fulfilled": (8000, 8099),
    "job_postings": (1200, 1209),
    "problems_resolved": (685, 685),
    "job_seekers_registered": (684, 684),
    "positions_offered": (1530, 1530),
    "placed_stable": (90, 90),
    "placed_flexible": (1920, 1920),
    "community_workers": (303, 303),  # 177 before + 126 recruited
    "grid_party_branches": (37, 37),
    "party_groups": (81, 81),
    "party_member_households": (230, 230),
    "communities": (12, 12),
    "grids": (178, 178),
}


@pytest.fixture(scope="module")
def demo_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    store = demo.store_at(tmp_path_factory.mktemp("demo"))
    demo.write(store)
    assert store.is_demo and store.tables_dir.name == "demo"
    return store.connect()


def test_summary_is_the_article(demo_con: duckdb.DuckDBPyConnection) -> None:
    result = catalog.summary(demo_con, WHOLE)
    assert {k: result[k] for k in demo.DEMO_TOTALS} == demo.DEMO_TOTALS
    assert set(ARTICLE_RANGES) == set(demo.DEMO_TOTALS) == set(catalog.SUMMARY_KEYS)
    for key, (low, high) in ARTICLE_RANGES.items():
        assert low <= result[key] <= high, key


def test_build_is_deterministic() -> None:
    first, second = demo.build(), demo.build()
    assert list(first) == list(second)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_community_names(demo_con: duckdb.DuckDBPyConnection) -> None:
    names = dict(demo_con.sql("SELECT community_id, name FROM communities").fetchall())
    assert len(names) == 12
    real = {cid: n for cid, n in names.items() if n in ("北苑社区", "南苑社区")}
    assert len(real) == 2
    invented = [n for cid, n in names.items() if cid not in real]
    assert len(invented) == 10 and all("（示例）" in n for n in invented)


def test_open_and_overdue_cases_at_the_year_end(demo_con: duckdb.DuckDBPyConnection) -> None:
    got = catalog.totals(demo_con, ["open_backlog", "overdue_cases"], Period.parse("2025-12"))
    assert got["open_backlog"] and got["overdue_cases"]
    assert got["open_backlog"] >= got["overdue_cases"] > 0


def test_a_failing_company(demo_con: duckdb.DuckDBPyConnection) -> None:
    failing = demo_con.sql("SELECT count(*) FROM property_ratings WHERE stars <= 2")
    assert failing.fetchall()[0][0] > 0
    got = catalog.totals(demo_con, ["failing_companies", "property_sanctions"], WHOLE)
    assert got["failing_companies"] and got["failing_companies"] >= 1
    assert got["property_sanctions"] and got["property_sanctions"] >= 1


def test_leader_resolves_more_than_laggard(demo_con: duckdb.DuckDBPyConnection) -> None:
    table = catalog.by_unit(demo_con, ["resolution_rate"], WHOLE, ["QTX01", "QTX12"])
    leader, laggard = table["resolution_rate"].tolist()
    assert leader > laggard


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_consultation_month_and_year_end_run_high(
    demo_con: duckdb.DuckDBPyConnection, year: int
) -> None:
    months = catalog.trend(demo_con, ["cases_received"], Period.parse(str(year)))
    cases: list[float] = months["cases_received"].tolist()  # Jan..Dec
    mean = sum(cases) / 12
    assert cases[8] > mean  # September, 协商月
    assert cases[11] > mean  # December


def _cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "GOVDASH_DATA_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_cli_demo_then_summary(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    written = json.loads(_cli("--data-dir", data_dir, "demo"))
    assert written["rows"]["communities"] == 12
    summary = ["--data-dir", data_dir, "summary", "--from", "2023-01", "--to", "2025-12", "--json"]
    city = json.loads(_cli(*summary))
    assert set(catalog.SUMMARY_KEYS) <= set(city)
    assert (city["from"], city["to"], city["community"]) == ("2023-01-01", "2025-12-31", None)
    assert {k: city[k] for k in demo.DEMO_TOTALS} == demo.DEMO_TOTALS
    one = json.loads(_cli(*summary, "--community", "QTX01"))
    assert one["community"] == "QTX01"
    assert one["communities"] == 1
    for key in catalog.SUMMARY_KEYS:
        assert 0 < one[key] < city[key], key


def test_cli_rejects_a_bad_period(tmp_path: Path) -> None:
    _cli("--data-dir", str(tmp_path), "init")  # an empty real store
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _cli("--data-dir", str(tmp_path), "summary", "--from", "2025Q5", "--to", "2025-12")
    assert failed.value.returncode == 2
    assert "not a period" in failed.value.stderr


def test_demo_scope_is_smaller_for_a_community(demo_con: duckdb.DuckDBPyConnection) -> None:
    city = catalog.summary(demo_con, WHOLE)
    north = catalog.summary(demo_con, WHOLE, Scope(community_id="QTX01"))
    assert all(0 < north[k] < city[k] for k in catalog.SUMMARY_KEYS)
