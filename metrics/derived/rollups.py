"""The rollup tables: per community and month (and days, for the medians), the additive
measures the case and wish metrics are made of, with the city's rows (community_id NULL)
summed over the communities'; and the same measures per grid within each community, for
the drill-downs into a community's grids (no city rows). sql/_rollups.sql says how each is
computed from the records; why they exist: docs/decisions/0005-scale.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from metrics import location
from metrics.delta import META_PREFIX, WRITER, commit_properties, load_sql, open_table, sql_code

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion

log = logging.getLogger(__name__)

# Rollup tables per dataset, each built by the macro of the same stem in sql/_rollups.sql
# (cases_rollup <- cases_measures). Keyed (community_id, month[, ...]); community_id NULL
# is the city. Those keyed by grid_id first (cases_grid_rollup <- cases_grid_measures) are
# the same measures per grid, keyed (community_id, grid_id, ...), and have no city rows
# (`has_city_rows`): the city's sum by grid would repeat every row. Each commit to one
# records the data version it reflects (REFLECTS).
ROLLUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "cases": {
        "cases_rollup": ("month",),
        "cases_days_rollup": ("month", "days", "received_month"),
        "cases_grid_rollup": ("grid_id", "month"),
        "cases_grid_days_rollup": ("grid_id", "month", "days", "received_month"),
    },
    "wishes": {
        "wishes_rollup": ("month",),
        "wishes_days_rollup": ("month", "days"),
        "wishes_cohort_rollup": ("month", "registered_on"),
        "wishes_grid_rollup": ("grid_id", "month"),
        "wishes_grid_days_rollup": ("grid_id", "month", "days"),
        "wishes_grid_cohort_rollup": ("grid_id", "month", "registered_on"),
    },
}
REFLECTS = META_PREFIX + "reflects"
# The shape of the rollups (their columns, sql/_rollups.sql), recorded with each commit:
# a version of another shape is never read, but rebuilt by the next refresh (until then a
# connection computes the rollup from the records). Raise it when a rollup's columns change.
FORMAT = META_PREFIX + "format"
ROLLUP_FORMAT = "2"  # 2: as of the period's end (cases by month received, wish cohorts)
_ROLLUP_NAMES = frozenset(n for tables in ROLLUPS.values() for n in tables)
_KEYS = {name: keys for tables in ROLLUPS.values() for name, keys in tables.items()}
# Above this many touched communities a refresh rebuilds the whole rollup instead.
INCREMENTAL_MAX = 50
# Rollup files: small, so that a refresh rewrites little; row groups small enough for the
# statistics to skip to one community.
_ROLLUP_FILE_BYTES = 2 << 20
# The rollups that a connection loads into memory: the monthly ones (~60 rows per
# community). The day histograms stay Parquet views: five to ten times larger, they would
# cost the app hundreds of MB at 1e7 (see docs/benchmarks.md); their files' 64k-row groups
# let a scan skip to the city's or one community's rows.
# Up to this many rows in all; past it (10^8 records: ~6.6 million monthly rows, ~1 GB in
# memory) they stay Parquet views too, so that the app keeps within its memory budget.
_IN_MEMORY = frozenset({"cases_rollup", "wishes_rollup"})
_IN_MEMORY_ROWS = 2_000_000


def has_city_rows(name: str) -> bool:
    """Whether rollup `name` holds the city's rows (community_id NULL) beside the
    communities': all but the grid rollups."""
    return _KEYS[name][0] != "grid_id"


def reflected(store: Store, dataset: str) -> int | None:
    """The data version that all of a dataset's rollups reflect; None if not built."""
    versions = []
    for name in ROLLUPS.get(dataset, {}):
        table = open_table(store.rollup_path(name))
        if table is None:
            return None
        last = table.history(limit=1)[0]
        value = last.get(REFLECTS)
        if value is None or last.get(FORMAT) != ROLLUP_FORMAT:
            return None
        versions.append(int(value))
    return min(versions) if versions else None


def files_reflecting(store: Store, name: str, data_version: int) -> list[str] | None:
    """The files of the version of derived table `name` that reflects `data_version`."""
    table = open_table(store.rollup_path(name))
    if table is None:
        return None
    for entry in table.history(limit=100):
        shaped = name not in _ROLLUP_NAMES or entry.get(FORMAT) == ROLLUP_FORMAT
        if entry.get(REFLECTS) == str(data_version) and shaped:
            return DeltaTable(str(store.rollup_path(name)), version=entry["version"]).file_uris()
    return None


