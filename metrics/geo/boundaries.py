"""A community's grid boundaries as uploaded: a GeoJSON FeatureCollection in WGS84, one
feature per grid with property `grid_id`, checked like any ledger before anything is kept.

Every problem is a message naming the feature (第 N 个要素 and its grid_id). The caps
(bytes, features, vertices) are checked before any polygon is built, so a huge file is
refused cheaply. Register grids missing from the file are a warning, not a refusal: a
community may draw its grids over several uploads. Why shapely, and why the overlap rule is
5 % of the smaller grid: docs/decisions/0016-grid-map.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from metrics.i18n import t

# Caps: a community's grids drawn by hand are a few hundred vertices each.
MAX_BYTES = int(float(os.environ.get("GOVDASH_MAX_BOUNDARY_MB", "5")) * 1024 * 1024)
MAX_FEATURES = 1000
MAX_VERTICES = 200_000
# Neighbouring grids drawn by hand overlap in slivers along their shared border; more than
# this share of the smaller grid's area is two grids claiming the same ground.
OVERLAP_LIMIT = 0.05
MISSING_SHOWN = 10  # register grids named in the warning; the rest counted
POLYGONS = ("Polygon", "MultiPolygon")
# explain_validity's reasons (GEOS), as messages; anything else is said as GEOS puts it.
_REASONS = {
    "Self-intersection": "geo_reason_self_intersection",
    "Ring Self-intersection": "geo_reason_ring_self_intersection",
    "Too few points": "geo_reason_too_few_points",
    "Hole lies outside shell": "geo_reason_hole_outside",
    "Nested shells": "geo_reason_nested_shells",
    "Nested holes": "geo_reason_nested_holes",
    "Interior is disconnected": "geo_reason_disconnected",
    "Invalid Coordinate": "geo_reason_invalid_coordinate",
}


@dataclass(frozen=True)
class Problem:
    """One finding: a message key and its values (a refusal, or a warning)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        params = dict(self.params)
        if "reason" in params:  # a reason is itself a message
            reason = params["reason"]
            params["reason"] = t(reason[0], lang, **reason[1])
        return t(self.key, lang, **params)


@dataclass(frozen=True)
class Checked:
    """An uploaded file, checked: `grids` holds each grid's geometry (GeoJSON) when `ok`."""

    community_id: str
    file_name: str
    sha256: str
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()
    grids: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def messages(self, lang: str = "zh") -> list[str]:
        return [p.message(lang) for p in self.problems]


@dataclass
class _Feature:
    n: int  # 1-based, as a person counts them
    grid: str
    geometry: BaseGeometry | None = None


def check(
    data: bytes,
    file_name: str,
    community_id: str,
    register: Mapping[str, str],
    community_label: str | None = None,
) -> Checked:
    """Every problem of `data` as `community_id`'s boundaries; `register` maps every grid
    of the grid register to its community. Nothing is written."""
    digest = hashlib.sha256(data).hexdigest()
    label = community_label or community_id

    def refused(*problems: Problem) -> Checked:
        return Checked(community_id, file_name, digest, problems)

    if len(data) > MAX_BYTES:
        return refused(Problem("geo_too_big", {"size": _mb(len(data)), "limit": _mb(MAX_BYTES)}))
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return refused(Problem("geo_not_json", {"error": "not UTF-8"}))
    except (ValueError, RecursionError) as exc:  # a JSON bomb of nested lists: RecursionError
        return refused(Problem("geo_not_json", {"error": str(exc)[:120]}))
    found = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
    features = raw.get("features") if isinstance(raw, dict) else None
    if found != "FeatureCollection" or not isinstance(features, list):
        return refused(Problem("geo_not_collection", {"found": str(found)[:60]}))
    if not features:
        return refused(Problem("geo_empty"))
    if len(features) > MAX_FEATURES:
        return refused(
            Problem("geo_too_many_features", {"count": len(features), "limit": MAX_FEATURES})
        )
    vertices = sum(_vertex_count(f) for f in features)
    if vertices > MAX_VERTICES:
        return refused(Problem("geo_too_many_vertices", {"count": vertices, "limit": MAX_VERTICES}))
    problems: list[Problem] = []
    kept = _identified(features, community_id, label, register, problems)
    for feature, geometry in kept:
        feature.geometry = _geometry(feature, geometry, problems)
    problems += _overlaps([f for f, _ in kept if f.geometry is not None])
    if problems:
        return refused(*problems)
    return Checked(
        community_id,
        file_name,
        digest,
        (),
        _missing(community_id, register, {f.grid for f, _ in kept}),
        {f.grid: g for f, g in kept},
    )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _vertex_count(feature: Any) -> int:
    """Positions in a feature's coordinates, counted without building anything (walks
    nested lists iteratively: no recursion limit to hit)."""
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    count, stack = 0, [coords]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if item and not isinstance(item[0], list):
                count += 1  # a position [x, y]
            else:
                stack.extend(item)
    return count


