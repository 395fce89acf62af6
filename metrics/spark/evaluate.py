"""Catalog metrics on Spark: each metric's own SQL (catalog._query_sql: the rollup reads'
twins chosen as DuckDB's catalog chooses them), turned into Spark SQL by translate.py,
its values bound as Spark's named parameters. One query for many metrics, one DOUBLE
column each: what catalog.evaluate_wide gives on DuckDB.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from metrics import catalog
from metrics.catalog import CITY, Bucket, By, Scope
from metrics.spark import translate
from metrics.spark.session import to_arrow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def wide_sql(names: list[str], scope: Scope, by: By) -> tuple[dict[str, str], str]:
    """The metrics as DuckDB SQL: the calls they share (view name -> the call, as catalog's
    common table expressions) and one statement giving rows (period_start, unit_id) with a
    DOUBLE column per metric (named as the metric), NULL where the metric gave no row."""
    shared: dict[str, str] = {}
    parts = []
    for i, name in enumerate(names):
        sql = catalog._query_sql(name, by, scope, shared)
        # Positional: Spark has no UNION BY NAME. Names are the catalog's, never input.
        values = ", ".join(
            f"CAST({'value' if j == i else 'NULL'} AS DOUBLE) AS _v{j}" for j in range(len(names))
        )
        parts.append(f"SELECT period_start, unit_id, {values} FROM (\n{sql}\n) AS _m{i}")
    union = "\nUNION ALL\n".join(parts)
    columns = ", ".join(f"max(_v{i}) AS {name}" for i, name in enumerate(names))
    body = f"SELECT period_start, unit_id, {columns} FROM (\n{union}\n) GROUP BY ALL"
    return {f"_{macro}": call for macro, call in shared.items()}, body


def evaluate_wide(
    spark: SparkSession,
    names: list[str],
    date_from: dt.date,
    date_to: dt.date,
    scope: Scope = CITY,
    *,
    bucket: Bucket = "all",
    by: By = "community",
    today: dt.date = catalog.FINAL_DAY,
) -> pa.Table:
    """catalog.evaluate_wide on Spark (`today` as the metric SQL's $today).

    The calls the metrics share (the rollup reads, the periods) are computed once and kept
    in memory as views, where DuckDB has common table expressions: Spark would copy a CTE
    into every metric that reads it, and plan each copy anew (minutes for 30 metrics)."""
    values = catalog.parameters(date_from, date_to, scope, bucket, by, today)
    shared, statement = wide_sql(list(dict.fromkeys(names)), scope, by)
    for view, call in shared.items():
        rows = _run(spark, f"SELECT * FROM {call}", values).localCheckpoint()
        rows.createOrReplaceTempView(view)  # names from the catalog's macros, never input
    return to_arrow(_run(spark, statement, values))


def _run(spark: SparkSession, duckdb_sql: str, values: dict[str, Any]) -> DataFrame:
    wanted = set(catalog._PARAM_RE.findall(duckdb_sql))
    return spark.sql(translate.to_spark(duckdb_sql), args={k: values[k] for k in wanted})