def commit(store: Store, name: str, data: pa.Table, meta: dict[str, str], **options: Any) -> None:
    """Overwrite (all or, with a predicate, part of) derived table `name` in one commit,
    its metadata saying which data it reflects."""
    write_deltalake(
        str(store.rollup_path(name)),
        data,
        mode="overwrite",
        writer_properties=WRITER,
        commit_properties=commit_properties(meta),
        **options,
    )


def build(store: Store, dataset: str, version: int, communities: list[str] | None) -> None:
    """The dataset's rollups for its data `version`, one commit per rollup table: whole, or
    with `communities` (the commit that made `version` touched only them, and the rollups
    reflect the version before) only their rows and the city's."""
    con = store.records_connection(dataset, version)
    try:
        load_sql(con, "_rollups.sql")
        for name, keys in ROLLUPS[dataset].items():
            if communities is not None:
                _refresh_some(store, con, name, keys, communities, version)
            else:
                _rebuild(store, con, name, version)
    finally:
        con.close()


def _rebuild(store: Store, con: duckdb.DuckDBPyConnection, name: str, v: int) -> None:
    # Rollup names and keys come from ROLLUPS, never from input.
    fresh = f"CREATE OR REPLACE TEMP TABLE _fresh AS {_build_sql(name, None)}"
    con.execute(fresh)
    data = con.sql(_complete_sql(name, "_fresh")).to_arrow_table()
    # Many files, each a run of communities: an upload's refresh then rewrites the few
    # holding its communities and the city, not the whole rollup.
    meta = {"reflects": str(v), "format": ROLLUP_FORMAT}
    commit(store, name, data, meta, schema_mode="overwrite", target_file_size=_ROLLUP_FILE_BYTES)


def _refresh_some(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    name: str,
    keys: tuple[str, ...],
    communities: list[str],
    v: int,
) -> None:
    literals = [sql_code(c) for c in communities]
    old = open_table(store.rollup_path(name))
    assert old is not None
    params = {f"c{i}": c for i, c in enumerate(communities)}
    fresh = f"CREATE OR REPLACE TEMP TABLE _fresh AS {_build_sql(name, len(communities))}"
    con.execute(fresh, params)
    ordered = f"SELECT * FROM _fresh ORDER BY community_id, {', '.join(keys)}"
    rows = con.sql(ordered)
    data = rows.to_arrow_table()
    predicate = f"community_id IN ({', '.join(literals)})"
    if has_city_rows(name):
        city = _city_rows(con, keys, old.file_uris(), params)
        data = pa.concat_tables([data, city.select(rows.columns)])
        predicate = f"community_id IS NULL OR {predicate}"
    meta = {"reflects": str(v), "format": ROLLUP_FORMAT}
    commit(store, name, data, meta, predicate=predicate, target_file_size=_ROLLUP_FILE_BYTES)


def _city_rows(
    con: duckdb.DuckDBPyConnection, keys: tuple[str, ...], files: list[str], params: dict[str, str]
) -> pa.Table:
    """The city rows anew after a refresh of the communities in `params` (their fresh rows
    in _fresh, the rollup's old rows in `files`).

    Every measure is a sum over the communities, so they are the old city rows less the
    touched communities' old rows plus their fresh ones. Only those rows are read (the file
    statistics skip the rest). A key left at zero in every measure is dropped, as a rebuild
    would not have it: no community's row is ever all zeros (each holds at least one
    event), so no city row is either."""
    measures = [c for c in con.sql("SELECT * FROM _fresh").columns if c not in keys]
    measures.remove("community_id")
    by = ", ".join(keys)
    wanted = ", ".join(f"${p}" for p in params)
    negated = ", ".join(f"-{m} AS {m}" for m in measures)  # names from the rollup SQL
    difference = (
        "CREATE OR REPLACE TEMP TABLE _all AS"
        " SELECT * FROM read_parquet($files) WHERE community_id IS NULL"
        f" UNION ALL BY NAME SELECT {by}, {negated} FROM read_parquet($files)"
        f" WHERE community_id IN ({wanted})"
        " UNION ALL BY NAME SELECT * EXCLUDE (community_id) FROM _fresh"
    )
    con.execute(difference, {"files": files, **params})
    nonzero = " OR ".join(f"{m} <> 0" for m in measures)
    city_rows = (
        f"SELECT * FROM ({_with_city_sql('_all', keys, city_only=True)})"
        f" WHERE {nonzero} ORDER BY {by}"
    )
    return con.sql(city_rows).to_arrow_table()


