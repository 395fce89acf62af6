"""Two kinds of store, never mixed: the demo in <data dir>/demo, the real store in
<data dir>/store made by `python -m metrics init`; what each is recorded when it is made.
Through the CLI (its main in this process, and a real process where start-up matters) and
AppTest, including the anonymous visitor of issue 11, point 1."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from app_helpers import open_page
from conftest import FIXTURES, fixture_store, fixture_table
from ingest_helpers import case_row, csv_bytes, snapshot
from streamlit.testing.v1 import AppTest

from metrics import access, demo, ingest, targets
from metrics.__main__ import main
from metrics.access import Principal
from metrics.i18n import t
from metrics.schemas import DATASETS
from metrics.store import DEMO_DIR, REPO_ROOT, Store, StoreError

ADMIN = Principal("admin@qtx.gov.cn", "admin")
REGISTERS = ["--communities", str(FIXTURES / "communities.csv")]
REGISTERS += ["--grids", str(FIXTURES / "grids.csv")]
NOVEMBER = csv_bytes([case_row("N01", "QTX01", "QTX01-G01"), case_row("N02", "QTX01", "QTX01-G02")])


def cli(*args: str) -> tuple[int, str, str]:
    """The CLI's main in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data directory, the app's too; the clock on 1 December 2025."""
    data = tmp_path / "data"
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(data))
    monkeypatch.setenv("GOVDASH_NOW", "2025-12-01T10:00:00")
    for name in ("GOVDASH_LOCAL_MODE", "GOVDASH_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield data
    st.cache_resource.clear()
    st.cache_data.clear()


def page(name: str, auth: bool = False, user: str | None = None, **params: str) -> AppTest:
    return open_page(name, user, auth=auth, **params)


def shows_nothing(at: AppTest) -> bool:
    """The set-up page: its title, and no figure, table, chart or download."""
    return (
        at.title[0].value == t("setup_title", "zh")
        and not at.metric
        and not at.dataframe
        and not at.get("plotly_chart")
        and not at.get("download_button")
    )


# -- the command line ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["summary", "--from", "2025-01", "--to", "2025-12", "--json"],
        ["history"],
        ["audit"],
        ["check"],
        ["refresh"],
        ["rollback", "cases@0"],
        ["report", "--period", "2025-11", "--out", "x.pdf"],
        ["template", "cases", "--out", "x.xlsx"],
        ["ingest", str(FIXTURES / "cases.csv"), "--dataset", "cases", "--community", "QTX01"],
    ],
    ids=lambda c: c[0],
)
def test_every_command_on_a_missing_store_says_so(root: Path, command: list[str]) -> None:
    code, out, err = cli("--data-dir", str(root), *command)
    assert (code, out) == (2, ""), "no zeros, nothing on stdout"
    assert "没有实际数据库" in err and "python -m metrics init" in err
    assert not (root / "store").exists() and not (root / "demo").exists()


def test_summary_on_a_fresh_checkout_says_there_is_no_store(root: Path) -> None:
    """As a new user types it, in a process of its own."""
    run = subprocess.run(
        [sys.executable, "-m", "metrics", "summary", "--from", "2023-01", "--to", "2025-12"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert "没有实际数据库" in run.stderr and "Traceback" not in run.stderr


def test_init_makes_an_empty_real_store_with_its_registers(root: Path) -> None:
    code, out, err = cli("--data-dir", str(root), "init", *REGISTERS, "--user", "admin")
    assert code == 0, err
    # tests/fixtures: 3 communities, 6 grids.
    assert t("store_init_done", "zh", path=root / "store", communities=3, grids=6) in out
    store = Store(root)
    assert store.kind == "real" and store.info()["created_by"] == "admin"
    assert not Store(root, DEMO_DIR).exists()
    con = store.connect()
    counts = {n: con.sql(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in ("cases", "grids")}
    assert counts == {"cases": 0, "grids": 6}
    assert [e["action"] for e in ingest.history(store, "communities")] == ["load"]
    assert store.history("communities")[0]["file_name"] == "communities.csv"
    # Every version audited once, and the store checks out.
    code, out, _ = cli("--data-dir", str(root), "check")
    assert code == 0, out
    assert t("check_audited", "zh", count=6) in out  # one version per dataset
    # Never twice; and a marker file does not make it anything else.
    (store.tables_dir / "_demo.json").write_text("{}")
    code, _, err = cli("--data-dir", str(root), "init")
    assert code == 2 and t("store_exists", "zh", path=root / "store") in err
    assert Store(root).kind == "real"


def test_init_checks_the_registers_like_an_upload(root: Path, tmp_path: Path) -> None:
    grids = (FIXTURES / "grids.csv").read_text(encoding="utf-8").splitlines()
    # Excel row 3 (QTX01-G02): households not a number; row 5 (QTX02-G01): a community
    # that is not in the register.
    grids[2] = grids[2].replace(",520,", ",很多,")
    grids[4] = grids[4].replace(",QTX02,", ",QTX09,")
    bad = tmp_path / "grids.csv"
    bad.write_text("\n".join(grids) + "\n", encoding="utf-8")
    args = ["--communities", str(FIXTURES / "communities.csv"), "--grids", str(bad)]
    code, _, err = cli("--data-dir", str(root), "init", *args)
    assert code == 2
    rows = [line.split("\t")[:3] for line in err.splitlines() if line.startswith("行 ")]
    assert rows == [["行 3", "households", "很多"], ["行 5", "community_id", "QTX09"]]
    assert t("store_init_refused", "zh", file="grids.csv") in err
    assert not Store(root).exists(), "nothing written"


def test_the_demo_lives_apart_and_is_never_written_over_a_real_store(root: Path) -> None:
    fixture_store(root, DEMO_DIR)  # stands in for `python -m metrics demo` (test_demo.py)
    code, out, err = cli("--data-dir", str(root), "summary", "--from", "2025-09", "--to", "2025-09")
    assert code == 0 and out, "the demo's figures"
    assert t("store_using_demo", "zh", path=root / "store", demo=root / "demo") in err
    code, _, err = cli(
        "--data-dir", str(root), "ingest", str(FIXTURES / "cases.csv"), "--dataset", "cases",
        "--community", "QTX01",
    )  # fmt: skip
    assert code == 2 and "没有实际数据库" in err, "uploads need a real store"
    assert cli("--data-dir", str(root), "init", *REGISTERS)[0] == 0
    real = snapshot(root / "store")
    with pytest.raises(StoreError):
        demo.write(Store(root))  # the real store's directory: refused
    assert snapshot(root / "store") == real
    code, _, err = cli("--data-dir", str(root), "summary", "--from", "2025-09", "--to", "2025-09")
    assert code == 0 and err == "", "the real store now, and no word of the demo"


def test_the_demo_refuses_every_change(tmp_path: Path) -> None:
    store = fixture_store(tmp_path, DEMO_DIR)
    before = snapshot(store.tables_dir)
    validation = ingest.validate(NOVEMBER, "11月.csv", "cases", "QTX01", store)
    assert validation.ok
    with pytest.raises(ingest.IngestError) as refused:
        access.commit_upload(store, validation, ADMIN)
    assert refused.value.problem.key == "store_demo_read_only"
    assert "python -m metrics init" in refused.value.message("zh")
    with pytest.raises(ingest.IngestError) as refused:
        access.rollback(store, "cases", 0, ADMIN)
    assert refused.value.problem.key == "store_demo_read_only"
    with pytest.raises(StoreError):
        access.save_targets(store, targets.load(store), ADMIN)
    with pytest.raises(StoreError):
        access.save_roles(store, {"users": []}, ADMIN)
    with pytest.raises(StoreError):
        store.upsert("cases", validation.rows, community_id="QTX01")  # type: ignore[arg-type]
    changed = {k for k, v in snapshot(store.tables_dir).items() if before.get(k) != v}
    assert {k.split("/")[0] for k in changed} <= {"_audit"}, changed


# -- stores older than kinds --------------------------------------------------------------
def legacy_store(root: Path, *, real_upload: bool) -> Store:
    """A store as earlier releases left it: every table loaded by the demo builder, its
    marker, no kind recorded; with `real_upload`, a clerk's upload on top (issue 11, 1)."""
    store = Store(root)
    for name in DATASETS:
        store.replace_all(name, fixture_table(name), {"user": "demo"}, refresh=False)
    if real_upload:
        row = case_row("REAL-1", "QTX01", "QTX01-G01", note="居民张某的家庭住址")
        validation = ingest.validate(csv_bytes([row]), "real.csv", "cases", "QTX01", store)
        assert validation.rows is not None
        store.append("cases", validation.rows, {"user": "clerk01", "community_id": "QTX01"})
    store.refresh_all()
    shutil.rmtree(store.tables_dir / "_settled")
    (store.tables_dir / "_store.json").unlink()
    (store.tables_dir / "_demo.json").write_text('{"seed": 20231}')
    return Store(root)


