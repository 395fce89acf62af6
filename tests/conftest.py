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

FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
