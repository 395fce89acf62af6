"""The benchmark as a smoke test: it runs end to end at two small scales, and the page
queries that read rollups do not grow with the number of records. Absolute times are
reported in docs/benchmarks.md, never asserted (CI machines are noisy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metrics import bench

ROLLUP_QUERIES = (
    "kpi_totals_city_year",
    "trend_city_monthly",
    "kpi_totals_community_year",
    "ranking_communities_year",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    out = {}
    for rows in (100_000, 400_000):
        workdir: Path = tmp_path_factory.mktemp(f"bench{rows}")
        out[rows] = bench.run(rows, runs=5, workdir=workdir, ingest_rows=20_000)
    return out


def test_the_json_has_the_documented_shape(runs: dict[int, dict[str, Any]]) -> None:
    result = runs[100_000]
    assert result["scale"] == "1e5" and result["rows"] == 100_000
    for key in ("upload_10k_s", "app_peak_mb", "baseline_peak_mb"):
        assert result[key] > 0, key
    names = {q["name"] for q in result["queries"]}
    assert set(ROLLUP_QUERIES) <= names
    for q in result["queries"]:
        assert set(q) == {"page", "name", "p50_ms", "p95_ms", "baseline_p50_ms", "ratio"}


def test_rollup_queries_do_not_grow_with_the_records(runs: dict[int, dict[str, Any]]) -> None:
    small, large = ({q["name"]: q["p50_ms"] for q in runs[n]["queries"]} for n in sorted(runs))
    for name in ROLLUP_QUERIES:
        # 25 ms of slack: at these sizes a query takes a few ms and the CI machine is shared.
        assert large[name] < 3 * small[name] + 25, (name, small[name], large[name])
