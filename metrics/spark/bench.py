"""The rebuild of every derived table on DuckDB and on Spark, one after the other on the
same store version: what `python -m metrics bench` reports beside the page queries
(`rebuild_duckdb_s`, `rebuild_spark_s` and their ratio) when pyspark is installed."""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING

from metrics.derived import city_counts, period_table, rollups
from metrics.derived.rollups import ROLLUPS
from metrics.queries import CITY_COUNTS

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion


def duckdb_rebuild(store: Store, version: StoreVersion) -> None:
    """The DuckDB path's whole rebuild, even where the tables reflect `version` already."""
    for dataset in ROLLUPS:
        if version.of(dataset) >= 0:
            with store.lock(f"rollup-{dataset}"):
                rollups.build(store, dataset, version.of(dataset), None)
    for dataset, name in CITY_COUNTS.items():
        v = version.of(dataset)
        if v < 0 or not store.files(dataset, v):
            continue
        statement, values = city_counts.recount(store, dataset, v)
        con = store.bare_connection()
        try:
            data = con.sql(statement + " ORDER BY ALL", params=values).to_arrow_table()
        finally:
            con.close()
        with store.lock(f"counts-{dataset}"):
            rollups.commit(store, name, data, {"reflects": str(v)}, schema_mode="overwrite")
    with store.lock("rollup-period-values"):
        period_table._rebuild(store, version)


def rebuild_times(store: Store, *, spark: bool, master: str = "local[2]") -> dict[str, float]:
    """Seconds for the whole rebuild on DuckDB and, with `spark` and pyspark installed, on
    Spark (without its session's start, given apart), and Spark's time over DuckDB's."""
    version = store.version()
    started = time.perf_counter()
    duckdb_rebuild(store, version)
    times = {"rebuild_duckdb_s": time.perf_counter() - started}
    wanted = ("pyspark", "sqlglot")
    if not spark or any(importlib.util.find_spec(name) is None for name in wanted):
        return times
    from metrics.spark import refresh, session

    started = time.perf_counter()
    engine = session.start(master)
    built = time.perf_counter()
    try:
        refresh.rebuild(engine, store, version)
    finally:
        engine.stop()
    times["spark_start_s"] = built - started
    times["rebuild_spark_s"] = time.perf_counter() - built
    times["rebuild_spark_over_duckdb"] = times["rebuild_spark_s"] / times["rebuild_duckdb_s"]
    return times
