"""Shared fixtures: a store built from the hand-checkable CSVs in tests/fixtures/.

Each CSV is read as text and handed to Store.replace_all, which casts every column to the
contract's type (metrics.store.conform), so the fixtures go through the same door as data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from metrics.schemas import DATASETS
from metrics.store import DEMO_DIR, STORE_DIR, Store

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
# The files that take longest go first (measured with --durations, 6 December 2026: S3 on
# moto 15 min, the axe run 8.5, the kill -9 loop 7, the ingest stress 6, replicas and the
# sign-in 4 each, as test time on 3 workers). `make test` hands whole files to its workers
# in this order (--dist loadfile --no-loadscope-reorder; xdist's own order is by number of
# tests, which put the one-test kill -9 loop last, to end the run alone for 8 minutes).
LONGEST_FIRST = (
    "test_s3_store.py",
    "browser/test_axe.py",
    "test_crash.py",
    "test_ingest_stress.py",
    "browser/test_replicas.py",
    "browser/test_signin.py",
    "browser/test_browser.py",
    "browser/test_screens.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = Path(str(item.path)).relative_to(TESTS).as_posix()
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


def fixture_table(dataset: str) -> pa.Table:
    """tests/fixtures/<dataset>.csv as an Arrow table of text columns (empty cell → null)."""
    frame = pd.read_csv(FIXTURES / f"{dataset}.csv", dtype=str, encoding="utf-8")
    return pa.Table.from_pandas(frame, preserve_index=False)


def fixture_store(root: Path, directory: str = STORE_DIR) -> Store:
    """A store at `root` holding every fixture dataset, one replace_all commit each, then
    the rollups and period values built once (as the demo store is written). Real, as a
    store written without `init` is; with directory=DEMO_DIR, the demo store of `root`."""
    s = Store(root, directory)
    if directory == DEMO_DIR:
        s.create("demo", "pytest")
    for name in DATASETS:
        meta = {"user": "pytest", "source": name}
        s.replace_all(name, fixture_table(name), meta=meta, refresh=False)
    s.refresh_all()
    return s


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh fixture store of its own for each test, free to write to."""
    return fixture_store(tmp_path / "data")


@pytest.fixture
def con(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = store.connect()
    yield connection
    connection.close()
