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


SCALES = (100_000, 400_000)


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return {rows: tmp_path_factory.mktemp(f"bench{rows}") for rows in SCALES}


@pytest.fixture(scope="module")
def runs(workdirs: dict[int, Path]) -> dict[int, dict[str, Any]]:
    return {
        rows: bench.run(rows, runs=5, workdir=workdirs[rows], ingest_rows=20_000) for rows in SCALES
    }


def test_the_json_has_the_documented_shape(runs: dict[int, dict[str, Any]]) -> None:
    result = runs[100_000]
    assert result["scale"] == "1e5" and result["rows"] == 100_000
    for key in ("upload_10k_s", "app_peak_mb", "baseline_peak_mb"):
        assert result[key] > 0, key
    names = {q["name"] for q in result["queries"]}
    assert set(ROLLUP_QUERIES) <= names
    for q in result["queries"]:
        assert set(q) == {"page", "name", "p50_ms", "p95_ms", "baseline_p50_ms", "ratio"}


def test_rollup_queries_do_not_grow_with_the_records(
    runs: dict[int, dict[str, Any]], workdirs: dict[int, Path]
) -> None:
    def p50s(result: dict[str, Any]) -> dict[str, float]:
        return {q["name"]: q["p50_ms"] for q in result["queries"]}

    small, large = (p50s(runs[n]) for n in SCALES)
    # A busy machine only ever slows a query down: where the larger store looks slower,
    # both stores (kept in their workdirs) are timed again, up to twice, and each query's
    # best time kept, before a growth is believed.
    for _ in range(2):
        if all(large[n] < 3 * small[n] + 25 for n in ROLLUP_QUERIES):
            break
        again = [p50s(bench.run(n, runs=5, workdir=workdirs[n], ingest_rows=2_000)) for n in SCALES]
        small = {n: min(v, again[0][n]) for n, v in small.items()}
        large = {n: min(v, again[1][n]) for n, v in large.items()}
    for name in ROLLUP_QUERIES:
        # 25 ms of slack: at these sizes a query takes a few ms and the CI machine is shared.
        assert large[name] < 3 * small[name] + 25, (name, small[name], large[name])
