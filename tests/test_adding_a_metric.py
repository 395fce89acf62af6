"""The steps of README's "Adding a metric", checked: a metric that misses one fails here
with a message naming the file and the step.

The checks read metrics/catalog.yaml and metrics/sql/ as text (and, for the rollup
measures, ask DuckDB which columns the rollup reads give), so the last test can run them
on a copy with every step missed once and see each message.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from metrics.catalog import CATALOG_PATH, SQL_DIR
from metrics.derived import ROLLUPS
from metrics.schemas import DATASETS
from metrics.store import Store
from tests import test_metrics

REQUIRED_KEYS = (
    "label",
    "description",
    "unit",
    "format",
    "direction",
    "additive",
    "dataset",
    "source",
    "grid",
)
# Where the hand-computed values are: the name of each table in tests/test_metrics.py.
EXPECTED: dict[str, dict[str, Any]] = {
    "CITY_TOTALS": test_metrics.CITY_TOTALS,
    "BY_COMMUNITY": test_metrics.BY_COMMUNITY,
}
# A rollup read, as a metric query calls it (sql/_rollup_reads.sql), and the alias it is
# given; a table or CTE a query reads.
_READ_RE = re.compile(r"\b([a-z_]+)\(\$by, \$community_id, \$grid_id\)(?:\s+AS\s+([a-z_]+))?")
_TABLE_RE = re.compile(r"\b(?:FROM|JOIN)\s+([a-z_]+)\b(?!\s*\()", re.IGNORECASE)


def step(n: int) -> str:
    return f"(README: Adding a metric, step {n})"


def entries(catalog_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    return loaded


def metric_files(sql_dir: Path) -> dict[str, str]:
    """Each metric's SQL, comments left out, by name."""
    return {
        p.stem: re.sub(r"--[^\n]*", "", p.read_text(encoding="utf-8"))
        for p in sorted(sql_dir.glob("*.sql"))
        if not p.stem.startswith("_")
    }


def files_and_entries(catalog: dict[str, Any], sql: dict[str, str]) -> list[str]:
    missing = [
        f"metrics/sql/{name}.sql is missing {step(1)}" for name in catalog if name not in sql
    ]
    extra = [
        f"metrics/catalog.yaml has no entry for metrics/sql/{name}.sql {step(2)}"
        for name in sql
        if name not in catalog
    ]
    return missing + extra


def incomplete_entries(catalog: dict[str, Any]) -> list[str]:
    return [
        f"metrics/catalog.yaml: {name} has no {key} key {step(2)}"
        for name, entry in catalog.items()
        for key in REQUIRED_KEYS
        if key not in (entry or {})
    ]


def missing_expectations(catalog: dict[str, Any], expected: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"tests/test_metrics.py: {table} has no hand-computed value for {name} {step(4)}"
        for name in catalog
        for table, values in expected.items()
        if name not in values
    ]


def source_read(code: str) -> str:
    """What a metric's SQL reads: rollup (the rollup reads and nothing else), records."""
    reads = {m.group(1) for m in _READ_RE.finditer(code)}
    tables = set(_TABLE_RE.findall(code))
    return "rollup" if reads and not tables & set(DATASETS) else "records"


def wrong_sources(catalog: dict[str, Any], sql: dict[str, str]) -> list[str]:
    """Declarations that disagree with the SQL: the app takes the source from catalog.yaml
    and never reads it off the SQL, so this is where the two are held together."""
    out = []
    for name, entry in catalog.items():
        declared = (entry or {}).get("source")
        if name in sql and declared is not None and declared != source_read(sql[name]):
            out.append(
                f"metrics/catalog.yaml: {name} says source: {declared}, but "
                f"metrics/sql/{name}.sql reads {source_read(sql[name])} {step(2)}"
            )
    return out


