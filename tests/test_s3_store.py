"""The store on object storage (issue 16, point 1): every key store-level behaviour on a
local directory and on S3 alike, S3 being moto's server on loopback (it enforces the
conditional puts, If-None-Match and If-Match, that Delta's commits, `_store.json` and the
leases rely on); 12 concurrent writers in separate processes; kill -9 during commits; a
lease left by a killed holder lapses. docs/decisions/0018-object-storage.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import FIXTURES, fixture_store
from ingest_helpers import case_row, csv_bytes, seed_grids
from s3_helpers import s3_environment
from test_crash import keys_unique, one_entry_per_version, stage

from metrics import access, catalog
from metrics.__main__ import main
from metrics.access import Principal
from metrics.derived import audit_log, recovery, rollups
from metrics.periods import Period
from metrics.store import REPO_ROOT, Store, StoreError

BUCKET = "govdash-test"
ADMIN = Principal("admin@qtx.gov.cn", "admin")
REGISTERS = ["--communities", str(FIXTURES / "communities.csv")]
REGISTERS += ["--grids", str(FIXTURES / "grids.csv")]
NOW = "2025-12-01T10:00:00"
OCTOBER = Period.of("month", dt.date(2025, 10, 1))


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server and the AWS_* environment pointing there, for this process and the
    CLI's (tests/s3_helpers.py)."""
    with s3_environment(BUCKET) as env:
        yield env


