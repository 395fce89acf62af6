"""`python -m metrics refresh --engine spark`: the rollups, the city counts and the period
values rebuilt on Spark from one pinned store version, and written back through deltalake
with the commit metadata the DuckDB path writes (REFLECTS, FORMAT, COVERS), so the app
reads them as it reads DuckDB's. Each query is the DuckDB one, translated (translate.py):
the rollups of every table that ROLLUPS lists, built by its macro in sql/_rollups.sql; the
city counts by city_counts' counting query; the period values by every rollup metric's SQL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa

from metrics import period_values
from metrics.catalog import CITY
from metrics.derived import city_counts, period_table, rollups
from metrics.derived.period_table import PERIOD_DATASETS, PERIOD_VALUES
from metrics.derived.rollups import ROLLUP_FORMAT, ROLLUPS
from metrics.i18n import Refusal
from metrics.location import S3Path
from metrics.queries import CITY_COUNTS
from metrics.schemas import DATASETS
from metrics.spark import session, translate
from metrics.spark.evaluate import evaluate_wide

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from metrics.store import Store, StoreVersion

log = logging.getLogger(__name__)
# The records' source in city_counts' counting query, where Spark reads the dataset's view.
_RECORDS_SOURCE = "read_parquet($files, union_by_name = true)"


def refresh(store: Store, master: str = session.DEFAULT_MASTER) -> StoreVersion:
    """Every derived table rebuilt on Spark for the store's current version (returned).
    A table Spark cannot read from its files alone is refused before anything is written,
    and so is a store on S3: Spark would need the hadoop-aws jars to read it, which are
    never downloaded (docs/decisions/0017-spark-refresh.md)."""
    if isinstance(store.root, S3Path):  # before anything is read or started
        raise Refusal("spark_s3", root=str(store.root))
    version = store.version()
    session.check_store(store, version)
    spark = session.start(master, compiled=session.records(store, version) >= session.CODEGEN_FROM)
    try:
        rebuild(spark, store, version)
    finally:
        spark.stop()
    return version


def rebuild(spark: SparkSession, store: Store, version: StoreVersion) -> None:
    """The rollups, city counts and period values for `version`, each in one commit."""
    for name in DATASETS:
        frame = session.dataset_frame(spark, store, name, version.of(name))
        frame.createOrReplaceTempView(name)
    for dataset, tables in ROLLUPS.items():
        if version.of(dataset) >= 0:
            build_rollups(spark, store, dataset, version.of(dataset))
        else:  # never loaded: its (empty) rollups for the metrics' SQL, nothing written
            for name, keys in tables.items():
                rollup_frame(spark, name, keys).createOrReplaceTempView(name)
    for dataset in CITY_COUNTS:
        if version.of(dataset) >= 0 and store.files(dataset, version.of(dataset)):
            build_city_counts(spark, store, dataset, version.of(dataset))
    if any(version.of(d) >= 0 for d in PERIOD_DATASETS):
        build_period_values(spark, store, version)


def rollup_frame(spark: SparkSession, name: str, keys: tuple[str, ...]) -> DataFrame:
    """Rollup `name`'s rows: each community's, by its macro, then the city's (community_id
    NULL) summed over them where it has them (not the grid rollups), ordered as the DuckDB
    build orders them."""
    from pyspark.sql import functions as F

    rows = spark.sql(translate.to_spark(rollups._build_sql(name, None)))
    measures = [c for c in rows.columns if c != "community_id" and c not in keys]
    if not rollups.has_city_rows(name):  # the grid rollups: each community's rows only
        return rows.select("community_id", *keys, *measures).orderBy("community_id", *keys)
    sums = [F.sum(m).cast("bigint").alias(m) for m in measures]
    city = rows.groupBy(*keys).agg(*sums)
    city = city.select(F.lit(None).cast("string").alias("community_id"), *keys, *measures)
    whole = rows.select("community_id", *keys, *measures).unionByName(city)
    return whole.orderBy(F.col("community_id").asc_nulls_last(), *keys)


def build_rollups(spark: SparkSession, store: Store, dataset: str, version: int) -> None:
    meta = {"reflects": str(version), "format": ROLLUP_FORMAT}
    with store.lock(f"rollup-{dataset}"):
        for name, keys in ROLLUPS[dataset].items():
            data = session.to_arrow(rollup_frame(spark, name, keys))
            size = rollups._ROLLUP_FILE_BYTES
            rollups.commit(store, name, data, meta, schema_mode="overwrite", target_file_size=size)
            # What the period values read: the rows just written, as the app reads them.
            files = rollups.files_reflecting(store, name, version)
            written = spark.read.parquet(*files) if files else None
            # An empty ledger's rollups have no files: the same (empty) rows.
            frame = written or spark.createDataFrame([], session.spark_schema(data.schema))
            frame.createOrReplaceTempView(name)


def build_city_counts(spark: SparkSession, store: Store, dataset: str, version: int) -> None:
    statement, _ = city_counts.recount(store, dataset, version)
    if _RECORDS_SOURCE not in statement:
        raise ValueError("city_counts' counting query no longer reads read_parquet($files)")
    counted = spark.sql(translate.to_spark(statement.replace(_RECORDS_SOURCE, dataset)))
    data = session.to_arrow(counted)
    data = data.sort_by([(c, "ascending") for c in data.column_names])  # DuckDB: ORDER BY ALL
    with store.lock(f"counts-{dataset}"):
        rollups.commit(
            store, CITY_COUNTS[dataset], data, {"reflects": str(version)}, schema_mode="overwrite"
        )


def build_period_values(spark: SparkSession, store: Store, version: StoreVersion) -> None:
    """Every rollup metric per community and standard period, read on FINAL_DAY (as
    period_table.compute), from the rollups just built."""
    span = period_values.cover_of(spark.sql(period_values.COVER_SQL).first())
    if span is None:
        return
    names = period_values.metrics()
    parts = [
        period_values.table_rows(
            evaluate_wide(spark, names, span[0], span[1], CITY, bucket=kind, by="community"),
            kind,
        )
        for kind in period_values.KINDS
    ]
    with store.lock("rollup-period-values"):
        period_table._write(store, pa.concat_tables(parts), version, span, None)
    log.info("%s rebuilt on Spark for %s", PERIOD_VALUES, version.token)
