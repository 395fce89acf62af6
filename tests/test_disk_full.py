"""A full disk and failed writes during an upload: the store keeps the old state or takes the
new one (complete once recovery runs), the CLI says so in Chinese and exits 2, and no
traceback reaches the user. A small tmpfs for the Delta write when running as root (CI
does); fault injection for the derived refresh and the audit intent, and on the page."""

from __future__ import annotations

import contextlib
import errno
import getpass
import io
import os
import random
import shutil
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from deltalake.exceptions import DeltaError
from ingest_helpers import case_row, csv_bytes, seed_grids, snapshot
from streamlit.testing.v1 import AppTest

from metrics import check, derived
from metrics.__main__ import main
from metrics.derived import audit_log, recovery
from metrics.i18n import t
from metrics.store import REPO_ROOT, Store

ENV = {**os.environ, "GOVDASH_NOW": "2025-12-01T10:00:00"}
APP = str(REPO_ROOT / "app.py")


def cli(*args: str) -> tuple[int, str]:
    """The CLI's main in this process, its stdout and stderr as one text."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


def data_files(store: Store, files: dict[str, str] | None = None) -> dict[str, str]:
    """The store's files but the audit log and the marks (which record an attempt)."""
    files = files if files is not None else snapshot(store.tables_dir)
    return {k: v for k, v in files.items() if not k.startswith(("_audit/", "_settled/"))}


def consistent(store: Store) -> bool:
    return all(f.ok for f in check.run(store))


def entries_of(store: Store, dataset: str) -> list[tuple[int, str, str]]:
    """(version, user, status) of the entry of every version of `dataset`, oldest first."""
    frame = audit_log.entries(store)
    ours = frame[(frame["dataset"] == dataset) & frame["version"].notna()].sort_values("version")
    return [(int(v), u, s) for v, u, s in ours[["version", "user", "status"]].to_numpy()]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs, mounted for the test (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_during_the_delta_write_leaves_the_old_state(
    small_disk: Path, tmp_path: Path
) -> None:
    store = Store(small_disk / "data")
    seed_grids(store, communities=2)
    # 6,000 cases with 150 random letters each: about 1.5 MB as CSV and about as much as
    # Parquet (random text does not compress), so the raw file fits and the table does not.
    rng = random.Random(11)
    notes = ("".join(rng.choices(string.ascii_letters, k=150)) for _ in range(6000))
    rows = [case_row(f"BIG-{i:05d}", "QTX01", "QTX01-G01", note=n) for i, n in enumerate(notes)]
    upload = tmp_path / "big.csv"
    upload.write_bytes(csv_bytes(rows))
    stat = os.statvfs(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - upload.stat().st_size - 300_000))
    before = snapshot(store.tables_dir)
    args = ["--data-dir", str(store.root), "ingest", str(upload), "--dataset", "cases"]
    command = [sys.executable, "-m", "metrics", *args, "--community", "QTX01"]
    run = subprocess.run(command, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "磁盘空间不足" in run.stderr and "数据保持原样" in run.stderr
    assert "Traceback" not in run.stderr and "panicked" not in run.stderr
    # The old state, byte for byte; the audit log records the attempt as not committed.
    assert data_files(store) == data_files(store, before)
    assert consistent(Store(store.root))
    attempt = audit_log.entries(store)
    assert list(attempt.loc[attempt["dataset"] == "cases", "status"]) == ["not_committed"]
    # Space freed: the same file lands, audited once.
    filler.unlink()
    again = subprocess.run(command, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "新增 6000 行" in again.stdout
    store = Store(store.root)
    assert consistent(store)
    assert entries_of(store, "cases") == [(0, getpass.getuser(), "committed")]


@pytest.mark.parametrize("where", ["rollups", "period values"])
def test_a_full_disk_after_the_commit_is_finished_by_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The data commit lands, then the disk is full: for a rollup (an OSError) or for the
    period values (deltalake's own report of ENOSPC). The CLI says the data are committed
    and what completes them; opening the store (the app, any command) completes them."""
    store = Store(tmp_path / "data")
    seed_grids(store, communities=2)
    upload = tmp_path / "nov.csv"
    upload.write_bytes(csv_bytes([case_row(f"N{i}", "QTX01", "QTX01-G01") for i in range(5)]))

    def full(*args: object, **kwargs: object) -> None:
        if where == "rollups":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise DeltaError("Generic LocalFileSystem error: No space left on device (os error 28)")

    monkeypatch.setenv("GOVDASH_NOW", "2025-12-01T10:00:00")
    with monkeypatch.context() as patched:
        if where == "rollups":
            patched.setattr(derived.rollups, "commit", full)
        else:
            patched.setattr(derived.period_table, "_write", full)
        args = ["--data-dir", str(store.root), "ingest", str(upload), "--dataset", "cases"]
        code, said = cli(*args, "--community", "QTX01", "--user", "clerk01")
    assert code == 2, said
    assert t("store_disk_full_committed", "zh", dataset="cases", version=0, error="")[:20] in said
    assert "Traceback" not in said
    assert store.table_version("cases") == 0, "the data were committed"
    assert not consistent(store), "until recovery: derived tables behind, the intent open"
    recovery.ensure(store)  # what the app and every command do on open
    assert consistent(store)
    assert entries_of(store, "cases") == [(0, "clerk01", "committed")]
    code, said = cli(*args, "--community", "QTX01", "--user", "clerk01")
    assert code == 0 and t("ingest_nothing_changed", "zh") in said


def test_a_full_disk_for_the_audit_intent_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "data")
    seed_grids(store, communities=2)
    upload = tmp_path / "nov.csv"
    upload.write_bytes(csv_bytes([case_row("N1", "QTX01", "QTX01-G01")]))
    before = snapshot(store.tables_dir)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("GOVDASH_NOW", "2025-12-01T10:00:00")
    monkeypatch.setattr(Store, "append_rows", full)
    args = ["--data-dir", str(store.root), "ingest", str(upload), "--dataset", "cases"]
    code, said = cli(*args, "--community", "QTX01")
    assert code == 2 and "磁盘空间不足" in said and "数据保持原样" in said
    monkeypatch.undo()
    assert store.table_version("cases") == -1
    changed = {k for k, v in snapshot(store.tables_dir).items() if before.get(k) != v}
    assert changed <= {"_settled/cases.json"}, changed  # at most the mark named the intent
    recovery.ensure(store)
    assert consistent(store)


def test_the_upload_page_says_the_disk_is_full(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    st.cache_resource.clear()
    st.cache_data.clear()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Store, "_merge", full)
    body = (
        "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"
        "C20,QTX01,QTX01-G02,急难愁盼,路灯维修,网格走访,是,2025/11/12,,办理中,\n"
    )
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/upload.py")
    at.run()
    at.file_uploader[0].set_value(("11月台账.csv", body.encode("utf-8"), "text/csv"))
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception
    assert any("磁盘空间不足" in e.value and "数据保持原样" in e.value for e in at.error)
    assert consistent(store)
    st.cache_resource.clear()
    st.cache_data.clear()
