"""Small builders shared by the upload tests: files as bytes, store snapshots.

Spawned worker processes import this module too, so it stays free of pytest fixtures.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from metrics.schemas import DATASETS
from metrics.store import Store
from metrics.templates import example_row

TODAY = dt.date(2025, 12, 1)
CASE_HEADERS = [f.zh for f in DATASETS["cases"].fields]


def case_row(
    case_id: str, community: str = "QTX01", grid: str = "QTX01-G01", **kw: str
) -> list[str]:
    """The template's example case as a row with another id; keywords override cells."""
    row = {k: str(v) for k, v in example_row("cases", "zh", community, grid).items()}
    row.update(case_id=case_id, community_id=community, grid_id=grid, note="")
    row.update(kw)
    return [row[f.name] for f in DATASETS["cases"].fields]


def csv_bytes(
    rows: Iterable[Sequence[object]],
    headers: Sequence[str] = CASE_HEADERS,
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def snapshot(root: Path) -> dict[str, str]:
    """SHA-256 of every file under `root`: equal snapshots mean a byte-for-byte equal store."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def seed_grids(store: Store, communities: int = 12, grids: int = 2) -> None:
    """Communities QTX01..QTXnn (in the register) with grids QTXnn-G01.. registered."""
    ids = [f"QTX{c:02d}-G{g:02d}" for c in range(1, communities + 1) for g in range(1, grids + 1)]
    table = pa.table(
        {
            "grid_id": ids,
            "community_id": [i[:5] for i in ids],
            "name": ["网格"] * len(ids),
            "households": [400] * len(ids),
            "is_micro": [False] * len(ids),
        }
    )
    store.replace_all("grids", table, meta={"user": "pytest"})
    codes = sorted({i[:5] for i in ids})
    register = pa.table({"community_id": codes, "name": codes})
    store.replace_all("communities", register, meta={"user": "pytest"})
