"""What a map draws, from the boundaries in force alone: each unit's outline rings and the
point its marker sits on (inside the shape: shapely's representative point). A community's
shape is the union of its grids' polygons. Also the template's placeholder squares.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import Polygon, box, shape
from shapely.geometry.base import BaseGeometry

Ring = tuple[tuple[float, ...], tuple[float, ...]]  # xs, ys

# Where a template's placeholder squares sit: the centre of Qingtongxia, 0.004° apart.
TEMPLATE_ORIGIN = (106.07, 38.02)
TEMPLATE_STEP = 0.004


@dataclass(frozen=True)
class Shape:
    """One unit (a community or a grid) as drawn: its polygons' outer rings and holes, and
    its marker's place."""

    unit_id: str
    shells: tuple[Ring, ...]
    holes: tuple[Ring, ...]
    point: tuple[float, float]


@dataclass(frozen=True)
class MapShapes:
    """The shapes of the units asked for; `missing`, those without boundaries in force;
    `schematic`, whether any shape drawn is the demo's (示意)."""

    shapes: tuple[Shape, ...]
    missing: tuple[str, ...]
    schematic: bool


def geometries(collection: Mapping[str, Any]) -> dict[str, BaseGeometry]:
    """{grid_id: polygon} of a stored FeatureCollection (checked when it was kept)."""
    return {str(f["properties"]["grid_id"]): shape(f["geometry"]) for f in collection["features"]}


def drawn(unit_id: str, geometry: BaseGeometry) -> Shape:
    polygons = list(getattr(geometry, "geoms", [geometry]))
    shells = tuple(_ring(p.exterior.coords) for p in polygons if isinstance(p, Polygon))
    holes = tuple(_ring(h.coords) for p in polygons if isinstance(p, Polygon) for h in p.interiors)
    # The centre where it lies inside (most grids), else a point surely inside (an L shape).
    point = geometry.centroid
    if not geometry.contains(point):
        point = geometry.representative_point()
    return Shape(unit_id, shells, holes, (point.x, point.y))


def _ring(coords: Iterable[Any]) -> Ring:
    xs, ys = zip(*((float(c[0]), float(c[1])) for c in coords), strict=True)
    return tuple(xs), tuple(ys)


def grid_shapes(in_force: Mapping[str, Any] | None, grid_ids: Iterable[str]) -> MapShapes:
    """The grids `grid_ids` of one community, from its boundaries in force (None: none)."""
    found = geometries(in_force["collection"]) if in_force else {}
    wanted = list(grid_ids)
    return MapShapes(
        tuple(drawn(g, found[g]) for g in wanted if g in found),
        tuple(g for g in wanted if g not in found),
        bool(in_force and in_force["schematic"]),
    )


def community_shapes(
    in_force: Mapping[str, Mapping[str, Any]], community_ids: Iterable[str]
) -> MapShapes:
    """Communities, each the union of its grids' polygons in force."""
    shapes, missing = [], []
    schematic = False
    for cid in community_ids:
        entry = in_force.get(cid)
        if entry is None:
            missing.append(cid)
            continue
        union = shapely.union_all(list(geometries(entry["collection"]).values()))
        shapes.append(drawn(cid, union))
        schematic = schematic or bool(entry["schematic"])
    return MapShapes(tuple(shapes), tuple(missing), schematic)


def squares(grid_ids: list[str], origin: tuple[float, float] = TEMPLATE_ORIGIN) -> dict[str, Any]:
    """Placeholder squares, one per grid, in rows (the template): apart, so they pass the
    checks as they are."""
    per_row = max(1, math.ceil(math.sqrt(len(grid_ids))))
    side = TEMPLATE_STEP * 0.8
    out = {}
    for i, grid in enumerate(grid_ids):
        x = origin[0] + (i % per_row) * TEMPLATE_STEP
        y = origin[1] - (i // per_row) * TEMPLATE_STEP
        out[grid] = shapely.geometry.mapping(box(x, y, x + side, y + side))
    return {g: _as_lists(v) for g, v in out.items()}


def _as_lists(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """shapely's mapping holds tuples; GeoJSON (and json.dumps) has lists, rounded to 1 cm."""

    def lists(value: Any) -> Any:
        if isinstance(value, tuple | list):
            return [lists(v) for v in value]
        return round(float(value), 7)

    return {"type": geometry["type"], "coordinates": lists(geometry["coordinates"])}