def test_a_legacy_demo_is_the_demo_and_real_uploads_make_it_real(tmp_path: Path) -> None:
    demo_only = legacy_store(tmp_path / "a", real_upload=False)
    assert demo_only.kind == "demo" and demo_only.info()["legacy"] is True
    mixed = legacy_store(tmp_path / "b", real_upload=True)
    assert mixed.kind == "real", "one commit not the demo builder's makes it real"
    assert Store(tmp_path / "b").info()["kind"] == "real", "recorded once"


def test_an_anonymous_visitor_never_sees_real_rows_of_a_store_that_began_as_the_demo(
    root: Path,
) -> None:
    legacy_store(root, real_upload=True)
    for name in ("overview", "cases", "meeting", "registry"):
        at = page(name)
        assert shows_nothing(at), name
        assert "居民张某" not in str(at)


# -- the app --------------------------------------------------------------------------------
def test_a_fresh_machine_shows_the_demo_then_init_shows_nothing_without_sign_in(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo of the fixtures stands in for the full demo (test_pages builds that).
    fixture_store(root, DEMO_DIR)
    at = page("overview", period="2025-09")
    assert any(t("demo_badge", "zh") in m.value for m in at.markdown)
    assert any(t("demo_mode", "zh") in i.value for i in at.sidebar.info)
    disputes = "排查处理矛盾纠纷"
    assert {m.label: m.value for m in at.metric}[disputes] == "3起"  # the demo's September
    # The operator makes the real store while the server runs: the next page has no data.
    assert cli("--data-dir", str(root), "init", *REGISTERS)[0] == 0
    for name in ("overview", "cases", "upload", "admin"):
        assert shows_nothing(page(name)), name
    # In local mode the real store, with no badge, and uploads on.
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    at = page("upload")
    assert at.title[0].value == t("page_upload", "zh") and at.file_uploader
    assert not any(t("demo_badge", "zh") in m.value for m in at.markdown)
    # Its empty ledgers, never the demo's figures (both stores are at version 0 of every
    # table: equal version tokens, so the page caches must know which store they read).
    at = page("overview", period="2025-09")
    assert {m.label: m.value for m in at.metric}.get(disputes) != "3起"


def test_signed_in_on_the_demo_the_banner_says_how_to_start_a_real_store(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's scenario: [auth] set, no store yet, so the demo is shown."""
    fixture_store(root, DEMO_DIR)
    monkeypatch.setenv("GOVDASH_ADMINS", "admin@qtx.gov.cn")
    at = page("overview", auth=True, user="admin@qtx.gov.cn")
    assert at.title[0].value == t("page_overview", "zh")
    assert any(t("demo_badge", "zh") in m.value for m in at.markdown)
    assert any("python -m metrics init" in i.value for i in at.sidebar.info)
    upload = page("upload", auth=True, user="admin@qtx.gov.cn")
    assert not upload.file_uploader, "no uploads into the demo"
    said = [i.value for i in upload.info]
    assert any("演示数据库只读" in s and "python -m metrics init" in s for s in said), said


# -- the audit log on the command line ------------------------------------------------------
def test_the_audit_command_lists_every_entry_for_administrators(root: Path, tmp_path: Path) -> None:
    assert cli("--data-dir", str(root), "init", *REGISTERS, "--user", "ops")[0] == 0
    upload = tmp_path / "11月.csv"
    upload.write_bytes(NOVEMBER)
    args = ["ingest", str(upload), "--dataset", "cases", "--community", "QTX01", "--user", "ops"]
    assert cli("--data-dir", str(root), *args)[0] == 0
    code, out, _ = cli("--data-dir", str(root), "audit", "--json")
    assert code == 0
    entries = [json.loads(line) for line in out.splitlines()]
    # Six loads by init (one a dataset), then the upload: oldest first.
    assert [e["action"] for e in entries] == ["load"] * 6 + ["upload"]
    last = entries[-1]
    assert (last["user"], last["status"], last["dataset"], last["version"]) == (
        "ops", "committed", "cases", 1,
    )  # fmt: skip
    assert json.loads(last["detail"])["file_name"] == "11月.csv"
    code, out, _ = cli("--data-dir", str(root), "audit", "--from", "2099-01-01")
    assert (code, out) == (0, "")
    code, out, _ = cli("--data-dir", str(root), "audit")
    assert "\tupload\t已提交\tcases@1\t" in out
    code, _, err = cli("--data-dir", str(root), "audit", "--from", "去年")
    assert code == 2 and t("cli_bad_date", "zh", date="去年") in err


def test_check_finds_what_recovery_repairs_and_what_it_cannot(root: Path) -> None:
    assert cli("--data-dir", str(root), "init", *REGISTERS)[0] == 0
    store = Store(root)
    # A bulk write that nobody settled, holding a case id of QTX01 under QTX02 as well.
    rows = [case_row("DUP-1", "QTX01", "QTX01-G01"), case_row("DUP-1", "QTX02", "QTX02-G01")]
    validation = ingest.validate(csv_bytes(rows[:1]), "a.csv", "cases", "QTX01", store)
    other = ingest.validate(csv_bytes(rows[1:]), "b.csv", "cases", "QTX02", store)
    assert validation.ok and other.ok and validation.rows is not None and other.rows is not None
    store.append("cases", validation.rows, {"user": "bulk"}, refresh=False)
    store.append("cases", other.rows, {"user": "bulk"}, refresh=False)
    code, out, _ = cli("--data-dir", str(root), "check")
    assert code == 1
    assert "DUP-1" in out and "cases_rollup" in out and "没有审计记录" in out
    code, out, _ = cli("--data-dir", str(root), "check", "--repair")
    assert code == 1, "a duplicated key is the data's, not recovery's to undo"
    assert "DUP-1" in out and "cases_rollup" not in out and "没有审计记录" not in out
