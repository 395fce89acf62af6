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
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from metrics.schemas import CODE_PATTERN, DATASETS, Dataset

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = Path(__file__).resolve().parent / "sql"
META_PREFIX = "govdash."
_CODE_RE = re.compile(CODE_PATTERN)


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
        pairs = []
        for name in DATASETS:
            table = self._table(name)
            pairs.append((name, table.version() if table is not None else -1))
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
        self, dataset: str, table: pa.Table, meta: Mapping[str, str] | None = None
    ) -> int:
        """Overwrite the whole table in one commit; returns the new table version."""
        data = conform(DATASETS[dataset], table)
        write_deltalake(
            str(self.table_path(dataset)),
            data,
            mode="overwrite",
            schema_mode="overwrite",
            commit_properties=_commit_properties(meta),
        )
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
        if self._table(dataset) is None:
            write_deltalake(path, data, mode="append", commit_properties=_commit_properties(meta))
            return self._version_of(dataset)
        on = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        for attempt in range(20):
            target = self._table(dataset)
            assert target is not None
            merger = (
                target.merge(
                    data,
                    predicate=on,
                    source_alias="s",
                    target_alias="t",
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
    def _version_of(self, dataset: str) -> int:
        table = self._table(dataset)
        assert table is not None
        return table.version()

    # -- reads -------------------------------------------------------------------------
    def files(self, dataset: str, version: int) -> list[str]:
        table = self._table(dataset, version)
        return table.file_uris() if table is not None else []

    def connect(self, version: StoreVersion | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per dataset, pinned to `version`.

        Views read the Parquet files of that table version only, so a commit that lands
        while a page is drawing is not seen until the next `connect`.
        """
        version = version or self.version()
        con = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        for name, spec in DATASETS.items():
            files = self.files(name, version.of(name)) if version.of(name) >= 0 else []
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
                columns = ", ".join(f"{f.name} {_duck_type(f.type)}" for f in spec.fields)
                con.execute(f"CREATE TABLE {name} ({columns})")
        con.execute((SQL_DIR / "_macros.sql").read_text(encoding="utf-8"))
        return con


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