@pytest.fixture(params=["local", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty data directory: a local one, or a prefix of its own in the bucket."""
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    if request.param == "local":
        return str(tmp_path / "data")
    request.getfixturevalue("s3")
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


def upload(store: Store, rows: list[list[str]], community: str = "QTX01") -> int:
    validation = access.validate_upload(
        store, csv_bytes(rows), "ledger.csv", "cases", community, ADMIN
    )
    assert validation.ok, validation.problems
    return access.commit_upload(store, validation, ADMIN).version


def received(store: Store, period: Period = OCTOBER) -> float | None:
    """The city's cases received in `period`, as a page reads it (metrics.access)."""
    version = access.store_version(store)
    reader = access.Reader(access.connect(store, version.token), ADMIN)
    return reader.totals(["cases_received"], period, catalog.CITY)["cases_received"]


# -- the store's life, on both ------------------------------------------------------------
def test_init_upload_rollback_documents_audit_and_check(root: str) -> None:
    code, said = cli("--data-dir", root, "init", *REGISTERS)
    assert code == 0, said
    store = Store(root)
    assert store.kind == "real" and str(store.tables_dir) == f"{root}/store"
    with pytest.raises(StoreError):  # _store.json is created once only
        store.create("real", "again")
    assert received(store) == 0  # the ledgers are empty
    rows = [case_row("N01", "QTX01", "QTX01-G01"), case_row("N02", "QTX01", "QTX01-G02")]
    first = upload(store, rows)
    # The template's example case is received on 2025-10-08: two such rows in October.
    assert received(store) == 2
    assert (store.root / "uploads" / "cases").is_dir()  # the raw file kept beside the history
    upload(store, [case_row("N03", "QTX01", "QTX01-G01")])
    assert received(store) == 3  # 2 + 1
    # The rollups and period values were refreshed to the new version.
    assert rollups.reflected(store, "cases") == store.table_version("cases")
    assert recovery.read_mark(store, "cases") == recovery.Mark(store.table_version("cases"))
    access.rollback(store, "cases", first, ADMIN)
    assert received(store) == 2  # back to the first upload's two
    # Documents: a new version each save, the latest read back.
    assert store.write_document("_settings", {"a": 1}, "pytest") == 0
    assert store.write_document("_settings", {"a": 2}, "pytest") == 1
    assert store.read_document("_settings") == ({"a": 2}, 1)
    assert store.read_document("_settings", 0) == ({"a": 1}, 0)
    # The audit log: one committed entry per data version, none pending.
    entries = audit_log.entries(store)
    cases = entries[(entries["dataset"] == "cases") & (entries["status"] == "committed")]
    assert sorted(int(v) for v in cases["version"]) == [0, 1, 2, 3]  # init, 2 uploads, rollback
    assert not (entries["status"] == "pending").any()
    code, said = cli("--data-dir", root, "check", "--repair")
    assert code == 0, said
    code, said = cli("--data-dir", root, "check")
    assert code == 0 and "✗" not in said, said


@pytest.mark.slow
def test_pages_read_the_same_numbers_on_s3_as_on_a_local_directory(
    tmp_path: Path, s3: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    local = fixture_store(tmp_path / "data")
    remote = fixture_store(f"s3://{BUCKET}/{uuid.uuid4().hex}")
    assert str(remote.tables_dir).startswith("s3://")
    names = [m.name for m in catalog.catalog().values()]
    quarter = Period.span(dt.date(2025, 8, 1), dt.date(2025, 10, 1))
    for store in (local, remote):
        # tests/fixtures/cases.csv: received 2025-08: 3, 2025-09: 5, 2025-10: 2 → 10.
        assert received(store, quarter) == 10
    values = []
    for store in (local, remote):
        version = access.store_version(store)
        reader = access.Reader(access.connect(store, version.token), ADMIN)
        city = reader.totals(names, quarter, catalog.CITY)
        per = reader.by_unit(names, quarter, ["QTX01", "QTX02", "QTX03"], catalog.CITY)
        grids = reader.by_unit(
            names, quarter, ["QTX01-G01", "QTX01-G02"], catalog.Scope("QTX01"), "grid"
        )
        values.append((city, per, grids))
    assert values[0][0] == values[1][0]
    for mine, theirs in zip(values[0][1:], values[1][1:], strict=True):
        pd.testing.assert_frame_equal(mine, theirs)  # NaN where there is no value, in both


# -- exclusive across machines: leases --------------------------------------------------
HOLD = """
import sys, time
from metrics.store import Store
with Store(sys.argv[1]).lock("x"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lease_left_by_a_killed_holder_lapses(
    s3: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_LEASE_SECONDS", "3")  # here and in the holder's process
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, root],
        cwd=REPO_ROOT,
        env={**os.environ, **s3},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = Store(root)
        time.sleep(4)  # past the term (3 s): the holder renews, so it is still held
        with store.try_lock("x") as free:
            assert not free
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    began = time.monotonic()
    with store.lock("x"):  # no renewals now: the lease lapses after its term
        waited = time.monotonic() - began
        with store.try_lock("x") as again:  # re-entrant in this thread
            assert again
    assert 0 < waited < 3 + 5, waited
    with store.try_lock("x") as free:  # released: free at once
        assert free


# -- many machines at once --------------------------------------------------------------
def _ingest(root: str, path: Path, community: str, env: dict[str, str]) -> subprocess.Popen[str]:
    args = ["ingest", str(path), "--dataset", "cases", "--community", community]
    return subprocess.Popen(
        [sys.executable, "-m", "metrics", "--data-dir", root, *args, "--user", community],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "GOVDASH_NOW": NOW, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _ledger(community: str, tag: str, count: int = 6) -> bytes:
    grid = f"{community}-G01"
    return csv_bytes(
        [case_row(f"{community}-{tag}-{i:02d}", community, grid) for i in range(count)]
    )


def _consistent(store: Store) -> None:
    """Keys unique, every data version audited once, nothing pending, `check` exit 0."""
    assert keys_unique(store) and one_entry_per_version(store)
    code, said = cli("--data-dir", str(store.root), "check")
    assert code == 0, said


@pytest.mark.slow
def test_twelve_writers_in_separate_processes(
    s3: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    # Longer than any pause of a holder on a machine running 12 writers on 2 cores.
    monkeypatch.setenv("GOVDASH_LEASE_SECONDS", "30")
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    store = Store(root)
    seed_grids(store, communities=12)
    communities = [f"QTX{c:02d}" for c in range(1, 13)]
    paths = {}
    for community in communities:
        paths[community] = tmp_path / f"{community}.csv"
        paths[community].write_bytes(_ledger(community, "a"))
    writers = {c: _ingest(root, paths[c], c, s3) for c in communities}
    said = {c: p.communicate(timeout=900)[0] for c, p in writers.items()}
    assert all(p.returncode == 0 for p in writers.values()), said
    uploads = [c for c in store.history("cases") if c.get("file_name")]
    assert sorted(c["community_id"] for c in uploads) == communities  # each commit once
    assert received(store) == 12 * 6  # six October cases (2025-10-08) from each community
    _consistent(store)


@pytest.mark.slow
def test_kill_nine_during_commits_then_recovery(
    s3: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    monkeypatch.setenv("GOVDASH_LEASE_SECONDS", "5")  # a killed writer's lease lapses in 5 s
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    store = Store(root)
    seed_grids(store, communities=2)
    rng = random.Random(20261206)
    began = time.monotonic()
    warm = tmp_path / "warm.csv"
    warm.write_bytes(_ledger("QTX01", "w"))
    done = _ingest(root, warm, "QTX01", s3)
    assert done.communicate(timeout=300)[0] is not None and done.returncode == 0
    whole = time.monotonic() - began  # an upload from interpreter start to exit
    landed: list[str] = []
    for round_no in range(6):
        community = ("QTX01", "QTX02")[round_no % 2]
        path = tmp_path / f"r{round_no}.csv"
        path.write_bytes(_ledger(community, f"r{round_no}"))
        before = store.table_version("cases")
        process = _ingest(root, path, community, s3)
        time.sleep(rng.uniform(0.5 * whole, 1.0 * whole))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            landed.append(stage(store, before))  # where the kill landed, before recovery
        else:
            process.communicate()
        code, said = cli("--data-dir", root, "check", "--repair")  # waits out the lease
        assert code == 0, said
        _consistent(store)
    print("kills landed:", landed, f"({time.monotonic() - began:.0f} s)")
    assert landed  # at least one kill mid-upload (the rest finished first)
    final = subprocess.run(
        [sys.executable, "-m", "metrics", "--data-dir", root, "check"],
        cwd=REPO_ROOT,
        env={**os.environ, **s3, "GOVDASH_NOW": NOW},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stdout + final.stderr