def attach(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    version: StoreVersion,
    communities: tuple[str, str] | None,
    touched: list[str] | None,
) -> None:
    """The rollups on a connection, as `Store.connect` describes: the versions reflecting
    `version` (computed from the records where there are none), all of them, a run of
    `communities`, or the city's and the `touched` communities' rows only."""
    found: dict[str, list[str]] = {}
    for dataset, tables in ROLLUPS.items():
        v = version.of(dataset)
        for name in tables:
            files = files_reflecting(store, name, v) if v >= 0 else None
            if files:
                found[name] = files
                continue
            if v >= 0 and files is None:  # ([]: it reflects an empty ledger, nothing to read)
                log.warning("no rollup %s for %s@%d: reading the records", name, dataset, v)
            rows = _complete_sql(name, _build_sql(name, None), sub=True)
            view = f"CREATE VIEW {name} AS {rows}"  # names from ROLLUPS
            con.execute(view)
    in_memory = {n: f for n, f in found.items() if n in _IN_MEMORY}
    if sum(_parquet_rows(f) for f in in_memory.values()) > _IN_MEMORY_ROWS:
        in_memory = {}
    for name, files in found.items():
        if not has_city_rows(name):
            # The grid rollups: only a drill-down into one community reads them, a few
            # hundred rows that the row-group statistics find; the period values never do.
            con.read_parquet(files).create_view(name)
        elif communities is not None or touched is not None:
            _load_part(con, name, files, communities, touched)
        elif name in in_memory:
            # A table, not a view over Parquet: every page query reads it, and a table in
            # memory costs no file reads and no footers per query. Rows keep the order
            # they were written in, by community with the city's together (see
            # _with_city_sql), so zone maps skip to the scope's rows.
            table = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
            con.execute(table, {"files": files})  # names from ROLLUPS, never from input
        else:
            con.read_parquet(files).create_view(name)


def _load_part(
    con: duckdb.DuckDBPyConnection,
    name: str,
    files: list[str],
    communities: tuple[str, str] | None,
    touched: list[str] | None,
) -> None:
    """A rollup's rows of a run of communities (no city), or the city's and `touched`'s."""
    # Names from ROLLUPS, never from input.
    if communities is not None:
        run = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
        run += " WHERE community_id BETWEEN $lo AND $hi"
        con.execute(run, {"files": files, "lo": communities[0], "hi": communities[1]})
    elif touched is not None:
        city = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
        con.execute(city + " WHERE community_id IS NULL", {"files": files})
        # One bound parameter per community: an IN list the Parquet scan can prune by.
        wanted = ", ".join(f"$c{i}" for i in range(len(touched)))
        theirs = f"INSERT INTO {name} SELECT * FROM read_parquet($files)"
        theirs += f" WHERE community_id IN ({wanted})"
        con.execute(theirs, {"files": files, **{f"c{i}": c for i, c in enumerate(touched)}})


def _parquet_rows(files: list[str]) -> int:
    return sum(location.parquet_rows(f) for f in files)


def _build_sql(name: str, communities: int | None) -> str:
    """A rollup's community rows from the records: all, or those of $c0, $c1, ..."""
    measures = name.removesuffix("_rollup") + "_measures"
    select = f"SELECT unit_id AS community_id, * EXCLUDE (unit_id) FROM {measures}"
    if communities is None:
        return f"{select}('community', NULL, NULL)"
    return " UNION ALL ".join(f"{select}('community', $c{i}, NULL)" for i in range(communities))


def _complete_sql(name: str, source: str, *, sub: bool = False) -> str:
    """Rollup `name`'s rows in the order they are written: the community rows of `source`
    followed by the city's where the rollup has them (`has_city_rows`)."""
    keys = _KEYS[name]
    if has_city_rows(name):
        return _with_city_sql(source, keys, sub=sub)
    rows = f"({source})" if sub else source
    return f"SELECT * FROM {rows} AS r ORDER BY community_id, {', '.join(keys)}"


def _with_city_sql(
    source: str, keys: tuple[str, ...], *, city_only: bool = False, sub: bool = False
) -> str:
    """Community rows of `source` followed by the city's (community_id NULL) summed over them."""
    rows = f"({source})" if sub else source
    by = ", ".join(keys)
    city = (
        f"SELECT NULL::VARCHAR AS community_id, {by},"
        f" CAST(sum(COLUMNS(* EXCLUDE (community_id, {by}))) AS BIGINT)"
        f" FROM {rows} AS r GROUP BY {by}"
    )
    if city_only:
        return f"{city} ORDER BY {by}"
    return (
        f"SELECT * FROM {rows} AS r UNION ALL BY NAME {city} ORDER BY community_id NULLS LAST, {by}"
    )


def recompute_sql(name: str) -> str:
    """Rollup `name`'s rows computed from the records (on a connection with the records and
    sql/_rollups.sql): what `python -m metrics check` compares the stored rollup with."""
    return _complete_sql(name, _build_sql(name, None), sub=True)
