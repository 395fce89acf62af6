"""Grid boundaries as the pages and the command line reach them, rights first: a clerk
checks, uploads and lists their own community's boundaries only (an administrator any
community's); each upload is a new version, audited (`boundaries_upload`); the demo store
takes none. The map's shapes are scoped like every read: a clerk's map holds their own
community only. The data layer: metrics/geo/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from metrics import targets
from metrics.access.audit import audit
from metrics.access.principals import Principal, check_upload, require, scope_for
from metrics.catalog import Scope
from metrics.delta import StoreError
from metrics.geo import boundaries, shapes, storage
from metrics.geo import demo as geo_demo
from metrics.geo.boundaries import Checked, Problem
from metrics.geo.shapes import MapShapes, Shape
from metrics.geo.storage import Version
from metrics.i18n import Refusal
from metrics.store import Store

# A grid map's status colours: the rankings' own (✅ green, ⚠️ amber, ❌ red).
STATUS_COLOURS = dict(targets.COLOURS)
BOUNDARY_RIGHT = "boundaries"  # what check_upload is asked about: a community's own data
GEOJSON_MIME = "application/geo+json"


__all__ = [
    "GEOJSON_MIME",
    "STATUS_COLOURS",
    "BoundaryError",
    "Checked",
    "MapShapes",
    "Shape",
    "Version",
    "boundaries_version",
    "boundary_template",
    "boundary_versions",
    "check_boundaries",
    "map_shapes",
    "max_boundary_bytes",
    "upload_boundaries",
]


class BoundaryError(Refusal):
    """Boundaries that may not be kept (not checked, or refused by the checks)."""


def max_boundary_bytes() -> int:
    return boundaries.MAX_BYTES


def boundaries_version(store: Store) -> int | None:
    """The boundaries' table version (None: none uploaded): the map's caches key on it."""
    return storage.table_version(store)


def boundary_template(store: Store, community_id: str, by: Principal) -> tuple[bytes, str]:
    """The community's grids as a FeatureCollection of placeholder squares, grid_ids filled
    in: (bytes, file name)."""
    check_upload(by, BOUNDARY_RIGHT, community_id)
    grids = sorted(g for g, c in storage.register(store).items() if c == community_id)
    document = storage.collection(shapes.squares(grids))
    return storage.json_bytes(document), f"grid-boundaries-{community_id}.geojson"


def check_boundaries(
    store: Store, data: bytes, file_name: str, community_id: str, by: Principal
) -> Checked:
    """Every problem of a boundary file for `community_id`; nothing is written."""
    check_upload(by, BOUNDARY_RIGHT, community_id)
    register = storage.register(store)
    if community_id not in register.values():
        problem = Problem("geo_no_register", {"community": community_id})
        return Checked(community_id, file_name, "", (problem,))
    return boundaries.check(data, file_name, community_id, register)


def upload_boundaries(store: Store, checked: Checked, by: Principal) -> int:
    """Keep checked boundaries as the community's next version (in force from now) and
    audit it; returns the version. The demo store refuses; so does a refused file."""
    check_upload(by, BOUNDARY_RIGHT, checked.community_id)
    if store.is_demo:
        raise StoreError("store_demo_read_only")
    if not checked.ok:
        raise BoundaryError("geo_refused")
    version = storage.append(store, checked, by.user, by.role)
    audit(
        store,
        by,
        "boundaries_upload",
        community=checked.community_id,
        version=version,
        grids=len(checked.grids),
        file_name=checked.file_name,
        sha256=checked.sha256,
    )
    return version


def boundary_versions(store: Store, community_id: str | None, by: Principal) -> list[Version]:
    """A community's versions newest first (a clerk: their own; None: every community for
    those who see the city)."""
    require(by, "upload")
    return storage.versions_of(store, scope_for(by, Scope(community_id)).community_id)


def map_shapes(
    store: Store, by: Principal, unit: str, community_id: str | None, unit_ids: Sequence[str]
) -> MapShapes:
    """What the map of `unit_ids` draws: communities (unit "community"), or the grids of
    `community_id` (unit "grid"), from the boundaries in force."""
    scope = scope_for(by, Scope(community_id))
    if unit == "grid":
        cid = scope.community_id
        found = _in_force(store, {cid} if cid else set())
        return shapes.grid_shapes(found.get(cid or ""), unit_ids)
    wanted = list(unit_ids)
    if not by.can("view_city"):
        wanted = [u for u in wanted if u == by.community_id]
    return shapes.community_shapes(_in_force(store, set(wanted)), wanted)


def _in_force(store: Store, communities: set[str]) -> dict[str, dict[str, Any]]:
    """The versions in force; for a demo store built before boundaries existed, the demo's
    schematic boundaries drawn now from its register (the same ones a new demo stores)."""
    found = storage.in_force(store, communities)
    if found or not store.is_demo or storage.table_version(store) is not None:
        return found
    register = storage.register(store)
    grids = pd.DataFrame(
        {"grid_id": list(register), "community_id": list(register.values())}, dtype=str
    )
    return {
        cid: {"version": 0, "schematic": True, "collection": storage.collection(cells)}
        for cid, cells in geo_demo.layout(grids).items()
        if cid in communities
    }
