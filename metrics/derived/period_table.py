"""The table of period values: each rollup metric's value per community and standard
period, computed by metrics/period_values.py, kept here beside the rollups
(docs/decisions/0006-period-values.md). Each version records the data versions it reflects
(REFLECTS, as "cases=5;wishes=3") and the years it covers (COVERS,
"2021-01-01..2026-12-31").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from metrics import period_values
from metrics.delta import META_PREFIX, open_table, sql_code
from metrics.derived import rollups
from metrics.derived.rollups import REFLECTS

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion

PERIOD_VALUES = "period_values"
PERIOD_DATASETS = ("cases", "wishes")
COVERS = META_PREFIX + "covers"
# Period-value files: smaller still, as an upload rewrites the file holding its community
# and the one holding the city in every partition (kind × year: ~30), ~0.8 s at 10^8
# records with 2 MB files.
_PERIOD_VALUES_FILE_BYTES = 256 << 10
# A full build of the period values reads this many communities' rollups at a time.
_BUILD_COMMUNITIES = 4_000
# A change: (dataset, version, communities): the commit that made that version touched only
# those communities.
Change = tuple[str, int, list[str]]


def _reflects(version: StoreVersion) -> str:
    return ";".join(f"{d}={version.of(d)}" for d in PERIOD_DATASETS)


def files_at(store: Store, version: StoreVersion) -> tuple[list[str], str] | None:
    """The files and cover of the period-values version reflecting `version`, if any."""
    path = store.rollup_path(PERIOD_VALUES)
    if not (path / "_delta_log").is_dir():
        return None
    wanted = _reflects(version)
    table = DeltaTable(str(path))
    for entry in table.history(limit=100):
        if entry.get(REFLECTS) == wanted and entry.get(COVERS):
            at = DeltaTable(str(path), version=entry["version"])
            if not _holds_every_metric(at):
                return None  # a metric joined the catalog since: rebuilt by a refresh
            return at.file_uris(), str(entry[COVERS])
    return None


def refresh(store: Store, change: Change | None = None) -> None:
    """Bring the table of period values up to the rollups, in one commit.

    When the table reflects the store exactly but for the commit `change` names, and still
    covers the data's years, only its communities' rows and the city's are recomputed;
    otherwise the whole table is rebuilt, a run of communities at a time. Skipped while a
    dataset with records has no rollups yet (a bulk load builds them one dataset after the
    other).
    """
    with store.lock("rollup-period-values"):
        version = _reflected_version(store)
        present = [d for d in PERIOD_DATASETS if version.of(d) >= 0]
        if not present or any(rollups.reflected(store, d) is None for d in present):
            return
        if files_at(store, version) is not None:
            return
        covers = _behind(store, version, change)
        if (
            covers is not None
            and change is not None
            and _refresh_touched(store, version, covers, change[2])
        ):
            return
        _rebuild(store, version)


def _reflected_version(store: Store) -> StoreVersion:
    """The store's version, but for a dataset whose rollups are behind its data (another
    dataset's writer between its commit and its refresh) the version they reflect: the
    period values are built from rollups, never from records, and that writer's recovery
    brings them up to its commit."""
    from metrics.store import StoreVersion  # the store imports this package

    pairs = []
    for name, data in store.version().tables:
        reflected = rollups.reflected(store, name) if name in PERIOD_DATASETS else None
        pairs.append((name, reflected if reflected is not None and reflected < data else data))
    return StoreVersion(tuple(pairs))


def _refresh_touched(store: Store, version: StoreVersion, covers: str, touched: list[str]) -> bool:
    """Recompute the city's rows and the touched communities' (one query per kind of
    period, on a connection holding only their rollup rows) and overwrite just those;
    False if the data now reach past the covered years (a rebuild is due)."""
    con = store.connect(version, period_table=False, touched=touched)
    try:
        span = period_values.cover(con)
        if span is None or covers != period_values.cover_code(span):
            return False
        data = period_values.every_rows(con, span, len(touched))
    finally:
        con.close()
    literals = ", ".join(sql_code(c) for c in touched)
    predicate = f"community_id IS NULL OR community_id IN ({literals})"
    _write(store, data, version, span, predicate)
    return True


def _rebuild(store: Store, version: StoreVersion) -> None:
    """The whole table anew."""
    built = compute(store, version)
    if built is not None:
        _write(store, built[0], version, built[1], None)


def compute(store: Store, version: StoreVersion) -> tuple[pa.Table, tuple[dt.date, dt.date]] | None:
    """Every row of the table for `version`, and the years it covers, from the rollups: at
    once while small, else a run of communities at a time. None when there are no events."""
    con = store.connect(version, period_table=False)
    try:
        span = period_values.cover(con)
        if span is None:
            return None
        communities = _rollup_communities(con)
        if len(communities) <= _BUILD_COMMUNITIES:
            return period_values.every_rows(con, span, len(communities)), span
        parts = [period_values.city_rows(con, span)]
    finally:
        con.close()
    for i in range(0, len(communities), _BUILD_COMMUNITIES):
        run = communities[i : i + _BUILD_COMMUNITIES]
        con = store.connect(version, period_table=False, communities=(run[0], run[-1]))
        try:
            parts.append(period_values.every_rows(con, span, len(run)))
        finally:
            con.close()
    return pa.concat_tables(parts), span


def _rollup_communities(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT community_id FROM ("
        " SELECT community_id FROM cases_rollup UNION ALL"
        " SELECT community_id FROM wishes_rollup)"
        " WHERE community_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def _behind(store: Store, version: StoreVersion, change: Change | None) -> str | None:
    """The cover of the newest period-values version if it reflects `version` but for
    the one commit `change` names; None otherwise."""
    if change is None:
        return None
    dataset, target, _ = change
    if version.of(dataset) != target:
        return None
    table = open_table(store.rollup_path(PERIOD_VALUES))
    if table is None or not _holds_every_metric(table):
        return None
    last = table.history(limit=1)[0]
    expected = {d: version.of(d) - (d == dataset) for d in PERIOD_DATASETS}
    if last.get(REFLECTS) != ";".join(f"{d}={v}" for d, v in expected.items()):
        return None
    covers = last.get(COVERS)
    return str(covers) if covers else None


def _write(
    store: Store,
    data: pa.Table,
    version: StoreVersion,
    span: tuple[dt.date, dt.date],
    predicate: str | None,
) -> None:
    meta = {"reflects": _reflects(version), "covers": period_values.cover_code(span)}
    # By community with the city last within each partition, so that the statistics of
    # each row group skip to the city's or one community's rows.
    data = data.sort_by(
        [("kind", "ascending"), ("year", "ascending"), ("community_id", "ascending")]
    )
    rollups.commit(
        store,
        PERIOD_VALUES,
        data,
        meta,
        predicate=predicate,
        schema_mode=None if predicate else "overwrite",
        partition_by=["kind", "year"],
        target_file_size=_PERIOD_VALUES_FILE_BYTES,
    )


def _holds_every_metric(table: DeltaTable) -> bool:
    """Whether a period-values version has exactly the columns the catalog asks for now."""
    names = [field.name for field in table.schema().fields]
    return sorted(names) == sorted(period_values.schema().names)


def attach(con: duckdb.DuckDBPyConnection, at: tuple[list[str], str] | None) -> None:
    """The period values (`files_at`) on a connection: the whole table as a view, its files
    by partition (catalog reads a partition's files directly), the city's rows in memory (a
    few hundred rows every city-wide KPI card and trend reads), and the years it covers
    (table period_values_cover, empty when there is no table: catalog then runs the SQL)."""
    con.execute("CREATE TABLE period_values_cover (first DATE, last DATE)")
    if at is None:
        return
    files, covers = at
    con.read_parquet(files, hive_partitioning=True).create_view(PERIOD_VALUES)
    partition = [re.search(r"kind=(\w+)/year=(\d+)/", f) for f in files]
    listing = pa.table(
        {
            "kind": [m[1] if m else None for m in partition],
            "year": pa.array([int(m[2]) if m else None for m in partition], pa.int32()),
            "file": files,
        }
    )
    con.from_arrow(listing).create("period_values_files")
    city = "CREATE TABLE period_values_city AS SELECT * FROM period_values"
    con.execute(city + " WHERE community_id IS NULL")
    first, last = covers.split("..")
    con.execute(
        "INSERT INTO period_values_cover VALUES ($first, $last)",
        {"first": dt.date.fromisoformat(first), "last": dt.date.fromisoformat(last)},
    )
