"""The store: one Delta Lake table per dataset, in a directory of its own kind.

A data directory ($GOVDASH_DATA_DIR, default data/) holds up to two stores, never mixed:
`store/`, the real one, made by `python -m metrics init`, and `demo/`, written by the demo
builder. What a store is, real or demo, is recorded in its `_store.json` when it is created
and read from there only (docs/decisions/0008-store-kinds-and-recovery.md); the demo takes
no uploads, rollbacks or edits.

Every write is one Delta commit, and the commit is the write: a reader sees the table before
or after it, never half. What follows from a commit (rollups, city counts, period values,
its audit entry) is metrics/derived/'s: `derived.recovery.writing` holds the dataset's lock
around each write and brings all of it up to the data before and after the commit, and
readers run the same recovery on open. This class holds the Delta tables only.
Reads go through DuckDB over the Parquet files of a pinned table version (see `connect`).
Why Delta Lake and not plain Parquet files: docs/decisions/0001-delta-lake-store.md. The
data directory may be s3://bucket/prefix: metrics/location.py, decision 0018.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from metrics import derived, location, locks, tracking
from metrics.delta import (
    META_PREFIX,
    SQL_DIR,
    WRITER,
    StoreError,
    commit_properties,
    conform,
    duck_type,
    load_sql,
    open_table,
    period_predicate,
    periods_of,
    sql_code,
    with_periods,
)
from metrics.derived import COVERS, PERIOD_DATASETS, PERIOD_VALUES, REFLECTS, ROLLUPS, recovery
from metrics.derived.audit_log import Intent
from metrics.location import Location, S3Path
from metrics.schemas import DATASETS, Dataset

__all__ = [
    "COVERS",
    "DEMO_DIR",
    "META_PREFIX",
    "PERIOD_DATASETS",
    "PERIOD_VALUES",
    "REFLECTS",
    "REPO_ROOT",
    "ROLLUPS",
    "SQL_DIR",
    "STORE_DIR",
    "Kind",
    "Store",
    "StoreError",
    "StoreVersion",
    "conform",
    "data_dir",
    "period_predicate",
    "periods_of",
    "sql_code",
]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
STORE_DIR = "store"  # the real store, under the data directory
DEMO_DIR = "demo"  # the demo store, beside it
KIND_FILE = "_store.json"
FORMAT = 1  # of _store.json
Kind = Literal["real", "demo"]


def data_dir() -> Location:
    """$GOVDASH_DATA_DIR: a directory, or s3://bucket/prefix (metrics/location.py)."""
    return location.at(os.environ.get("GOVDASH_DATA_DIR") or REPO_ROOT / "data")


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
    def __init__(self, root: Path | S3Path | str | None = None, directory: str = STORE_DIR) -> None:
        """The store in `root`/`directory` (default: the real store of the data directory;
        `Store(root, DEMO_DIR)` is the demo's)."""
        self.root = location.at(root) if root is not None else data_dir()
        self.tables_dir = self.root / directory
        self._kind: Kind | None = None

    # -- what the store is -------------------------------------------------------------
    @property
    def kind(self) -> Kind | None:
        """The store's kind, "real" or "demo", as recorded when it was created; None if
        there is no store here. A store made before kinds were recorded is judged once and
        recorded: the demo only if it carries the demo's marker and every commit of every
        dataset is the demo builder's, real otherwise (real data never shows as the demo)."""
        if self._kind is None:
            recorded = self.info().get("kind")
            if recorded in ("real", "demo"):
                self._kind = recorded
            elif not recorded and any(self.table_version(d) >= 0 for d in DATASETS):
                self._kind = self._judge_legacy()
        return self._kind

    def exists(self) -> bool:
        return self.kind is not None

    @property
    def is_demo(self) -> bool:
        return self.kind == "demo"

    def info(self) -> dict[str, Any]:
        """The store's `_store.json` ({} when there is none)."""
        try:
            raw = json.loads((self.tables_dir / KIND_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return raw if isinstance(raw, dict) else {}

    def create(self, kind: Kind, user: str, **info: Any) -> None:
        """Record what this store is, once: StoreError if it already is something."""
        from metrics.periods import now  # periods is light, but keeps store imports lean

        document = {
            "kind": kind,
            "format": FORMAT,
            "created_at": now().isoformat(timespec="seconds"),
            "created_by": user,
            **info,
        }
        text = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        if not location.put_if_absent(self.tables_dir / KIND_FILE, text):  # create once
            raise StoreError("store_exists", path=str(self.tables_dir))
        self._kind = kind
        log.info("store %s created as %s by %s", self.tables_dir, kind, user)

    def _judge_legacy(self) -> Kind:
        marked = (self.tables_dir / "_demo.json").exists()
        users = {str(c.get("user")) for d in DATASETS for c in self.history(d)}
        kind: Kind = "demo" if marked and users <= {"demo"} else "real"
        try:
            self.create(kind, "recorded on first open", legacy=True, commit_users=sorted(users))
            log.warning("store %s had no kind recorded: recorded as %s", self.tables_dir, kind)
        except (StoreError, OSError) as exc:  # another process recorded it, or read-only
            log.info("kind of %s not recorded here: %s", self.tables_dir, exc)
            kind = self.info().get("kind", kind)
        return kind

    def _refuse_demo(self) -> None:
        if self.is_demo:
            raise StoreError("store_demo_read_only")

    def _claim(self, meta: Mapping[str, str] | None) -> None:
        """A store written without `init` (tests, the benchmark) is real: say so first."""
        if self.kind is None:
            try:
                self.create("real", str((meta or {}).get("user") or "unknown"))
            except StoreError:
                self._kind = None  # another writer created it meanwhile: read what it is

    # -- paths, locks and versions -----------------------------------------------------
    def table_path(self, dataset: str) -> Location:
        if dataset not in DATASETS:
            raise KeyError(f"unknown dataset {dataset!r}")
        return self.tables_dir / dataset

    def rollup_path(self, name: str) -> Location:
        """Where a derived table (metrics/derived/) lives."""
        return self.tables_dir / "_rollups" / name

    def _table(self, dataset: str, version: int | None = None) -> DeltaTable | None:
        return open_table(self.table_path(dataset), version)

    def lock(self, name: str) -> AbstractContextManager[None]:
        """An exclusive lock between processes and threads (re-entrant in its thread), for
        work that must not run twice at once: metrics/locks.py."""
        return locks.held(self._lock_path(name))

    def try_lock(self, name: str) -> AbstractContextManager[bool]:
        """The lock if nobody holds it; yields whether it is held."""
        return locks.held_if_free(self._lock_path(name))

    def _lock_path(self, name: str) -> Location:
        return self.root / f".{self.tables_dir.name}.{name}.lock"

    def table_version(self, dataset: str) -> int:
        """The latest version of the dataset's table, -1 if there is none."""
        table = self._table(dataset)
        return table.version() if table is not None else -1

    def version(self) -> StoreVersion:
        """The latest data version of every dataset. What follows from it (rollups, period
        values, audit entries) is in place once recovery has run: `derived.recovery.ensure`,
        which readers call on open."""
        return StoreVersion(tuple((name, self.table_version(name)) for name in DATASETS))

    def is_empty(self) -> bool:
        return all(v < 0 for _, v in self.version().tables)

    # -- writes ------------------------------------------------------------------------
    # Each is one Delta commit inside `recovery.writing`: the dataset's lock, recovery
    # before and after. With `intent`, the commit's audit intent is written before it.
    def replace_all(
        self,
        dataset: str,
        table: pa.Table,
        meta: Mapping[str, str] | None = None,
        *,
        refresh: bool = True,
        intent: Intent | None = None,
    ) -> int:
        """Overwrite the whole table in one commit; returns the new table version.

        With refresh=False (loading several tables at once, then `refresh_all`) what
        follows from the commit is left behind until then.
        """
        return self._write(dataset, table, "overwrite", meta, refresh, intent)

    def append(
        self,
        dataset: str,
        table: pa.Table,
        meta: Mapping[str, str] | None = None,
        *,
        refresh: bool = True,
        intent: Intent | None = None,
    ) -> int:
        """Append rows as they are, in one commit (bulk loads; uploads go through upsert)."""
        return self._write(dataset, table, "append", meta, refresh, intent)

    def _write(
        self,
        dataset: str,
        table: pa.Table,
        mode: Literal["overwrite", "append"],
        meta: Mapping[str, str] | None,
        refresh: bool,
        intent: Intent | None,
    ) -> int:
        spec = DATASETS[dataset]
        data = conform(spec, table)
        self._claim(meta)
        with recovery.writing(
            self,
            dataset,
            with_periods(spec, data, meta),
            intent=intent,
            settle_after=refresh,
            settle_before=refresh or intent is not None,  # a bulk load settles at its end
        ) as commit_meta:
            self._commit(dataset, data, mode, commit_meta)
            return self.table_version(dataset)

    def _commit(
        self,
        dataset: str,
        data: pa.Table,
        mode: Literal["overwrite", "append"],
        meta: Mapping[str, str],
    ) -> None:
        """One Delta commit of `data`: the whole table, or rows appended."""
        write_deltalake(
            str(self.table_path(dataset)),
            data,
            mode=mode,
            schema_mode="overwrite" if mode == "overwrite" else None,
            writer_properties=WRITER,
            commit_properties=commit_properties(meta),
        )

    def upsert(
        self,
        dataset: str,
        table: pa.Table,
        *,
        community_id: str,
        replace_period: tuple[dt.date, dt.date] | None = None,
        meta: Mapping[str, str] | None = None,
        intent: Intent | None = None,
    ) -> int:
        """Insert or update one community's rows by the dataset's natural key, in one commit.

        With `replace_period` (first and last day), the community's rows of that period that
        the new data does not carry are deleted in the same commit. The commit names the
        communities it touched (`touched`), so recovery refreshes only their derived rows.
        """
        self._refuse_demo()
        self._claim(meta)
        spec = DATASETS[dataset]
        data = conform(spec, table)
        touched = {community_id} | set(pc.unique(data.column("community_id")).to_pylist())
        touched.discard(None)
        meta = {**with_periods(spec, data, meta), "touched": ",".join(sorted(map(str, touched)))}
        with recovery.writing(self, dataset, meta, intent=intent) as commit_meta:
            if self._table(dataset) is None:
                self._commit(dataset, data, "append", commit_meta)
            else:
                self._merge(spec, data, community_id, replace_period, commit_meta)
            return self.table_version(dataset)

    def _merge(
        self,
        spec: Dataset,
        data: pa.Table,
        community_id: str,
        replace_period: tuple[dt.date, dt.date] | None,
        meta: Mapping[str, str],
    ) -> None:
        literal = sql_code(community_id)
        # The community in the predicate lets delta-rs skip files by their min/max statistics
        # instead of reading every key of the table (uploads are one community's rows, and
        # the keys another community holds are refused before the commit).
        on = f"t.community_id = {literal} AND " + " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        for attempt in range(20):
            target = self._table(spec.name)
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
                return
            except CommitFailedError:
                # A writer outside the dataset's lock (a bulk load) committed first; Delta's
                # conflict check said no, so read the new version and merge again.
                log.info("commit conflict on %s, retry %d", spec.name, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"could not commit to {spec.name} after 20 attempts")

    def rollback(
        self,
        dataset: str,
        version: int,
        meta: Mapping[str, str] | None = None,
        *,
        intent: Intent | None = None,
    ) -> int:
        """Restore the table as it was at `version`; the restore is itself a new version."""
        self._refuse_demo()
        with recovery.writing(self, dataset, meta, intent=intent) as commit_meta:
            table = self._table(dataset)
            if table is None:
                raise KeyError(f"no table {dataset}")
            table.restore(version, commit_properties=commit_properties(commit_meta))
            return self.table_version(dataset)

    def refresh_all(self) -> None:
        """Bring everything that follows from the commits up to the data (after a bulk load
        or a metric change): `derived.recovery.recover`."""
        recovery.recover(self)

    def history(self, dataset: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits newest first (the newest `limit`): version, time, operation, and the
        metadata we attached; `periods` is a list of the reporting periods the commit's rows
        cover (months as 2025-10, quarters as 2025Q3; [] for the registers), None for a
        commit that did not record them (a rollback, a store older than the field)."""
        table = self._table(dataset)
        if table is None:
            return []
        rows = []
        for entry in table.history(limit):
            row: dict[str, Any] = {"dataset": dataset, **_commit_row(entry)}
            if "periods" in row:
                row["periods"] = [p for p in str(row["periods"]).split(",") if p]
            else:
                row["periods"] = None
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
    def _side_path(self, name: str) -> Location:
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
        data = location.read_parquet(table.file_uris()[0])
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
        version in force is returned either way. The demo store takes no edits (StoreError),
        only a first version saved `if_unsaved` (the shipped targets, frozen when first used).
        """
        if not if_unsaved:
            self._refuse_demo()
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

    def append_rows(self, name: str, rows: pa.Table, meta: Mapping[str, str] | None = None) -> None:
        """Append to a side table that is only ever appended to (the audit log, follow-up
        items). Columns it gained since it was made are added (older rows: null)."""
        write_deltalake(
            str(self._side_path(name)),
            rows,
            mode="append",
            schema_mode="merge",
            commit_properties=commit_properties(meta),
        )

    def read_rows(self, name: str) -> pa.Table | None:
        table = self._side_table(name)
        if table is None or not table.file_uris():
            return None
        return location.read_parquet(table.file_uris())

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
        tracking.attach(self, con)  # the follow-up items, latest (followup_closure_rate)
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
        location.attach(con)  # s3:// URIs, when the store is on object storage
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
                f.name if f.name in present else f"NULL::{duck_type(f.type)} AS {f.name}"
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
    at = row.pop("at", None)  # the app's clock at the commit (delta.commit_properties)
    if at:
        try:
            row["committed_at"] = dt.datetime.fromisoformat(str(at)).astimezone(dt.UTC)
        except ValueError:
            log.warning("commit %s: unreadable time %r", row["version"], at)
    return row
