"""The demo's grid boundaries: schematic, not the real layout of Qingtongxia's grids. Each
community is a block in a 4 × 3 arrangement near the city's centre, cut into its grids;
every one is stored `schematic`, and the map says 示意 wherever they are shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from shapely.geometry import box, mapping

from metrics.geo import boundaries, storage
from metrics.store import Store

ORIGIN = (106.03, 38.04)  # the north-west corner of the arrangement (lon, lat)
BLOCK = (0.016, 0.012)  # a community's block, in degrees (about 1.4 km × 1.3 km)
GAP = 0.002
PER_ROW = 4


def layout(grids: pd.DataFrame) -> dict[str, dict[str, dict[str, object]]]:
    """{community_id: {grid_id: GeoJSON polygon}} for the register `grids`."""
    out: dict[str, dict[str, dict[str, object]]] = {}
    for k, (cid, frame) in enumerate(
        sorted(grids.groupby("community_id"), key=lambda p: str(p[0]))
    ):
        x0 = ORIGIN[0] + (k % PER_ROW) * (BLOCK[0] + GAP)
        y0 = ORIGIN[1] - (k // PER_ROW) * (BLOCK[1] + GAP)
        out[str(cid)] = _cut(sorted(frame["grid_id"].astype(str)), x0, y0)
    return out


def _cut(grid_ids: list[str], x0: float, top: float) -> dict[str, dict[str, object]]:
    """A block cut into rows of cells; the last row's cells widen to fill it."""
    cols = max(1, math.ceil(math.sqrt(len(grid_ids))))
    rows = math.ceil(len(grid_ids) / cols)
    height = BLOCK[1] / rows
    cells: dict[str, dict[str, object]] = {}
    for r in range(rows):
        row = grid_ids[r * cols : (r + 1) * cols]
        width = BLOCK[0] / len(row)
        for c, grid in enumerate(row):
            left, upper = x0 + c * width, top - r * height
            cell = box(
                round(left, 7), round(upper - height, 7), round(left + width, 7), round(upper, 7)
            )
            cells[grid] = _lists(mapping(cell))
    return cells


def _lists(geometry: Mapping[str, object]) -> dict[str, object]:
    coords = geometry["coordinates"]
    assert isinstance(coords, tuple)
    return {
        "type": "Polygon",
        "coordinates": [[[float(x), float(y)] for x, y in ring] for ring in coords],
    }


def write(store: Store, grids: pd.DataFrame) -> int:
    """Store the schematic boundaries of every demo community (checked like an upload);
    returns how many communities."""
    register = dict(
        zip(grids["grid_id"].astype(str), grids["community_id"].astype(str), strict=True)
    )
    rows = []
    for cid, cells in layout(grids).items():
        data = storage.json_bytes(storage.collection(cells))
        checked = boundaries.check(data, "demo.geojson", cid, register)
        assert checked.ok, checked.messages("en")
        rows.append((checked, "demo"))
    storage.append_many(store, rows, schematic=True)
    return len(rows)
