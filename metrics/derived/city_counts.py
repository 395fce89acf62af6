"""The city's record counts per month and value of each breakdown column (tables
<dataset>_city_counts, queries.CITY_COUNTS): a city-wide breakdown reads a few hundred rows
instead of every record of the period (docs/decisions/0006-period-values.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb

from metrics.derived.rollups import commit, files_reflecting
from metrics.queries import BREAKDOWNS, CITY_COUNTS
from metrics.schemas import DATASETS

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion


def refresh(store: Store, dataset: str, version: int, communities: list[str] | None = None) -> None:
    """The counts for data version `version`, in one commit (REFLECTS, as the rollups).
    With `communities` (that commit touched only them) and counts for the version before,
    the new counts are the old ones less those communities' records before and plus theirs
    now; otherwise they are counted from every record.
    """
    name = CITY_COUNTS.get(dataset)
    if name is None or version < 0:
        return
    with store.lock(f"counts-{dataset}"):
        if files_reflecting(store, name, version) is not None:
            return
        old = files_reflecting(store, name, version - 1) if communities else None
        statement, values = _statement(store, dataset, version, communities, old)
        if not values["files"]:
            return
        con = store.bare_connection()
        try:
            data = con.sql(statement + " ORDER BY ALL", params=values).to_arrow_table()
        finally:
            con.close()
        commit(store, name, data, {"reflects": str(version)}, schema_mode="overwrite")


def recount(store: Store, dataset: str, version: int) -> tuple[str, dict[str, Any]]:
    """The query that counts `dataset` at `version` from every record, and its parameters
    (what `python -m metrics check` compares the stored counts with)."""
    return _statement(store, dataset, version, None, None)


def _statement(
    store: Store,
    dataset: str,
    version: int,
    communities: list[str] | None,
    old: list[str] | None,
) -> tuple[str, dict[str, Any]]:
    """The counting query and its parameters: from every record, or from the `old` counts
    and the `communities`' records before and after."""
    columns = BREAKDOWNS[dataset]
    date = DATASETS[dataset].period_field
    # Identifiers from the contract and queries.BREAKDOWNS; every value is bound.
    picked = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
    counted = (
        "SELECT column_name, month, value, count(*)::BIGINT AS n"
        f" FROM (SELECT date_trunc('month', {date})::DATE AS month, {picked}"
        " FROM {source}) UNPIVOT INCLUDE NULLS"
        f" (value FOR column_name IN ({', '.join(columns)})) GROUP BY ALL"
    )
    if not (communities and old is not None):
        records = "read_parquet($files, union_by_name = true)"
        return counted.format(source=records), {"files": store.files(dataset, version)}
    wanted = ", ".join(f"$c{i}" for i in range(len(communities)))
    theirs = (
        "(SELECT * FROM read_parquet(${files}, union_by_name = true)"
        f" WHERE community_id IN ({wanted}))"
    )
    before = counted.format(source=theirs.format(files="before"))
    after = counted.format(source=theirs.format(files="files"))
    statement = (
        "SELECT column_name, month, value, sum(n)::BIGINT AS n FROM ("
        " SELECT * FROM read_parquet($old)"
        f" UNION ALL SELECT column_name, month, value, -n FROM ({before})"
        f" UNION ALL {after}"
        ") GROUP BY ALL HAVING sum(n) <> 0"
    )
    values: dict[str, Any] = {
        **{f"c{i}": c for i, c in enumerate(communities)},
        "old": old,
        "before": store.files(dataset, version - 1),
        "files": store.files(dataset, version),
    }
    return statement, values


def attach(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    version: StoreVersion,
    communities: tuple[str, str] | None,
) -> None:
    """The counts reflecting `version` on a connection, where there are some (else a city
    breakdown counts the records: queries.breakdown)."""
    for dataset, name in CITY_COUNTS.items():
        v = version.of(dataset)
        files = files_reflecting(store, name, v) if v >= 0 and not communities else None
        if files:
            counts = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
            con.execute(counts, {"files": files})  # names from CITY_COUNTS
