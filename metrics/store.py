"""The store: one Delta Lake table per dataset under `<data dir>/store/`.

Every write is one Delta commit, so a reader sees the table before or after it, never half.
Reads go through DuckDB over the Parquet files of a pinned table version (see `connect`).
Why Delta Lake and not plain Parquet files: docs/decisions/0001-delta-lake-store.md.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from metrics import period_values
from metrics.queries import BREAKDOWNS, CITY_COUNTS
from metrics.schemas import CODE_PATTERN, DATASETS, Dataset

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = Path(__file__).resolve().parent / "sql"
META_PREFIX = "govdash."
_CODE_RE = re.compile(CODE_PATTERN)

# Rollup tables per dataset, each built by the macro of the same stem in sql/_rollups.sql
# (cases_rollup <- cases_measures). Keyed (community_id, month[, days]); community_id NULL
# is the city. Each commit to one records the data version it reflects (REFLECTS).
ROLLUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "cases": {"cases_rollup": ("month",), "cases_days_rollup": ("month", "days")},
    "wishes": {"wishes_rollup": ("month",), "wishes_days_rollup": ("month", "days")},
}
REFLECTS = META_PREFIX + "reflects"
# Above this many touched communities a refresh rebuilds the whole rollup instead.
_INCREMENTAL_MAX = 50
# Rollup files: small, so that a refresh rewrites little; row groups small enough for the
# statistics to skip to one community.
_ROLLUP_FILE_BYTES = 2 << 20
# Records too: a community's records are a few hundred rows among millions; with row groups
# of 64k rows (not the writer's default of a million) the min/max statistics let a grid
# drill-down or a records page decode one small group instead of a million rows. (Naming
# the compression: WriterProperties without it writes uncompressed files, about 2.7 times
# the size of delta-rs's default, Snappy.)
_WRITER = WriterProperties(max_row_group_size=65_536, compression="SNAPPY")
# The rollups that connect() loads into memory: the monthly ones (~60 rows per community).
# The day histograms stay Parquet views: five to ten times larger, they would cost the app
# hundreds of MB at 1e7 (see docs/benchmarks.md); their files' 64k-row groups let a scan
# skip to the city's or one community's rows.
# Up to this many rows in all; past it (10^8 records: ~6.6 million monthly rows, ~1 GB in
# memory) they stay Parquet views too, so that the app keeps within its memory budget.
_IN_MEMORY = frozenset({"cases_rollup", "wishes_rollup"})
_IN_MEMORY_ROWS = 2_000_000
# The metric values per community and standard period (metrics/period_values.py), kept
# beside the rollups; each version records the data versions it reflects (REFLECTS, as
# "cases=5;wishes=3") and the years it covers (COVERS, "2021-01-01..2026-12-31").
PERIOD_VALUES = "period_values"
PERIOD_DATASETS = ("cases", "wishes")
COVERS = META_PREFIX + "covers"
# Period-value files: smaller still, as an upload rewrites the file holding its community
# and the one holding the city in every partition (kind × year: ~30), ~0.8 s at 10^8
# records with 2 MB files.
_PERIOD_VALUES_FILE_BYTES = 256 << 10
# A full build of the period values reads this many communities' rollups at a time.
_BUILD_COMMUNITIES = 4_000


def data_dir() -> Path:
    return Path(os.environ.get("GOVDASH_DATA_DIR") or REPO_ROOT / "data")


@dataclass(frozen=True)
class StoreVersion:
    """The version of every table at one moment; -1 where a table does not exist yet."""

    tables: tuple[tuple[str, int], ...]

    @property
    def token(self) -> str:
        return ",".join(f"{name}@{v}" for name, v in self.tables)

    def of(self, dataset: str) -> int:
        return dict(self.tables)[dataset]


class Store:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir()
        self.tables_dir = self.root / "store"

    # -- paths and state -------------------------------------------------------------
    def table_path(self, dataset: str) -> Path:
        if dataset not in DATASETS:
            raise KeyError(f"unknown dataset {dataset!r}")
        return self.tables_dir / dataset

    def _table(self, dataset: str, version: int | None = None) -> DeltaTable | None:
        path = self.table_path(dataset)
        if not (path / "_delta_log").is_dir():
            return None
        try:
            if version is None:
                return DeltaTable(str(path))
            return DeltaTable(str(path), version=version)
        except TableNotFoundError:
            return None

    def version(self) -> StoreVersion:
        """The latest version of every table whose rollups are up to date.

        A dataset's rollups are refreshed right after each data commit; in the moment
        between the two, this still names the data version the rollups reflect, so a page
        never pairs new records with old rollups (docs/decisions/0005-scale.md).
        """
        pairs = []
        for name in DATASETS:
            table = self._table(name)
            current = table.version() if table is not None else -1
            reflected = self.rollups_reflect(name) if current >= 0 else None
            if reflected is not None and 0 <= reflected < current:
                current = reflected
            pairs.append((name, current))
        return StoreVersion(tuple(pairs))

    def is_empty(self) -> bool:
        return all(v < 0 for _, v in self.version().tables)

    @property
    def is_demo(self) -> bool:
        return (self.tables_dir / "_demo.json").exists()

    def mark_demo(self, info: Mapping[str, Any]) -> None:
        self.tables_dir.mkdir(parents=True, exist_ok=True)
        (self.tables_dir / "_demo.json").write_text(
            json.dumps(dict(info), ensure_ascii=False, indent=1), encoding="utf-8"
        )

    @contextmanager
    def lock(self, name: str = "store") -> Iterator[None]:
        """An advisory lock between processes, for work that must not run twice at once."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{name}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- writes ------------------------------------------------------------------------
    def replace_all(
        self,
        dataset: str,
        table: pa.Table,
        meta: Mapping[str, str] | None = None,
        *,
        refresh: bool = True,
    ) -> int:
        """Overwrite the whole table in one commit; returns the new table version.

        With refresh=False (loading several tables at once, then `refresh_all`) the rollups
        are left behind as in `append`.
        """
        data = conform(DATASETS[dataset], table)
        write_deltalake(
            str(self.table_path(dataset)),
            data,
            mode="overwrite",
            schema_mode="overwrite",
            writer_properties=_WRITER,
            commit_properties=_commit_properties(meta),
        )
        if refresh:
            self.refresh_rollups(dataset)
        return self._version_of(dataset)

    def refresh_all(self) -> None:
        """Every dataset's rollups, then the period values once (after a bulk load)."""
        for dataset in DATASETS:
            self.refresh_rollups(dataset, period_table=False)
        self.refresh_period_values()

    def append(
        self,
        dataset: str,
        table: pa.Table,
        meta: Mapping[str, str] | None = None,
        *,
        refresh: bool = True,
    ) -> int:
        """Append rows as they are, in one commit (bulk loads; uploads go through upsert).

        With refresh=False the rollups are left behind until `refresh_rollups`, and
        `version()` keeps naming the data version they reflect until then.
        """
        data = conform(DATASETS[dataset], table)
        write_deltalake(
            str(self.table_path(dataset)),
            data,
            mode="append",
            writer_properties=_WRITER,
            commit_properties=_commit_properties(meta),
        )
        if refresh:
            self.refresh_rollups(dataset)
        return self._version_of(dataset)

    def upsert(
        self,
        dataset: str,
        table: pa.Table,
        *,
        community_id: str,
        replace_period: tuple[dt.date, dt.date] | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> int:
        """Insert or update one community's rows by the dataset's natural key, in one commit.

        With `replace_period` (first and last day), the community's rows of that period that
        the new data does not carry are deleted in the same commit.
        """
        spec = DATASETS[dataset]
        data = conform(spec, table)
        literal = sql_code(community_id)
        path = str(self.table_path(dataset))
        touched = {community_id} | set(pc.unique(data.column("community_id")).to_pylist())
        touched.discard(None)
        if self._table(dataset) is None:
            write_deltalake(
                path,
                data,
                mode="append",
                writer_properties=_WRITER,
                commit_properties=_commit_properties(meta),
            )
            self.refresh_rollups(dataset)
            return self._version_of(dataset)
        # The community in the predicate lets delta-rs skip files by their min/max statistics
        # instead of reading every key of the table (uploads are one community's rows, and
        # validation rejects keys held by another community).
        on = f"t.community_id = {literal} AND " + " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        for attempt in range(20):
            target = self._table(dataset)
            assert target is not None
            merger = (
                target.merge(
                    data,
                    predicate=on,
                    source_alias="s",
                    target_alias="t",
                    writer_properties=_WRITER,
                    commit_properties=_commit_properties(meta),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
            )
            if replace_period is not None:
                merger = merger.when_not_matched_by_source_delete(
                    f"t.community_id = {literal} AND "
                    + period_predicate(spec, replace_period, alias="t")
                )
            try:
                merger.execute()
                version = self._version_of(dataset)
                self.refresh_rollups(dataset, sorted(str(c) for c in touched), since=version - 1)
                return self._version_of(dataset)
            except CommitFailedError:
                # Another writer committed first; Delta's conflict check said no, so read
                # the new version and merge again.
                log.info("commit conflict on %s, retry %d", dataset, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"could not commit to {dataset} after 20 attempts")

    def rollback(self, dataset: str, version: int, meta: Mapping[str, str] | None = None) -> int:
        """Restore the table as it was at `version`; the restore is itself a new version."""
        table = self._table(dataset)
        if table is None:
            raise KeyError(f"no table {dataset}")
        table.restore(version, commit_properties=_commit_properties(meta))
        self.refresh_rollups(dataset)
        return self._version_of(dataset)

    def history(self, dataset: str) -> list[dict[str, Any]]:
        """Commits newest first: version, time, operation, and the metadata we attached."""
        table = self._table(dataset)
        if table is None:
            return []
        rows = []
        for entry in table.history():
            row: dict[str, Any] = {
                "dataset": dataset,
                "version": entry.get("version"),
                "committed_at": dt.datetime.fromtimestamp(
                    entry.get("timestamp", 0) / 1000, tz=dt.UTC
                ),
                "operation": entry.get("operation"),
            }
            for key, value in entry.items():
                if key.startswith(META_PREFIX):
                    row[key[len(META_PREFIX) :]] = value
            metrics = entry.get("operationMetrics") or {}
            for key in (
                "num_added_rows",
                "num_target_rows_inserted",
                "num_target_rows_updated",
                "num_target_rows_deleted",
            ):
                if key in metrics:
                    row[key] = metrics[key]
            rows.append(row)
        return rows

    # -- small side tables: settings documents and append-only logs ---------------------
    # Not datasets: uploads, the data contract and StoreVersion do not see them. Each lives
    # in <store>/_<name>/ as its own Delta table, so every change is a version with its
    # author in the commit metadata.
    def _side_path(self, name: str) -> Path:
        if not re.fullmatch(r"_[a-z]+", name):
            raise ValueError(f"not a side table name: {name!r}")
        return self.tables_dir / name

    def _side_table(self, name: str, version: int | None = None) -> DeltaTable | None:
        path = self._side_path(name)
        if not (path / "_delta_log").is_dir():
            return None
        try:
            return (
                DeltaTable(str(path), version=version)
                if version is not None
                else DeltaTable(str(path))
            )
        except TableNotFoundError:
            return None

    def read_document(self, name: str, version: int | None = None) -> tuple[Any, int | None]:
        """A JSON document kept as a side table, and its version; (None, None) if never saved."""
        table = self._side_table(name, version)
        if table is None:
            return None, None
        data = pq.read_table(table.file_uris()[0])
        return json.loads(data.column("document")[0].as_py()), table.version()

    def write_document(self, name: str, document: Any, user: str) -> int:
        """Save a JSON document as the side table's new version; returns that version."""
        data = pa.table({"document": pa.array([json.dumps(document, ensure_ascii=False)])})
        with self.lock(name):
            write_deltalake(
                str(self._side_path(name)),
                data,
                mode="overwrite",
                commit_properties=_commit_properties({"user": user}),
            )
            table = self._side_table(name)
        assert table is not None
        return table.version()

    def append_rows(self, name: str, rows: pa.Table) -> None:
        """Append to a side table that is only ever appended to (the audit log)."""
        write_deltalake(str(self._side_path(name)), rows, mode="append")

    def read_rows(self, name: str) -> pa.Table | None:
        table = self._side_table(name)
        if table is None or not table.file_uris():
            return None
        return pq.read_table(table.file_uris())

    # -- rollups -----------------------------------------------------------------------
    def rollup_path(self, name: str) -> Path:
        return self.tables_dir / "_rollups" / name

    def _rollup(self, name: str) -> DeltaTable | None:
        path = self.rollup_path(name)
        if not (path / "_delta_log").is_dir():
            return None
        return DeltaTable(str(path))

    def rollups_reflect(self, dataset: str) -> int | None:
        """The data version that all of a dataset's rollups reflect; None if not built."""
        reflected = []
        for name in ROLLUPS.get(dataset, {}):
            table = self._rollup(name)
            if table is None:
                return None
            value = table.history(limit=1)[0].get(REFLECTS)
            if value is None:
                return None
            reflected.append(int(value))
        return min(reflected) if reflected else None

    def _rollup_files(self, name: str, data_version: int) -> list[str] | None:
        """The files of the rollup version that reflects `data_version`, if there is one."""
        table = self._rollup(name)
        if table is None:
            return None
        for entry in table.history(limit=100):
            if entry.get(REFLECTS) == str(data_version):
                return DeltaTable(str(self.rollup_path(name)), version=entry["version"]).file_uris()
        return None

    def refresh_rollups(
        self,
        dataset: str,
        communities: list[str] | None = None,
        *,
        since: int | None = None,
        period_table: bool = True,
    ) -> None:
        """Bring a dataset's rollups up to its data, in one commit per rollup table.

        With `communities` and `since` (the data version before the commit that touched
        them), only those communities' rows and the city's are rewritten, provided the
        rollups reflect exactly `since`; otherwise (first build, replace_all, rollback, a
        concurrent writer or a refresh that never finished) the rollups are rebuilt whole.
        """
        if dataset not in ROLLUPS or self._table(dataset) is None:
            return
        with self.lock(f"rollup-{dataset}"):
            reflected = self.rollups_reflect(dataset)
            incremental = (
                communities is not None
                and since is not None
                and reflected == since
                and len(communities) <= _INCREMENTAL_MAX
            )
            target = since + 1 if incremental and since is not None else self._version_of(dataset)
            if reflected is not None and reflected >= target:
                self.refresh_city_counts(dataset, reflected)
                return
            con = self._bare_connection()
            try:
                for name in DATASETS:
                    self._data_view(con, name, target if name == dataset else -1)
                _load_sql(con, "_macros.sql", "_rollups.sql")
                for name, keys in ROLLUPS[dataset].items():
                    if incremental and communities is not None:
                        self._refresh_some(con, name, keys, communities, target)
                    else:
                        self._rebuild(con, name, keys, target)
            finally:
                con.close()
        self.refresh_city_counts(dataset, target, communities if incremental else None)
        if dataset in PERIOD_DATASETS and period_table:
            change = (dataset, target, communities) if incremental and communities else None
            self.refresh_period_values(change)

    # -- city counts -------------------------------------------------------------------
    def refresh_city_counts(
        self, dataset: str, version: int, communities: list[str] | None = None
    ) -> None:
        """The city's record counts per month and value of each breakdown column, for data
        version `version`, in one commit (table <dataset>_city_counts, REFLECTS as the
        rollups). With `communities` (that commit touched only them) and counts for the
        version before, the new counts are the old ones less those communities' records
        before and plus theirs now; otherwise they are counted from every record.
        """
        name = CITY_COUNTS.get(dataset)
        if name is None or version < 0:
            return
        columns = BREAKDOWNS[dataset]
        date = DATASETS[dataset].period_field
        with self.lock(f"counts-{dataset}"):
            if self._rollup_files(name, version) is not None:
                return
            old = self._rollup_files(name, version - 1) if communities else None
            con = self._bare_connection()
            try:
                # Identifiers from the contract and queries.BREAKDOWNS; every value is bound.
                picked = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
                counted = (
                    "SELECT column_name, month, value, count(*)::BIGINT AS n"
                    f" FROM (SELECT date_trunc('month', {date})::DATE AS month, {picked}"
                    " FROM {source}) UNPIVOT INCLUDE NULLS"
                    f" (value FOR column_name IN ({', '.join(columns)})) GROUP BY ALL"
                )
                records = "read_parquet($files, union_by_name = true)"
                if communities and old is not None:
                    wanted = ", ".join(f"$c{i}" for i in range(len(communities)))
                    theirs = (
                        "(SELECT * FROM read_parquet(${files}, union_by_name = true)"
                        f" WHERE community_id IN ({wanted}))"
                    )
                    params = {f"c{i}": c for i, c in enumerate(communities)}
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
                        **params,
                        "old": old,
                        "before": self.files(dataset, version - 1),
                        "files": self.files(dataset, version),
                    }
                else:
                    statement = counted.format(source=records)
                    values = {"files": self.files(dataset, version)}
                if not values["files"]:
                    return
                data = con.sql(statement + " ORDER BY ALL", params=values).to_arrow_table()
            finally:
                con.close()
            write_deltalake(
                str(self.rollup_path(name)),
                data,
                mode="overwrite",
                schema_mode="overwrite",
                writer_properties=_WRITER,
                commit_properties=_commit_properties({"reflects": str(version)}),
            )

    def _rebuild(
        self, con: duckdb.DuckDBPyConnection, name: str, keys: tuple[str, ...], v: int
    ) -> None:
        # Rollup names and keys come from ROLLUPS, never from input.
        fresh = f"CREATE OR REPLACE TEMP TABLE _fresh AS {_build_sql(name, None)}"
        con.execute(fresh)
        data = con.sql(_with_city_sql("_fresh", keys)).to_arrow_table()
        write_deltalake(
            str(self.rollup_path(name)),
            data,
            mode="overwrite",
            schema_mode="overwrite",
            # Many files, each a run of communities: an upload's refresh then rewrites the
            # few holding its communities and the city, not the whole rollup.
            target_file_size=_ROLLUP_FILE_BYTES,
            writer_properties=_WRITER,
            commit_properties=_commit_properties({"reflects": str(v)}),
        )

    def _refresh_some(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        keys: tuple[str, ...],
        communities: list[str],
        v: int,
    ) -> None:
        literals = [sql_code(c) for c in communities]
        old = self._rollup(name)
        assert old is not None
        params = {f"c{i}": c for i, c in enumerate(communities)}
        fresh = f"CREATE OR REPLACE TEMP TABLE _fresh AS {_build_sql(name, len(communities))}"
        con.execute(fresh, params)
        # The city rows anew: every measure is a sum over the communities, so they are the
        # old city rows less the touched communities' old rows plus their fresh ones. Only
        # those rows are read (the file statistics skip the rest). A key left at zero in
        # every measure is dropped, as a rebuild would not have it: no community's row is
        # ever all zeros (each holds at least one event), so no city row is either.
        measures = [c for c in con.sql("SELECT * FROM _fresh").columns if c not in keys]
        measures.remove("community_id")
        by = ", ".join(keys)
        wanted = ", ".join(f"$c{i}" for i in range(len(communities)))
        negated = ", ".join(f"-{m} AS {m}" for m in measures)  # names from the rollup SQL
        difference = (
            "CREATE OR REPLACE TEMP TABLE _all AS"
            " SELECT * FROM read_parquet($files) WHERE community_id IS NULL"
            f" UNION ALL BY NAME SELECT {by}, {negated} FROM read_parquet($files)"
            f" WHERE community_id IN ({wanted})"
            " UNION ALL BY NAME SELECT * EXCLUDE (community_id) FROM _fresh"
        )
        con.execute(difference, {"files": old.file_uris(), **params})
        nonzero = " OR ".join(f"{m} <> 0" for m in measures)
        city_rows = (
            f"SELECT * FROM ({_with_city_sql('_all', keys, city_only=True)})"
            f" WHERE {nonzero} ORDER BY {by}"
        )
        city = con.sql(city_rows).to_arrow_table()
        ordered = f"SELECT * FROM _fresh ORDER BY community_id, {', '.join(keys)}"
        rows = con.sql(ordered)
        data = pa.concat_tables([rows.to_arrow_table(), city.select(rows.columns)])
        predicate = f"community_id IS NULL OR community_id IN ({', '.join(literals)})"
        write_deltalake(
            str(self.rollup_path(name)),
            data,
            mode="overwrite",
            predicate=predicate,
            target_file_size=_ROLLUP_FILE_BYTES,
            writer_properties=_WRITER,
            commit_properties=_commit_properties({"reflects": str(v)}),
        )

    # -- period values -------------------------------------------------------------------
    def _period_reflects(self, version: StoreVersion) -> str:
        return ";".join(f"{d}={version.of(d)}" for d in PERIOD_DATASETS)

    def _period_values_at(self, version: StoreVersion) -> tuple[list[str], str] | None:
        """The files and cover of the period-values version reflecting `version`, if any."""
        path = self.rollup_path(PERIOD_VALUES)
        if not (path / "_delta_log").is_dir():
            return None
        wanted = self._period_reflects(version)
        table = DeltaTable(str(path))
        for entry in table.history(limit=100):
            if entry.get(REFLECTS) == wanted and entry.get(COVERS):
                at = DeltaTable(str(path), version=entry["version"])
                if not _holds_every_metric(at):
                    return None  # a metric joined the catalog since: rebuilt by a refresh
                return at.file_uris(), str(entry[COVERS])
        return None

    def refresh_period_values(self, change: tuple[str, int, list[str]] | None = None) -> None:
        """Bring the table of period values up to the rollups, in one commit.

        `change` is (dataset, version, communities): the commit that made that version
        touched only those communities. When the table reflects the store exactly but for
        that commit, and still covers the data's years, only those communities' rows and
        the city's are recomputed; otherwise the whole table is rebuilt, a run of
        communities at a time. Skipped while a dataset with records has no rollups yet (a
        bulk load builds them one dataset after the other).
        """
        with self.lock("rollup-period-values"):
            version = self.version()
            present = [d for d in PERIOD_DATASETS if version.of(d) >= 0]
            if not present or any(self.rollups_reflect(d) is None for d in present):
                return
            if self._period_values_at(version) is not None:
                return
            covers = self._period_values_behind(version, change)
            if (
                covers is not None
                and change is not None
                and self._refresh_touched(version, covers, change[2])
            ):
                return
            self._rebuild_period_values(version)

    def _refresh_touched(self, version: StoreVersion, covers: str, touched: list[str]) -> bool:
        """Recompute the city's rows and the touched communities' (one query per kind of
        period, on a connection holding only their rollup rows) and overwrite just those;
        False if the data now reach past the covered years (a rebuild is due)."""
        con = self.connect(version, period_table=False, touched=touched)
        try:
            span = period_values.cover(con)
            if span is None or covers != period_values.cover_code(span):
                return False
            data = period_values.every_rows(con, span, len(touched))
        finally:
            con.close()
        literals = ", ".join(sql_code(c) for c in touched)
        predicate = f"community_id IS NULL OR community_id IN ({literals})"
        self._write_period_values(data, version, span, predicate)
        return True

    def _rebuild_period_values(self, version: StoreVersion) -> None:
        """The whole table anew: at once while small, else a run of communities at a time."""
        con = self.connect(version, period_table=False)
        try:
            span = period_values.cover(con)
            if span is None:
                return
            communities = self._rollup_communities(con)
            if len(communities) <= _BUILD_COMMUNITIES:
                data = period_values.every_rows(con, span, len(communities))
                self._write_period_values(data, version, span, None)
                return
            parts = [period_values.city_rows(con, span)]
        finally:
            con.close()
        for i in range(0, len(communities), _BUILD_COMMUNITIES):
            run = communities[i : i + _BUILD_COMMUNITIES]
            con = self.connect(version, period_table=False, communities=(run[0], run[-1]))
            try:
                parts.append(period_values.every_rows(con, span, len(run)))
            finally:
                con.close()
        self._write_period_values(pa.concat_tables(parts), version, span, None)

    @staticmethod
    def _rollup_communities(con: duckdb.DuckDBPyConnection) -> list[str]:
        rows = con.execute(
            "SELECT DISTINCT community_id FROM ("
            " SELECT community_id FROM cases_rollup UNION ALL"
            " SELECT community_id FROM wishes_rollup)"
            " WHERE community_id IS NOT NULL ORDER BY 1"
        ).fetchall()
        return [row[0] for row in rows]

    def _period_values_behind(
        self, version: StoreVersion, change: tuple[str, int, list[str]] | None
    ) -> str | None:
        """The cover of the newest period-values version if it reflects `version` but for
        the one commit `change` names; None otherwise."""
        path = self.rollup_path(PERIOD_VALUES)
        if change is None or not (path / "_delta_log").is_dir():
            return None
        dataset, target, _ = change
        if version.of(dataset) != target:
            return None
        table = DeltaTable(str(path))
        if not _holds_every_metric(table):
            return None
        last = table.history(limit=1)[0]
        expected = {d: version.of(d) - (d == dataset) for d in PERIOD_DATASETS}
        if last.get(REFLECTS) != ";".join(f"{d}={v}" for d, v in expected.items()):
            return None
        covers = last.get(COVERS)
        return str(covers) if covers else None

    def _write_period_values(
        self,
        data: pa.Table,
        version: StoreVersion,
        span: tuple[dt.date, dt.date],
        predicate: str | None,
    ) -> None:
        meta = {
            "reflects": self._period_reflects(version),
            "covers": period_values.cover_code(span),
        }
        # By community with the city last within each partition, so that the statistics of
        # each row group skip to the city's or one community's rows.
        data = data.sort_by(
            [("kind", "ascending"), ("year", "ascending"), ("community_id", "ascending")]
        )
        write_deltalake(
            str(self.rollup_path(PERIOD_VALUES)),
            data,
            mode="overwrite",
            predicate=predicate,
            schema_mode=None if predicate else "overwrite",
            partition_by=["kind", "year"],
            target_file_size=_PERIOD_VALUES_FILE_BYTES,
            writer_properties=_WRITER,
            commit_properties=_commit_properties(meta),
        )

    def _version_of(self, dataset: str) -> int:
        table = self._table(dataset)
        assert table is not None
        return table.version()

    # -- reads -------------------------------------------------------------------------
    def files(self, dataset: str, version: int) -> list[str]:
        table = self._table(dataset, version)
        return table.file_uris() if table is not None else []

    def connect(
        self,
        version: StoreVersion | None = None,
        *,
        rollups: bool = True,
        period_table: bool = True,
        communities: tuple[str, str] | None = None,
        touched: list[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per dataset, pinned to `version`.

        Views read the Parquet files of that table version only, so a commit that lands
        while a page is drawing is not seen until the next `connect`. The rollups are read
        from the rollup version that reflects exactly those data versions; should there be
        none (a store written before rollups existed), they are computed from the records.
        The monthly rollups are loaded into the connection while they are small (see
        _IN_MEMORY); the rest stay views over their Parquet files. So does the table of
        period values reflecting exactly those versions (`period_values`, with the years it
        covers in `period_values_cover`; empty when there is none, and catalog then runs the
        metric SQL). With rollups=False (uploads' look-ups, which read records only) there
        are no rollups and no metric macros on the connection. With `communities` (first
        and last code), the rollups hold that run of communities only, without the city's
        rows (building the period values a run at a time). With `touched`, the rollups hold
        the city's rows and those communities' only (an upload's refresh of the period
        values).
        """
        version = version or self.version()
        con = self._bare_connection()
        for name in DATASETS:
            self._data_view(con, name, version.of(name))
        if not rollups:
            _load_sql(con, "_macros.sql")
            return con
        _load_sql(con, "_macros.sql", "_rollups.sql")
        found: dict[str, list[str]] = {}
        for dataset, tables in ROLLUPS.items():
            for name, keys in tables.items():
                v = version.of(dataset)
                files = self._rollup_files(name, v) if v >= 0 else None
                if files:
                    found[name] = files
                    continue
                if v >= 0:
                    log.warning("no rollup %s for %s@%d: reading the records", name, dataset, v)
                rows = _with_city_sql(_build_sql(name, None), keys, sub=True)
                view = f"CREATE VIEW {name} AS {rows}"  # names from ROLLUPS
                con.execute(view)
        in_memory = {n: f for n, f in found.items() if n in _IN_MEMORY}
        if sum(_parquet_rows(f) for f in in_memory.values()) > _IN_MEMORY_ROWS:
            in_memory = {}
        for name, files in found.items():
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
            elif name in in_memory:
                # A table, not a view over Parquet: every page query reads it, and a
                # table in memory costs no file reads and no footers per query. Rows
                # keep the order they were written in, by community with the city's
                # together (see _with_city_sql), so zone maps skip to the scope's rows.
                table = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
                con.execute(table, {"files": files})
            else:
                con.read_parquet(files).create_view(name)
        _load_sql(con, "_rollup_reads.sql")
        for dataset, name in CITY_COUNTS.items():
            v = version.of(dataset)
            files = self._rollup_files(name, v) if v >= 0 and not communities else None
            if files:  # else a city breakdown counts the records (queries.breakdown)
                counts = f"CREATE TABLE {name} AS SELECT * FROM read_parquet($files)"
                con.execute(counts, {"files": files})  # names from CITY_COUNTS
        con.execute("CREATE TABLE period_values_cover (first DATE, last DATE)")
        at = self._period_values_at(version) if period_table and communities is None else None
        if at is not None:
            self._attach_period_values(con, *at)
        return con

    @staticmethod
    def _attach_period_values(
        con: duckdb.DuckDBPyConnection, files: list[str], covers: str
    ) -> None:
        """The period values on a connection: the whole table as a view, its files by
        partition (catalog reads a partition's files directly), the city's rows in memory
        (a few hundred rows every city-wide KPI card and trend reads), and the years it
        covers."""
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

    @staticmethod
    def _bare_connection() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        # Delta's Parquet files never change once written, so their footers can be kept: a
        # drill-down into one community otherwise re-reads the footer of every file of the
        # table (hundreds at 10^8 records) on each query.
        con.execute("SET parquet_metadata_cache = true")
        con.execute("SET enable_progress_bar = false")  # no bars in the server's log
        return con

    def _data_view(self, con: duckdb.DuckDBPyConnection, name: str, version: int) -> None:
        spec = DATASETS[name]
        files = self.files(name, version) if version >= 0 else []
        if files:
            rel = con.read_parquet(files)
            # Cast to the contract's columns so a table written before an optional
            # column existed still has it.
            present = set(rel.columns)
            cols = ", ".join(
                f.name if f.name in present else f"NULL::{_duck_type(f.type)} AS {f.name}"
                for f in spec.fields
            )
            rel.project(cols).create_view(name)
        else:
            # A real (empty) table, not con.register: registered objects are not seen
            # by the con.cursor() that catalog.evaluate queries through.
            con.from_arrow(spec.arrow_schema.empty_table()).create(name)


def _holds_every_metric(table: DeltaTable) -> bool:
    """Whether a period-values version has exactly the columns the catalog asks for now."""
    names = [field.name for field in table.schema().fields]
    return sorted(names) == sorted(period_values.schema().names)


def _parquet_rows(files: list[str]) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _load_sql(con: duckdb.DuckDBPyConnection, *files: str) -> None:
    for file in files:
        con.execute((SQL_DIR / file).read_text(encoding="utf-8"))


def _build_sql(name: str, communities: int | None) -> str:
    """A rollup's community rows from the records: all, or those of $c0, $c1, ..."""
    measures = name.removesuffix("_rollup") + "_measures"
    select = f"SELECT unit_id AS community_id, * EXCLUDE (unit_id) FROM {measures}"
    if communities is None:
        return f"{select}('community', NULL, NULL)"
    return " UNION ALL ".join(f"{select}('community', $c{i}, NULL)" for i in range(communities))


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


def _duck_type(field_type: str) -> str:
    return {
        "int": "BIGINT",
        "float": "DOUBLE",
        "date": "DATE",
        "month": "DATE",
        "bool": "BOOLEAN",
    }.get(field_type, "VARCHAR")


def _commit_properties(meta: Mapping[str, str] | None) -> CommitProperties:
    custom = {META_PREFIX + k: str(v) for k, v in (meta or {}).items()}
    return CommitProperties(custom_metadata=custom)


def sql_code(value: str) -> str:
    """A community or grid code as a SQL literal, for Delta predicates (which take text).

    Codes are restricted to CODE_PATTERN by the contract, so no quote can reach here.
    """
    if not _CODE_RE.match(value):
        raise ValueError(f"not a valid code: {value!r}")
    return f"'{value}'"


def period_predicate(spec: Dataset, period: tuple[dt.date, dt.date], alias: str) -> str:
    if spec.period_field is None:
        raise ValueError(f"{spec.name} has no period")
    start, end = period
    column = f"{alias}.{spec.period_field}"
    if spec.field(spec.period_field).type == "quarter":
        quarters = sorted(
            {f"{d.year}Q{(d.month - 1) // 3 + 1}" for d in (start, end)}
            | {
                f"{y}Q{q}"
                for y in range(start.year, end.year + 1)
                for q in range(1, 5)
                if start <= dt.date(y, 3 * q - 2, 1) <= end
            }
        )
        return f"{column} IN (" + ", ".join(f"'{q}'" for q in quarters) + ")"
    return f"{column} >= '{start.isoformat()}' AND {column} <= '{end.isoformat()}'"


def conform(spec: Dataset, table: pa.Table) -> pa.Table:
    """The table with exactly the contract's columns, in order and type; missing → null."""
    columns = []
    for f in spec.arrow_schema:
        if f.name in table.column_names:
            column = table.column(f.name)
            if column.type != f.type:
                column = pc.cast(column, f.type)
            columns.append(column)
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=spec.arrow_schema)
