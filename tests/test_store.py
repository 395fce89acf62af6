"""The Delta Lake store: whole-table replace, upsert by natural key, replace-this-period,
rollback, history with our metadata, and connections pinned to one version."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from metrics.schemas import SCORE_PARTS
from metrics.store import DEMO_DIR, Store, StoreError, sql_code

SEPTEMBER = (dt.date(2025, 9, 1), dt.date(2025, 9, 30))
Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))


def rows(store: Store, dataset: str, *columns: str) -> list[tuple[object, ...]]:
    """The dataset as the latest version shows it, sorted, in the columns asked for."""
    select = ", ".join(columns)
    return store.connect().sql(f"SELECT {select} FROM {dataset} ORDER BY ALL").fetchall()


def case(
    case_id: str, community_id: str, grid_id: str, reported_on: str, **more: str
) -> dict[str, str]:
    """A case as text, the way a CSV row arrives; the store casts it to the contract."""
    row = {
        "case_id": case_id,
        "community_id": community_id,
        "grid_id": grid_id,
        "case_type": "矛盾纠纷",
        "category": "邻里纠纷",
        "channel": "板凳会",
        "is_supervised": "false",
        "reported_on": reported_on,
        "status": "办理中",
    }
    return row | more


def table(*records: dict[str, str]) -> pa.Table:
    return pa.Table.from_pylist(list(records))


def test_replace_all_conforms_and_counts_versions(store: Store) -> None:
    assert store.version().of("cases") == 0
    assert rows(store, "cases", "count(*)") == [(12,)]
    # The text from the CSV became the contract's types; the missing note became null.
    types = dict(
        store.connect().sql("SELECT column_name, column_type FROM (DESCRIBE cases)").fetchall()
    )
    assert types["reported_on"] == "DATE" and types["is_supervised"] == "BOOLEAN"
    version = store.replace_all("cases", table(case("C99", "QTX03", "QTX03-G01", "2025-12-01")))
    assert version == 1
    assert rows(store, "cases", "case_id", "note") == [("C99", None)]


def test_upsert_inserts_and_updates_by_key_in_one_commit(store: Store) -> None:
    changed = case(
        "C05", "QTX01", "QTX01-G01", "2025-09-25", resolved_on="2025-10-30", status="已化解"
    )
    new = case("C13", "QTX01", "QTX01-G02", "2025-11-28")
    version = store.upsert(
        "cases", table(changed, new), community_id="QTX01", meta={"user": "clerk01"}
    )
    assert version == 1  # one commit on top of replace_all's version 0
    assert rows(store, "cases", "count(*)") == [(13,)]
    assert rows(store, "cases", "case_id", "status", "resolved_on")[4] == (
        "C05",
        "已化解",
        dt.date(2025, 10, 30),
    )
    assert ("C13", "办理中") in rows(store, "cases", "case_id", "status")
    last = store.history("cases")[0]
    assert (last["version"], last["operation"], last["user"]) == (1, "MERGE", "clerk01")
    assert (last["num_target_rows_inserted"], last["num_target_rows_updated"]) == (1, 1)


def test_upsert_replace_period_deletes_only_that_community_and_period(store: Store) -> None:
    # QTX01 re-sends September with C03 corrected and C04 as it was: C05 is no longer there.
    c03 = case("C03", "QTX01", "QTX01-G01", "2025-09-03", category="家庭纠纷")
    c04 = case("C04", "QTX01", "QTX01-G03", "2025-09-15", resolved_on="2025-10-20", status="未化解")
    store.upsert("cases", table(c03, c04), community_id="QTX01", replace_period=SEPTEMBER)
    ids = [r[0] for r in rows(store, "cases", "case_id")]
    # QTX01: Aug C01 C02 and Oct/Nov C06 C07 kept; QTX02 (C08..C12, C09 C10 in Sep) untouched.
    assert ids == ["C01", "C02", "C03", "C04", "C06", "C07", "C08", "C09", "C10", "C11", "C12"]
    assert ("C03", "家庭纠纷") in rows(store, "cases", "case_id", "category")
    assert store.version().of("cases") == 1


def test_replace_period_by_quarter(store: Store) -> None:
    """Ratings carry a quarter, not a date: the period's quarters are what is replaced."""
    spring = {
        "quarter": "2025Q3",
        "community_id": "QTX01",
        "compound": "春华苑",
        "company": "宁安物业",
        **dict.fromkeys(SCORE_PARTS, "95"),
        "total_score": "95",
        "stars": "5",
        "outcome": "无",
    }
    store.upsert("property_ratings", table(spring), community_id="QTX01", replace_period=Q3)
    assert rows(
        store, "property_ratings", "quarter", "community_id", "compound", "total_score"
    ) == [
        ("2025Q2", "QTX02", "秋华苑", 72.0),
        ("2025Q3", "QTX01", "春华苑", 95.0),  # updated; 夏华苑 of Q3 deleted
        ("2025Q3", "QTX02", "秋华苑", 63.0),  # another community: kept
        ("2025Q4", "QTX01", "夏华苑", 73.0),  # another quarter: kept
        ("2025Q4", "QTX01", "春华苑", 93.0),
        ("2025Q4", "QTX02", "秋华苑", 54.0),
    ]


