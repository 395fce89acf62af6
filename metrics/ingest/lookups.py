"""What validation and commit ask the store: registered communities and grids, and keys
that another community holds. Identifiers in the SQL come from the contract; values are
bound."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from metrics.schemas import Dataset
from metrics.store import Store


def fetch_arrow(con: Any, statement: str, params: dict[str, Any] | None = None) -> pa.Table:
    """A bound query's result as Arrow (identifiers in `statement` come from the contract)."""
    result: pa.Table = con.sql(statement, params=params).to_arrow_table()
    return result


def registered_communities(store: Store) -> set[str]:
    """The community codes in the community register (empty when there is none)."""
    con = store.connect(rollups=False)
    try:
        ids = fetch_arrow(con, "SELECT DISTINCT community_id FROM communities").column(0)
    finally:
        con.close()
    return {str(c) for c in ids.to_pylist() if c is not None}


def community_grids(con: Any, community_id: str) -> pa.Array:
    """The grid codes registered for the community."""
    grids = fetch_arrow(
        con,
        "SELECT grid_id FROM grids WHERE community_id = $community",
        {"community": community_id},
    ).column("grid_id")
    return grids.combine_chunks()


def keys_elsewhere(con: Any, spec: Dataset, rows: pa.Table, community_id: str) -> pa.Array:
    """Indexes of `rows` whose key the store holds under another community."""
    key = list(spec.key)
    upload = rows.select(key).append_column(
        "_i", pa.array(np.arange(rows.num_rows, dtype=np.int64))
    )
    con.register("upload_keys", upload)
    on = " AND ".join(f"u.{k} = s.{k}" for k in key)
    statement = (
        f"SELECT u._i FROM upload_keys u JOIN {spec.name} s ON {on} "
        "WHERE s.community_id <> $community ORDER BY u._i"
    )
    found = fetch_arrow(con, statement, {"community": community_id})
    con.unregister("upload_keys")
    return found.column("_i").combine_chunks()
