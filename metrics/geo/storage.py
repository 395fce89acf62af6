"""Grid boundaries in the store: the side table `_boundaries`, one row per community's
version, only ever appended to. A row holds the whole FeatureCollection the community sent
(checked by boundaries.check), who sent it and when; the latest version of a community is
in force. Rights and the audit entry are metrics.access.geo's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from metrics import location, periods
from metrics.geo.boundaries import Checked
from metrics.store import Store

TABLE = "_boundaries"
SCHEMA = pa.schema(
    [
        ("community_id", pa.string()),
        ("version", pa.int64()),  # per community: 1, 2, ...
        ("uploaded_at", pa.timestamp("ms", tz="UTC")),
        ("user", pa.string()),
        ("role", pa.string()),
        ("file_name", pa.string()),
        ("sha256", pa.string()),
        ("grids", pa.int64()),
        ("schematic", pa.bool_()),  # the demo's drawn boundaries, said on the map (示意)
        ("geojson", pa.string()),
    ]
)


@dataclass(frozen=True)
class Version:
    """One community's boundaries as sent once."""

    community_id: str
    version: int
    uploaded_at: dt.datetime
    user: str
    role: str | None
    file_name: str
    sha256: str
    grids: int
    schematic: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "uploaded_at": self.uploaded_at.isoformat()}


def table_version(store: Store) -> int | None:
    """The side table's version (None: no boundaries yet): caches are keyed by it."""
    return store.document_version(TABLE)


def collection(grids: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection of grid geometries, in grid order, property `grid_id` only."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"grid_id": g}, "geometry": grids[g]}
            for g in sorted(grids)
        ],
    }


def json_bytes(document: Mapping[str, Any]) -> bytes:
    """A GeoJSON document as a file holds it (UTF-8, Chinese as it is)."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def append(
    store: Store,
    checked: Checked,
    user: str,
    role: str | None,
    *,
    schematic: bool = False,
) -> int:
    """Keep `checked` (which passed every check) as its community's next version; returns
    that version. One Delta commit: a reader sees the version whole or not at all."""
    assert checked.ok, "only checked boundaries are kept"
    with store.lock("boundaries"):
        versions = [v.version for v in versions_of(store, checked.community_id)]
        version = max(versions, default=0) + 1
        _append(store, [_row(checked, version, user, role, schematic)], user)
    return version


def append_many(store: Store, rows: list[tuple[Checked, str]], *, schematic: bool) -> None:
    """Several communities' first versions in one commit (the demo's build)."""
    with store.lock("boundaries"):
        _append(store, [_row(c, 1, user, None, schematic) for c, user in rows], "demo")


def _row(
    checked: Checked, version: int, user: str, role: str | None, schematic: bool
) -> dict[str, Any]:
    return {
        "community_id": checked.community_id,
        "version": version,
        "uploaded_at": periods.now().astimezone(dt.UTC),
        "user": user,
        "role": role,
        "file_name": checked.file_name,
        "sha256": checked.sha256,
        "grids": len(checked.grids),
        "schematic": schematic,
        "geojson": json.dumps(collection(checked.grids), ensure_ascii=False),
    }


def _append(store: Store, rows: list[dict[str, Any]], user: str) -> None:
    store.append_rows(TABLE, pa.Table.from_pylist(rows, schema=SCHEMA), {"user": user})


def _rows(store: Store, columns: list[str] | None = None) -> list[dict[str, Any]]:
    table = store.read_rows(TABLE)
    if table is None:
        return []
    if columns is not None:
        table = table.select(columns)
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def versions_of(store: Store, community_id: str | None = None) -> list[Version]:
    """Versions newest first, of one community or of all."""
    names = [n for n in SCHEMA.names if n != "geojson"]
    rows = [r for r in _rows(store, names) if community_id in (None, r["community_id"])]
    found = [Version(**r) for r in rows]
    return sorted(found, key=lambda v: (v.uploaded_at, v.version), reverse=True)


def in_force(store: Store, communities: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """The version in force of each community (of `communities`, or all): {community_id:
    {"version", "schematic", "collection"}}."""
    latest: dict[str, dict[str, Any]] = {}
    table = store.read_rows(TABLE)
    if table is None:
        return latest
    for row in table.to_pylist():
        cid = row["community_id"]
        if communities is not None and cid not in communities:
            continue
        if cid not in latest or row["version"] > latest[cid]["version"]:
            latest[cid] = row
    return {
        cid: {
            "version": row["version"],
            "schematic": bool(row["schematic"]),
            "collection": json.loads(row["geojson"]),
        }
        for cid, row in latest.items()
    }


def register(store: Store) -> dict[str, str]:
    """The grid register's latest version: {grid_id: community_id}."""
    version = store.table_version("grids")
    files = store.files("grids", version) if version >= 0 else []
    if not files:
        return {}
    table = location.read_parquet(files, columns=["grid_id", "community_id"])
    grids, owners = table.column("grid_id").to_pylist(), table.column("community_id").to_pylist()
    return dict(zip(grids, owners, strict=True))