def test_upsert_creates_a_missing_table(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.is_empty()
    version = store.upsert(
        "cases", table(case("C01", "QTX01", "QTX01-G01", "2025-08-05")), community_id="QTX01"
    )
    assert version == 0
    assert store.version().of("cases") == 0 and store.version().of("wishes") == -1
    assert not store.is_empty()


def test_rollback_is_a_new_version_with_the_old_content(store: Store) -> None:
    before = rows(store, "cases", "*")
    store.upsert(
        "cases",
        table(case("C13", "QTX01", "QTX01-G01", "2025-11-28")),
        community_id="QTX01",
        replace_period=SEPTEMBER,
    )
    assert rows(store, "cases", "*") != before
    version = store.rollback("cases", 0, meta={"user": "admin", "reason": "wrong file"})
    assert version == 2
    assert rows(store, "cases", "*") == before
    last = store.history("cases")[0]
    assert (last["version"], last["operation"]) == (2, "RESTORE")
    assert (last["user"], last["reason"]) == ("admin", "wrong file")


def test_history_carries_our_metadata(store: Store) -> None:
    store.upsert(
        "wishes",
        table(
            {
                "wish_id": "W09",
                "community_id": "QTX02",
                "grid_id": "QTX02-G02",
                "beneficiary_group": "残疾人",
                "wish_category": "家电维修",
                "registered_on": "2025-11-25",
                "status": "待认领",
            }
        ),
        community_id="QTX02",
        meta={"user": "clerk02", "file": "11月微心愿.xlsx", "rows": "1"},
    )
    history = store.history("wishes")
    assert [h["version"] for h in history] == [1, 0]  # newest first
    assert {k: history[0][k] for k in ("user", "file", "rows")} == {
        "user": "clerk02",
        "file": "11月微心愿.xlsx",
        "rows": "1",
    }
    assert (history[1]["user"], history[1]["source"]) == ("pytest", "wishes")
    assert isinstance(history[0]["committed_at"], dt.datetime)
    assert store.history("cases")[0]["operation"] != "MERGE"  # other tables unchanged


def test_connect_is_pinned_to_a_version(store: Store) -> None:
    pinned = store.version()
    con = store.connect(pinned)
    store.upsert(
        "cases", table(case("C13", "QTX01", "QTX01-G01", "2025-11-28")), community_id="QTX01"
    )
    assert con.sql("SELECT count(*) FROM cases").fetchall() == [(12,)]
    assert store.connect().sql("SELECT count(*) FROM cases").fetchall() == [(13,)]
    assert store.connect(pinned).sql("SELECT count(*) FROM cases").fetchall() == [(12,)]
    assert store.version().token != pinned.token
    assert "cases@1" in store.version().token


@pytest.mark.parametrize("code", ["QTX01", "QTX01-G01", "a.b_c-1"])
def test_sql_code_accepts_codes(code: str) -> None:
    assert sql_code(code) == f"'{code}'"


@pytest.mark.parametrize("code", ["QTX01' OR '1'='1", "QTX'01", "", "QTX 01", "-QTX01", "社区1"])
def test_sql_code_rejects_anything_else(code: str) -> None:
    with pytest.raises(ValueError):
        sql_code(code)


def test_upsert_rejects_a_quoted_community_before_writing(store: Store) -> None:
    with pytest.raises(ValueError):
        store.upsert(
            "cases",
            table(case("C13", "QTX01", "QTX01-G01", "2025-11-28")),
            community_id="x' OR 'a'='a",
            replace_period=SEPTEMBER,
        )
    assert store.version().of("cases") == 0
    assert rows(store, "cases", "count(*)") == [(12,)]


# -- what a commit records, what a store is, and its locks (decision 0008) ------------------
def test_every_commit_records_the_periods_its_rows_cover(store: Store) -> None:
    # tests/fixtures: cases reported 2025-08..2025-11 (3, 5, 2, 2 of them), ratings of
    # 2025Q2 (1), 2025Q3 (3) and 2025Q4 (3).
    assert store.history("cases")[0]["periods"] == ["2025-08", "2025-09", "2025-10", "2025-11"]
    assert store.history("property_ratings")[0]["periods"] == ["2025Q2", "2025Q3", "2025Q4"]
    assert store.history("communities")[0]["periods"] == []  # a register has no period
    store.upsert(
        "cases",
        table(
            case("C13", "QTX01", "QTX01-G01", "2025-11-28"),
            case("C14", "QTX01", "QTX01-G02", "2025-12-01"),
        ),
        community_id="QTX01",
    )
    last = store.history("cases")[0]
    assert (last["periods"], last["touched"]) == (["2025-11", "2025-12"], "QTX01")
    store.rollback("cases", 0)
    assert store.history("cases")[0]["periods"] is None  # a restore covers no period of its own


def test_a_store_is_what_it_was_created_as(tmp_path: Path) -> None:
    fresh = Store(tmp_path)
    assert fresh.kind is None and not fresh.exists()
    fresh.replace_all(
        "cases", table(case("C01", "QTX01", "QTX01-G01", "2025-08-05")), {"user": "t"}
    )
    assert Store(tmp_path).kind == "real", "written without init: real, the safe kind"
    assert Store(tmp_path).info()["created_by"] == "t"
    (fresh.tables_dir / "_demo.json").write_text("{}")  # a marker makes nothing a demo
    assert Store(tmp_path).kind == "real"
    with pytest.raises(StoreError):
        Store(tmp_path).create("demo", "t")
    demo = Store(tmp_path, DEMO_DIR)
    demo.create("demo", "t")
    assert demo.tables_dir == tmp_path / "demo" and Store(tmp_path, DEMO_DIR).is_demo
    with pytest.raises(StoreError):
        demo.upsert(
            "cases", table(case("C01", "QTX01", "QTX01-G01", "2025-08-05")), community_id="QTX01"
        )


def test_a_lock_is_exclusive_between_threads_and_reentrant_in_one(tmp_path: Path) -> None:
    store = Store(tmp_path)
    order: list[str] = []
    with store.lock("x"), store.lock("x"):  # the same thread takes it again
        other = threading.Thread(target=lambda: _take(store, order))
        other.start()
        time.sleep(0.2)
        order.append("first done")
        with store.try_lock("x") as mine:
            assert mine
    other.join(timeout=5)
    assert order == ["first done", "second"]


def _take(store: Store, order: list[str]) -> None:
    with store.try_lock("x") as free:
        assert not free, "held by the other thread"
    with store.lock("x"):
        order.append("second")
