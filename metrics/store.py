"""The store: one Delta Lake table per dataset under `<data dir>/store/`.

Every write is one Delta commit, so a reader sees the table before or after it, never half.
Reads go through DuckDB over the Parquet files of a pinned table version (see `connect`).
What is derived from the datasets (rollups, city counts, period values), and when it is
refreshed, is metrics/derived/; this module calls it after each commit.
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
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from metrics import derived
from metrics.delta import (
    META_PREFIX,
    SQL_DIR,
    WRITER,
    commit_properties,
    load_sql,
    open_table,
    sql_code,
)
from metrics.derived import COVERS, PERIOD_DATASETS, PERIOD_VALUES, REFLECTS, ROLLUPS
from metrics.schemas import DATASETS, Dataset

__all__ = [
    "COVERS",
    "META_PREFIX",
    "PERIOD_DATASETS",
    "PERIOD_VALUES",
    "REFLECTS",
    "REPO_ROOT",
    "ROLLUPS",
    "SQL_DIR",
    "Store",
    "StoreVersion",
    "conform",
    "data_dir",
    "period_predicate",
    "sql_code",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent


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

    def rollup_path(self, name: str) -> Path:
        """Where a derived table (metrics/derived/) lives."""
        return self.tables_dir / "_rollups" / name

    def _table(self, dataset: str, version: int | None = None) -> DeltaTable | None:
        return open_table(self.table_path(dataset), version)

    def table_version(self, dataset: str) -> int:
        """The latest version of the dataset's table, -1 if there is none (whether or not
        its derived tables have caught up: `version` says that)."""
        table = self._table(dataset)
        return table.version() if table is not None else -1

    def version(self) -> StoreVersion:
        """The latest version of every table whose rollups are up to date.

        A dataset's rollups are refreshed right after each data commit; in the moment
        between the two, this still names the data version the rollups reflect, so a page
        never pairs new records with old rollups (docs/decisions/0005-scale.md).
        """
        pairs = []
        for name in DATASETS:
            current = self.table_version(name)
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
            writer_properties=WRITER,
            commit_properties=commit_properties(meta),
        )
        if refresh:
            self.refresh_rollups(dataset)
        return self._version_of(dataset)

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
            writer_properties=WRITER,
            commit_properties=commit_properties(meta),
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
        touched = {community_id} | set(pc.unique(data.column("community_id")).to_pylist())
        touched.discard(None)
        if self._table(dataset) is None:
            return self.append(dataset, data, meta)
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
                    writer_properties=WRITER,
                    commit_properties=commit_properties(meta),
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
        table.restore(version, commit_properties=commit_properties(meta))
        self.refresh_rollups(dataset)
        return self._version_of(dataset)

    def history(self, dataset: str) -> list[dict[str, Any]]:
        """Commits newest first: version, time, operation, and the metadata we attached."""
        table = self._table(dataset)
        if table is None:
            return []
        rows = []
        for entry in table.history():
            row: dict[str, Any] = {"dataset": dataset, **_commit_row(entry)}
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

    def _version_of(self, dataset: str) -> int:
        table = self._table(dataset)
        assert table is not None
        return table.version()

    # -- small side tables: settings documents and append-only logs ---------------------
    # Not datasets: uploads, the data contract and StoreVersion do not see them. Each lives
    # in <store>/_<name>/ as its own Delta table, so every change is a version with its
    # author in the commit metadata.
    def _side_path(self, name: str) -> Path:
        if not re.fullmatch(r"_[a-z]+", name):
            raise ValueError(f"not a side table name: {name!r}")
        return self.tables_dir / name

    def _side_table(self, name: str, version: int | None = None) -> DeltaTable | None:
        return open_table(self._side_path(name), version)

    def read_document(self, name: str, version: int | None = None) -> tuple[Any, int | None]:
        """A JSON document kept as a side table, and its version; (None, None) if never saved."""
        table = self._side_table(name, version)
        if table is None:
            return None, None
        # Read the Parquet file directly: DeltaTable.to_pyarrow_table aborts the process at exit.
        data = pq.read_table(table.file_uris()[0])
        return json.loads(data.column("document")[0].as_py()), table.version()

    def document_version(self, name: str) -> int | None:
        """The latest version of a document; None if it was never saved."""
        table = self._side_table(name)
        return table.version() if table is not None else None

    def write_document(
        self, name: str, document: Any, user: str, *, if_unsaved: bool = False
    ) -> int:
        """Save a JSON document as the side table's new version; returns that version.

        With `if_unsaved`, only if nobody has saved it yet (checked under the lock); the
        version in force is returned either way."""
        data = pa.table({"document": pa.array([json.dumps(document, ensure_ascii=False)])})
        with self.lock(name):
            if not (if_unsaved and self._side_table(name) is not None):
                write_deltalake(
                    str(self._side_path(name)),
                    data,
                    mode="overwrite",
                    commit_properties=commit_properties({"user": user}),
                )
            table = self._side_table(name)
        assert table is not None
        return table.version()

    def document_history(self, name: str) -> list[dict[str, Any]]:
        """A document's versions newest first: version, time, operation, our metadata."""
        table = self._side_table(name)
        return [_commit_row(entry) for entry in table.history()] if table is not None else []

    def append_rows(self, name: str, rows: pa.Table) -> None:
        """Append to a side table that is only ever appended to (the audit log)."""
        write_deltalake(str(self._side_path(name)), rows, mode="append")

    def read_rows(self, name: str) -> pa.Table | None:
        table = self._side_table(name)
        if table is None or not table.file_uris():
            return None
        return pq.read_table(table.file_uris())

    # -- derived tables (metrics/derived/) ---------------------------------------------
    def rollups_reflect(self, dataset: str) -> int | None:
        """The data version that all of a dataset's rollups reflect; None if not built."""
        return derived.rollups.reflected(self, dataset)

    def refresh_rollups(
        self,
        dataset: str,
        communities: list[str] | None = None,
        *,
        since: int | None = None,
        period_table: bool = True,
    ) -> None:
        """Bring a dataset's rollups, city counts and (unless `period_table` is False) the
        period values up to its data: `derived.refresh`."""
        derived.refresh(self, dataset, communities, since=since, period_values=period_table)

    def refresh_city_counts(
        self, dataset: str, version: int, communities: list[str] | None = None
    ) -> None:
        """The city's counts for data version `version`: `derived.city_counts.refresh`."""
        derived.city_counts.refresh(self, dataset, version, communities)

    def refresh_period_values(self, change: tuple[str, int, list[str]] | None = None) -> None:
        """The table of period values up to the rollups: `derived.period_table.refresh`."""
        derived.period_table.refresh(self, change)

    def refresh_all(self) -> None:
        """Every dataset's rollups, then the period values once (after a bulk load)."""
        derived.refresh_all(self)

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
        The monthly rollups are loaded into the connection while they are small; the rest
        stay views over their Parquet files. So does the table of period values reflecting
        exactly those versions (`period_values`, with the years it covers in
        `period_values_cover`; empty when there is none, and catalog then runs the metric
        SQL). With rollups=False (uploads' look-ups, which read records only) there are no
        rollups and no metric macros on the connection. With `communities` (first and last
        code), the rollups hold that run of communities only, without the city's rows
        (building the period values a run at a time). With `touched`, the rollups hold the
        city's rows and those communities' only (an upload's refresh of the period values).
        """
        version = version or self.version()
        con = self.bare_connection()
        for name in DATASETS:
            self._data_view(con, name, version.of(name))
        load_sql(con, "_macros.sql")
        if rollups:
            derived.attach(
                self,
                con,
                version,
                period_values=period_table,
                communities=communities,
                touched=touched,
            )
        return con

    def records_connection(self, dataset: str, version: int) -> duckdb.DuckDBPyConnection:
        """A connection holding `dataset` at `version` and every other dataset empty, with
        sql/_macros.sql: what the rollups are built from."""
        pinned = StoreVersion(tuple((n, version if n == dataset else -1) for n in DATASETS))
        return self.connect(pinned, rollups=False)

    @staticmethod
    def bare_connection() -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with no tables yet: the only place DuckDB is opened."""
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


def _commit_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A commit of a Delta table's history: version, time, operation, our metadata."""
    row: dict[str, Any] = {
        "version": entry.get("version"),
        "committed_at": dt.datetime.fromtimestamp(entry.get("timestamp", 0) / 1000, tz=dt.UTC),
        "operation": entry.get("operation"),
    }
    for key, value in entry.items():
        if key.startswith(META_PREFIX):
            row[key[len(META_PREFIX) :]] = value
    return row


def _duck_type(field_type: str) -> str:
    return {
        "int": "BIGINT",
        "float": "DOUBLE",
        "date": "DATE",
        "month": "DATE",
        "bool": "BOOLEAN",
    }.get(field_type, "VARCHAR")


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