def _identified(
    features: list[Any],
    community_id: str,
    label: str,
    register: Mapping[str, str],
    problems: list[Problem],
) -> list[tuple[_Feature, dict[str, Any]]]:
    """The features that name a grid of this community once, with their geometry objects."""
    kept: list[tuple[_Feature, dict[str, Any]]] = []
    first: dict[str, int] = {}
    for n, feature in enumerate(features, start=1):
        if not (isinstance(feature, dict) and feature.get("type") == "Feature"):
            problems.append(Problem("geo_not_feature", {"n": n}))
            continue
        properties = feature.get("properties")
        grid = _grid_id(properties.get("grid_id") if isinstance(properties, dict) else None)
        if grid is None:
            problems.append(Problem("geo_missing_grid_id", {"n": n}))
            continue
        if grid in first:
            problems.append(
                Problem("geo_duplicate_grid_id", {"n": n, "grid": grid, "first": first[grid]})
            )
            continue
        first[grid] = n
        owner = register.get(grid)
        if owner is None:
            problems.append(Problem("geo_unknown_grid", {"n": n, "grid": grid, "community": label}))
            continue
        if owner != community_id:
            params = {"n": n, "grid": grid, "owner": owner, "community": label}
            problems.append(Problem("geo_other_community", params))
            continue
        geometry = feature.get("geometry")
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in POLYGONS or not isinstance(geometry, dict):
            found = str(kind) if kind is not None else "null"
            problems.append(Problem("geo_not_polygon", {"n": n, "grid": grid, "found": found}))
            continue
        kept.append((_Feature(n, grid), geometry))
    return kept


def _grid_id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text or None


def _geometry(
    feature: _Feature, geometry: dict[str, Any], problems: list[Problem]
) -> BaseGeometry | None:
    """The feature's polygon when its coordinates are WGS84 and it is valid; else None, with
    the problem said."""
    where = {"n": feature.n, "grid": feature.grid}
    try:
        positions = list(_positions(geometry["coordinates"]))
        built = shape({"type": geometry["type"], "coordinates": geometry["coordinates"]})
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        shapely.errors.GEOSException,
    ):
        problems.append(Problem("geo_bad_coordinates", where))
        return None
    if built.is_empty or not positions:
        problems.append(Problem("geo_bad_coordinates", where))
        return None
    for x, y in positions:
        if not (math.isfinite(x) and math.isfinite(y)):
            problems.append(Problem("geo_bad_coordinates", where))
            return None
        if abs(x) > 180 or abs(y) > 90:
            # Projected coordinates (CGCS2000 / UTM) are hundreds of thousands of metres.
            key = "geo_projected" if max(abs(x), abs(y)) > 1000 else "geo_out_of_range"
            problems.append(Problem(key, {**where, "x": _coord(x), "y": _coord(y)}))
            return None
    if not built.is_valid:
        problems.append(Problem("geo_invalid_polygon", {**where, **_reason(built)}))
        return None
    return built


def _positions(coordinates: Any) -> Iterator[tuple[float, float]]:
    """Every [x, y] of a Polygon's or MultiPolygon's coordinates, as numbers."""
    stack = [coordinates]
    while stack:
        item = stack.pop()
        if not isinstance(item, list) or not item:
            raise ValueError("not a list of positions")
        if isinstance(item[0], list):
            stack.extend(item)
            continue
        if len(item) < 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in item
        ):
            raise ValueError("not a position")
        yield float(item[0]), float(item[1])


def _coord(value: float) -> str:
    return f"{value:.6g}" if abs(value) < 1000 else f"{value:.0f}"


def _reason(geometry: BaseGeometry) -> dict[str, Any]:
    """Why GEOS says a polygon is invalid, as a message, and where: "Self-intersection[x y]"."""
    text = explain_validity(geometry)
    match = re.match(r"\s*([^\[]+?)\s*\[([^\]]*)\]", text)
    name, point = (match.group(1), match.group(2)) if match else (text, "")
    key = _REASONS.get(name)
    reason = (key, {}) if key else ("geo_reason_other", {"detail": text[:120]})
    numbers = point.split()
    where = ", ".join(f"{float(v):.6f}" for v in numbers[:2]) if len(numbers) >= 2 else point or "?"
    return {"reason": reason, "where": where}


def _overlaps(features: list[_Feature]) -> list[Problem]:
    """Pairs of grids overlapping by more than OVERLAP_LIMIT of the smaller one's area."""
    geometries = [f.geometry for f in features]
    if len(geometries) < 2:
        return []
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    problems = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        a, b = features[i], features[j]
        assert a.geometry is not None and b.geometry is not None
        smaller = min(a.geometry.area, b.geometry.area)
        shared = a.geometry.intersection(b.geometry).area
        if smaller > 0 and shared / smaller > OVERLAP_LIMIT:
            params = {
                "n": a.n,
                "grid": a.grid,
                "m": b.n,
                "other": b.grid,
                "share": f"{shared / smaller:.1%}",
                "limit": f"{OVERLAP_LIMIT:.0%}",
            }
            problems.append(Problem("geo_overlap", params))
    return problems


def _missing(
    community_id: str, register: Mapping[str, str], present: set[str]
) -> tuple[Problem, ...]:
    missing = sorted(g for g, c in register.items() if c == community_id and g not in present)
    if not missing:
        return ()
    shown = "、".join(missing[:MISSING_SHOWN]) + ("…" if len(missing) > MISSING_SHOWN else "")
    return (Problem("geo_missing_grids", {"count": len(missing), "grids": shown}),)
