"""How the store's Delta tables are written and opened, by the datasets and the tables
derived from them alike (metrics/store.py, metrics/derived/): the writer's settings, our
commit metadata, code literals for Delta predicates, and the SQL files a DuckDB connection
over them loads. (DuckDB itself is opened in one place: `Store.bare_connection`.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import duckdb
from deltalake import CommitProperties, DeltaTable, WriterProperties
from deltalake.exceptions import TableNotFoundError

from metrics.schemas import CODE_PATTERN

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
    """Our metadata on a commit, each key under META_PREFIX (what `history` reads back)."""
    custom = {META_PREFIX + k: str(v) for k, v in (meta or {}).items()}
    return CommitProperties(custom_metadata=custom)


def open_table(path: Path, version: int | None = None) -> DeltaTable | None:
    """The Delta table at `path` (at `version`, else the latest); None if there is none."""
    if not (path / "_delta_log").is_dir():
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


def load_sql(con: duckdb.DuckDBPyConnection, *files: str) -> None:
    """Run files of sql/ (the macros) on the connection."""
    for file in files:
        con.execute((SQL_DIR / file).read_text(encoding="utf-8"))
