"""How the store's Delta tables are written and opened, by the datasets and the tables
derived from them alike (metrics/store.py, metrics/derived/): the writer's settings, our
commit metadata (with the periods a commit's rows cover), rows conformed to the contract,
code literals and period ranges for Delta predicates, and the SQL files a DuckDB connection
over them loads, and what a failed write is. (DuckDB itself is opened in one place:
`Store.bare_connection`.)
"""

from __future__ import annotations

import datetime as dt
import errno
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, WriterProperties
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from metrics import periods
from metrics.i18n import Refusal
from metrics.location import Location
from metrics.schemas import CODE_PATTERN, Dataset

SQL_DIR = Path(__file__).resolve().parent / "sql"
META_PREFIX = "govdash."
_CODE_RE = re.compile(CODE_PATTERN)

# Records too: a community's records are a few hundred rows among millions; with row groups
# of 64k rows (not the writer's default of a million) the min/max statistics let a grid
# drill-down or a records page decode one small group instead of a million rows. (Naming
# the compression: WriterProperties without it writes uncompressed files, about 2.7 times
# the size of delta-rs's default, Snappy.)
WRITER = WriterProperties(max_row_group_size=65_536, compression="SNAPPY")


def commit_properties(meta: Mapping[str, str] | None) -> CommitProperties:
    """Our metadata on a commit, each key under META_PREFIX (what `history` reads back),
    with the moment by the app's one clock (`at`): what submission deadlines and "数据截至"
    are judged by, the same as Delta's own timestamp unless GOVDASH_NOW stands in for it."""
    custom = {META_PREFIX + k: str(v) for k, v in (meta or {}).items()}
    custom.setdefault(META_PREFIX + "at", periods.now().isoformat())
    return CommitProperties(custom_metadata=custom)


def open_table(path: Location, version: int | None = None) -> DeltaTable | None:
    """The Delta table at `path` (at `version`, else the latest); None if there is none."""
    # On S3 asking first would be one more request: deltalake's own answer is enough.
    if isinstance(path, Path) and not (path / "_delta_log").is_dir():
        return None
    try:
        if version is None:
            return DeltaTable(str(path))
        return DeltaTable(str(path), version=version)
    except TableNotFoundError:
        return None


def sql_code(value: str) -> str:
    """A community or grid code as a SQL literal, for Delta predicates (which take text).

    Codes are restricted to CODE_PATTERN by the contract, so no quote can reach here.
    """
    if not _CODE_RE.match(value):
        raise ValueError(f"not a valid code: {value!r}")
    return f"'{value}'"


def duck_type(field_type: str) -> str:
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


def periods_of(spec: Dataset, table: pa.Table) -> list[str]:
    """The reporting periods `table`'s rows cover, sorted: months (2025-10) for a dataset
    whose period is a date or a month, quarters (2025Q3) for a quarterly one; [] for a
    dataset without a period (the registers)."""
    if spec.period_field is None or table.num_rows == 0:
        return []
    column = table.column(spec.period_field)
    if spec.field(spec.period_field).type == "quarter":
        values = pc.unique(column)
    else:
        values = pc.unique(pc.strftime(pc.cast(column, pa.timestamp("s")), format="%Y-%m"))
    return sorted(str(v) for v in values.to_pylist() if v is not None)


def with_periods(spec: Dataset, data: pa.Table, meta: Mapping[str, str] | None) -> dict[str, str]:
    """The commit's metadata with the periods its rows cover, unless the caller said them."""
    out = dict(meta or {})
    out.setdefault("periods", ",".join(periods_of(spec, data)))
    return out


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


def load_sql(con: duckdb.DuckDBPyConnection, *files: str) -> None:
    """Run files of sql/ (the macros) on the connection."""
    for file in files:
        con.execute((SQL_DIR / file).read_text(encoding="utf-8"))


class StoreError(Refusal):
    """A write the store refused or could not finish, said in the reader's language."""


# How deltalake (Rust's object_store) and DuckDB report a failed write: no exception class
# of their own, only the operating system's words inside the message.
_FULL_WORDS = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122")
_IO_WORDS = (
    "LocalFileSystem error",
    "os error",
    "Input/output error",
    "Permission denied",
    "Read-only file system",
    "Generic S3 error",  # object_store's words for a failed request to object storage
)


def storage_error(exc: BaseException) -> tuple[Literal["full", "failed"], str] | None:
    """("full", detail) for a disk that is full, ("failed", detail) for another failed read
    or write of the disk, None when `exc` is something else (a bug, a refusal)."""
    if isinstance(exc, OSError):
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        return ("full" if full else "failed"), str(exc)
    if isinstance(exc, (DeltaError, duckdb.IOException)) and not isinstance(exc, CommitFailedError):
        text = str(exc)
        if any(w in text for w in _FULL_WORDS):
            return "full", text
        if any(w in text for w in _IO_WORDS):
            return "failed", text
    return None
