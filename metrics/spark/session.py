"""A Spark session for the rebuilds, and the store's tables on it: each dataset read from
exactly the Parquet files of its pinned Delta version (their list from deltalake), with
the contract's schema; the rollups' versions reflecting those data versions; the tracked
items' events. No delta-spark: its jars would be downloaded at run time, which cannot
happen here (docs/decisions/0017-spark-refresh.md); so a table whose protocol asks the
reader for more than its files (deletion vectors, column mapping) is refused.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from metrics.derived.rollups import ROLLUPS, files_reflecting
from metrics.i18n import Refusal
from metrics.location import Location
from metrics.schemas import DATASETS
from metrics.spark import translate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from metrics.store import Store, StoreVersion

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
DRIVER_MEMORY = "4g"  # GOVDASH_SPARK_DRIVER_MEMORY says otherwise
# Debian's Java 17 (scripts/install-system-packages.sh), when JAVA_HOME names none: the
# machine's default `java` may be another version, which pyspark 4 refuses or misreads.
DEBIAN_JVMS = Path("/usr/lib/jvm")
# What a reader must do beyond reading the files of a version: deletion vectors hide rows
# of a file, column mapping renames its columns. Reader version 2 is column mapping.
UNSUPPORTED_FEATURES = frozenset({"deletionVectors", "columnMapping"})
_CONFIG = {
    # Nothing leaves the machine: no package downloads, no UI, loopback only.
    "spark.jars.ivy": "",
    "spark.jars.packages": "",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    # Rollups are small: a few partitions per shuffle, not Spark's 200.
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    # Results come back as Parquet files (to_arrow): timestamps as Arrow reads them, not
    # Spark's default INT96.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


# Below this many records Spark interprets its plans instead of compiling them to Java:
# the compilation (Janino, per stage) then costs more than the data. Measured on the test
# fixtures: 100 s compiled, 38 s interpreted (tests/test_spark.py); at 1e7 compiling pays.
CODEGEN_FROM = 1_000_000
_INTERPRETED = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def records(store: Store, version: StoreVersion) -> int:
    """How many records the datasets hold at `version` (from the Delta log: no data read)."""
    total = 0
    for name, v in version.tables:
        if v >= 0:
            adds = DeltaTable(str(store.table_path(name)), version=v).get_add_actions(flatten=True)
            total += sum(n or 0 for n in adds.column("num_records").to_pylist())
    return total


def start(master: str = DEFAULT_MASTER, *, compiled: bool = True) -> SparkSession:
    """A session on `master` with the SQL functions of spark/functions.sql; with
    `compiled` False, plans are interpreted (small stores: CODEGEN_FROM)."""
    debian = sorted(DEBIAN_JVMS.glob("java-17-openjdk-*/bin/java"))
    if not os.environ.get("JAVA_HOME") and debian:
        os.environ["JAVA_HOME"] = str(debian[0].parent.parent)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # pyspark 4.3 warns of pandas 3 on every use; its results reach us as Arrow, not pandas.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark.sql import SparkSession  # optional (requirements-spark.txt)

    builder = SparkSession.builder.master(master).appName("govdash-refresh")
    # The driver's heap, which local mode's tasks share: Spark's 1 GB ran out in the period
    # values' aggregation at 10^7 records (its spill readers' buffers). Read at the JVM's
    # start (pyspark passes it to spark-submit), so from here, not from spark-defaults.
    memory = os.environ.get("GOVDASH_SPARK_DRIVER_MEMORY") or DRIVER_MEMORY
    builder = builder.config("spark.driver.memory", memory)
    for key, value in (_CONFIG if compiled else {**_CONFIG, **_INTERPRETED}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for statement in translate.function_statements():
        spark.sql(statement)
    return spark


def check_protocol(path: Location, version: int) -> None:
    """Refuse a table version that needs more of a reader than its files."""
    protocol = DeltaTable(str(path), version=version).protocol()
    features = set(protocol.reader_features or ())
    if protocol.min_reader_version == 2 or features & UNSUPPORTED_FEATURES:
        needs = sorted(features & UNSUPPORTED_FEATURES) or ["columnMapping"]
        raise Refusal("spark_protocol", table=path.name, features=", ".join(needs))


def spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def dataset_frame(spark: SparkSession, store: Store, dataset: str, version: int) -> DataFrame:
    """The dataset's records at `version`: exactly that version's files, the contract's
    columns (NULL for one a file predates)."""
    schema = DATASETS[dataset].arrow_schema
    files = store.files(dataset, version) if version >= 0 else []
    if not files:
        return spark.createDataFrame([], spark_schema(schema))
    check_protocol(store.table_path(dataset), version)
    return spark.read.schema(spark_schema(schema)).parquet(*files)


def check_store(store: Store, version: StoreVersion) -> None:
    """Every dataset's pinned version readable from its files alone (before any work)."""
    for name in DATASETS:
        if version.of(name) >= 0 and store.files(name, version.of(name)):
            check_protocol(store.table_path(name), version.of(name))


def register(spark: SparkSession, store: Store, version: StoreVersion) -> None:
    """The datasets at `version`, the followed-up items' events and the rollups reflecting
    `version` (where the store has them) as temporary views: what the metric SQL reads."""
    for name in DATASETS:
        dataset_frame(spark, store, name, version.of(name)).createOrReplaceTempView(name)
    register_events(spark, store)
    for dataset, tables in ROLLUPS.items():
        for name in tables:
            files = files_reflecting(store, name, version.of(dataset))
            if files:
                spark.read.parquet(*files).createOrReplaceTempView(name)


def register_events(spark: SparkSession, store: Store) -> None:
    """The tracked items' events as Store.connect puts them on a DuckDB connection."""
    from metrics.tracking.closure import EVENTS_VIEW, attach

    con = store.bare_connection()
    try:
        attach(store, con)
        events = con.table(EVENTS_VIEW).to_arrow_table()
    finally:
        con.close()
    frame = spark.createDataFrame(events.to_pylist(), spark_schema(events.schema))
    frame.createOrReplaceTempView(EVENTS_VIEW)


def to_arrow(frame: DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """A Spark result as Arrow, every column nullable (as DuckDB's), cast to `schema`.

    The rows come back through Parquet files in a local temporary directory, in the order
    of the frame's partitions, not through the driver (`toArrow`): at 10^7 records a grid
    rollup's few million rows, collected as one result, were lost from the driver's block
    manager (TaskResultLost) in a 1 GB local JVM; written by the tasks, they never pass
    through it."""
    with tempfile.TemporaryDirectory(prefix="govdash-spark-") as folder:
        out = Path(folder) / "result"
        frame.write.parquet(str(out))
        # part-00000, part-00001, ...: the partitions' order, which an orderBy's is.
        parts = sorted(out.glob("part-*.parquet"))
        pieces = [pq.read_table(part) for part in parts]
        table = pa.concat_tables(pieces) if pieces else frame.limit(0).toArrow()
    fields = [pa.field(f.name, f.type, nullable=True) for f in table.schema]
    table = table.cast(pa.schema(fields))
    return table.cast(schema) if schema is not None else table
