"""Spark for the national rebuilds (issue 16.3): the metric SQL translated to Spark gives
what DuckDB gives, for every catalog metric over the fixtures and the demo; the derived
tables Spark rebuilds equal DuckDB's row for row, with the same commit metadata; a table
whose protocol needs more than its files is refused. Marked `spark`: run by
`make spark-check` (pyspark and Java 17), not by `make test`. One Spark session for the
module: it takes half a minute to start.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from metrics import access, catalog, demo
from metrics.__main__ import main
from metrics.catalog import CITY, Scope
from metrics.derived import ROLLUPS, period_table
from metrics.derived.rollups import files_reflecting
from metrics.queries import CITY_COUNTS
from metrics.store import Store
from tests.conftest import fixture_store

# `make spark-check` sets GOVDASH_SPARK_TESTS: there a missing pyspark fails the step. Any
# other run (`make test`, before requirements-spark.txt is installed) skips this module.
if not os.environ.get("GOVDASH_SPARK_TESTS"):
    pytest.importorskip("pyspark")
    pytest.importorskip("sqlglot")

from metrics.spark import refresh, session
from metrics.spark.evaluate import evaluate_wide

pytestmark = pytest.mark.spark

ALL_FIXTURES = (dt.date(2025, 8, 1), dt.date(2025, 11, 30))


@pytest.fixture(scope="module", autouse=True)
def _asked_for(request: pytest.FixtureRequest) -> None:
    """Only in a run that names the marker (`-m spark`): another -m (the suite's "not
    browser") replaces pyproject's "not spark", and would start a JVM in every run."""
    if "spark" not in str(request.config.getoption("markexpr") or ""):
        pytest.skip("the Spark tests run with -m spark (make spark-check)")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    started = session.start(compiled=False)  # small stores: as refresh starts it for them
    yield started
    started.stop()


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = fixture_store(tmp_path_factory.mktemp("fixtures") / "data")
    store.refresh_all()
    return store


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    keys = [
        c
        for c in ("column_name", "community_id", "kind", "period_start")
        if c in table.column_names
    ]
    keys += [c for c in table.column_names if c not in keys]
    rows = table.to_pylist()
    return sorted(rows, key=lambda r: tuple((r[k] is None, str(r[k])) for k in keys))


def _same_metrics(
    spark: Any, store: Store, asks: list[tuple[dt.date, dt.date, Scope, Any, Any]]
) -> None:
    """Every catalog metric, one query per engine and ask, row for row and value for value."""
    names = list(catalog.catalog())
    session.register(spark, store, store.version())
    con = store.connect()
    try:
        for first, last, scope, bucket, by in asks:
            duck = catalog.evaluate_wide(con, names, first, last, scope, bucket=bucket, by=by)
            theirs = evaluate_wide(spark, names, first, last, scope, bucket=bucket, by=by)
            assert theirs.column_names == duck.column_names
            assert _sorted(theirs) == _sorted(duck), (scope, bucket, by)
    finally:
        con.close()


def test_every_metric_on_the_fixtures(spark: Any, fixtures: Store) -> None:
    first, last = ALL_FIXTURES
    _same_metrics(
        spark,
        fixtures,
        [
            (first, last, CITY, "month", "community"),  # communities and the city, by month
            (first, last, Scope("QTX01"), "all", "grid"),  # a community's grids (records)
        ],
    )


def test_every_metric_on_the_demo(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    store = demo.store_at(tmp_path_factory.mktemp("demo"))
    demo.write(store)
    year = (dt.date(demo.LAST_DAY.year, 1, 1), dt.date(demo.LAST_DAY.year, 12, 31))
    con = store.connect()
    try:
        community = con.execute("SELECT min(community_id) FROM communities").fetchone()
    finally:
        con.close()
    assert community is not None
    _same_metrics(
        spark,
        store,
        [
            (*year, CITY, "quarter", "community"),
            (*year, Scope(community[0]), "month", "grid"),
        ],
    )


def _derived(store: Store) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Each derived table the store reads for its version: rows (sorted) and the metadata
    of the commit read."""
    version = store.version()
    out: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {}
    named = {n: d for d, tables in ROLLUPS.items() for n in tables}
    named.update({n: d for d, n in CITY_COUNTS.items()})
    for name, dataset in named.items():
        files = files_reflecting(store, name, version.of(dataset))
        assert files, name
        table = DeltaTable(str(store.rollup_path(name)))
        meta = {k: v for k, v in table.history(limit=1)[0].items() if k.startswith("govdash.")}
        meta.pop("govdash.at", None)
        out[name] = (_sorted(pa.Table.from_batches(table.to_pyarrow_dataset().to_batches())), meta)
    at = period_table.files_at(store, version)
    assert at is not None
    table = DeltaTable(str(store.rollup_path(period_table.PERIOD_VALUES)))
    meta = {k: v for k, v in table.history(limit=1)[0].items() if k.startswith("govdash.")}
    meta.pop("govdash.at", None)
    values = table.to_pyarrow_table()
    values = values.set_column(1, "kind", values.column("kind").cast(pa.string()))
    out[period_table.PERIOD_VALUES] = (_sorted(values), meta)
    return out


def test_derived_tables_equal_duckdbs(
    spark: Any, fixtures: Store, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The same commits as `fixtures`, no derived table yet: Spark builds every one.
    store = fixture_store(tmp_path_factory.mktemp("spark") / "data")
    refresh.rebuild(spark, store, store.version())
    theirs, ours = _derived(store), _derived(fixtures)
    assert theirs.keys() == ours.keys()
    for name in ours:
        assert theirs[name][1] == ours[name][1], name  # REFLECTS, FORMAT, COVERS
        assert theirs[name][0] == ours[name][0], name
    # 12 cases: 7 in QTX01 and 5 in QTX02 (tests/test_metrics.py), and the city's 12.
    con = store.connect()
    try:
        received = con.sql(
            "SELECT coalesce(community_id, 'city'), sum(received) FROM cases_rollup GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    assert sorted(received) == [("QTX01", 7), ("QTX02", 5), ("city", 12)]


def _tree(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    }


def test_deletion_vectors_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = fixture_store(tmp_path)
    DeltaTable(str(store.table_path("cases"))).alter.set_table_properties(
        {"delta.enableDeletionVectors": "true"}
    )
    access.store_version(store)  # settled first: the CLI's recovery on open does nothing
    before = _tree(store.tables_dir)
    code = main(["--data-dir", str(tmp_path), "refresh", "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2
    assert "数据表 cases 使用了 Spark 重建无法读取的 Delta 特性（deletionVectors）" in err
    assert "Traceback" not in err
    assert _tree(store.tables_dir) == before


def test_a_store_on_s3_is_refused_before_anything(capsys: pytest.CaptureFixture[str]) -> None:
    """Spark reads local or mounted paths only (no hadoop-aws jars): an s3:// store gets a
    Chinese refusal, exit 2, before a session starts, and its objects stay as they were."""
    import boto3

    from tests.s3_helpers import s3_environment

    with s3_environment("govdash-spark") as env:
        root = "s3://govdash-spark/store"
        assert main(["--data-dir", root, "init"]) == 0  # as a first deployment does
        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])

        def objects() -> dict[str, str]:
            listed = client.list_objects_v2(Bucket="govdash-spark").get("Contents", [])
            return {o["Key"]: o["ETag"] for o in listed}

        before = objects()
        code = main(["--data-dir", root, "refresh", "--engine", "spark"])
        err = capsys.readouterr().err
        assert code == 2
        assert "数据存放在对象存储（s3://govdash-spark/store），Spark 重建只能读取" in err
        assert "Traceback" not in err
        assert objects() == before