def rollup_connection(sql_dir: Path) -> duckdb.DuckDBPyConnection:
    """Empty datasets, the rollups as views over their *_measures macros (as a store whose
    rollups are not built yet has them), and the rollup reads: all from `sql_dir`."""
    con = Store.bare_connection()
    for name, spec in DATASETS.items():
        con.from_arrow(spec.arrow_schema.empty_table()).create(name)
    con.execute((sql_dir / "_macros.sql").read_text(encoding="utf-8"))
    con.execute((sql_dir / "_rollups.sql").read_text(encoding="utf-8"))
    for tables in ROLLUPS.values():
        for rollup in tables:
            measures = rollup.removesuffix("_rollup") + "_measures"
            view = (
                f"CREATE VIEW {rollup} AS SELECT unit_id AS community_id, * EXCLUDE (unit_id)"
                f" FROM {measures}('community', NULL, NULL)"
            )
            try:
                con.execute(view)
            except duckdb.Error as error:
                raise AssertionError(
                    f"metrics/sql/_rollups.sql: {measures} does not run ({error}); the"
                    " branches of its UNION ALL are positional: a new measure needs a value"
                    f" in every branch, in the same place {step(3)}"
                ) from None
    con.execute((sql_dir / "_rollup_reads.sql").read_text(encoding="utf-8"))
    return con


def unknown_measures(sql: dict[str, str], con: duckdb.DuckDBPyConnection) -> list[str]:
    """Columns a metric takes from a rollup read (alias.column) that the read does not give."""
    out = []
    for name, code in sql.items():
        for match in _READ_RE.finditer(code):
            read, alias = match.groups()
            if alias is None:
                continue
            given = con.sql(f"SELECT * FROM {read}('community', NULL, NULL)").columns
            for column in sorted(set(re.findall(rf"\b{alias}\.([a-z_]+)", code)) - set(given)):
                out.append(
                    f"metrics/sql/{name}.sql reads {alias}.{column}, which {read}(...) does not"
                    f" give: add the measure to metrics/sql/_rollups.sql {step(3)}"
                )
    return out


def problems(catalog_path: Path, sql_dir: Path, expected: dict[str, dict[str, Any]]) -> list[str]:
    catalog, sql = entries(catalog_path), metric_files(sql_dir)
    con = rollup_connection(sql_dir)
    try:
        return [
            *files_and_entries(catalog, sql),
            *incomplete_entries(catalog),
            *wrong_sources(catalog, sql),
            *unknown_measures(sql, con),
            *missing_expectations(catalog, expected),
        ]
    finally:
        con.close()


def test_every_metric_takes_every_step() -> None:
    assert problems(CATALOG_PATH, SQL_DIR, EXPECTED) == []


def test_a_missed_step_is_named(tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    catalog = entries(CATALOG_PATH)
    base = catalog["wishes_claimed"]
    # Step 1 missed: an entry without its query.
    catalog["wishes_new"] = dict(base)
    # Step 2 missed: a query without its entry; an entry without its source; a wrong source.
    (sql_dir / "wishes_orphan.sql").write_text((sql_dir / "wishes_claimed.sql").read_text())
    del catalog["wishes_claimed"]["source"]
    catalog["cases_received"] = {**catalog["cases_received"], "source": "records"}
    # Step 3 missed: a query reading a measure the rollups do not have.
    claimed = (sql_dir / "wishes_claimed.sql").read_text()
    (sql_dir / "wishes_claimed.sql").write_text(claimed.replace("r.claimed", "r.reclaimed"))
    catalog_path = tmp_path / "catalog.yaml"
    catalog_path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    assert problems(catalog_path, sql_dir, EXPECTED) == [
        f"metrics/sql/wishes_new.sql is missing {step(1)}",
        f"metrics/catalog.yaml has no entry for metrics/sql/wishes_orphan.sql {step(2)}",
        f"metrics/catalog.yaml: wishes_claimed has no source key {step(2)}",
        "metrics/catalog.yaml: cases_received says source: records, but"
        f" metrics/sql/cases_received.sql reads rollup {step(2)}",
        "metrics/sql/wishes_claimed.sql reads r.reclaimed, which wishes_monthly(...) does not"
        f" give: add the measure to metrics/sql/_rollups.sql {step(3)}",
        f"tests/test_metrics.py: CITY_TOTALS has no hand-computed value for wishes_new {step(4)}",
        f"tests/test_metrics.py: BY_COMMUNITY has no hand-computed value for wishes_new {step(4)}",
    ]
    # Step 3 half done: a measure added to one branch of the UNION ALL and not the others.
    rollups = (sql_dir / "_rollups.sql").read_text(encoding="utf-8")
    broken = rollups.replace("0 AS young_open\n", "0 AS young_open,\n 0 AS reclaimed\n", 1)
    assert broken != rollups
    (sql_dir / "_rollups.sql").write_text(broken, encoding="utf-8")
    with pytest.raises(AssertionError, match=r"(?s)cases_measures does not run .*step 3\)"):
        problems(catalog_path, sql_dir, EXPECTED)
