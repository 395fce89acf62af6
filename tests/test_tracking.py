"""Tracked follow-up items (督办事项, issue 14 points 1-2): their lifecycle on a real store
made by `init` (and an upload) with the clock moving, the closure rate by hand, the next
meeting's carried section, the rights (access and CLI) and the demo's refusal.

The story, three items made on 3 November 2025 (clock GOVDASH_NOW):
  A  QTX01, due 11-20: started 11-05, answered 11-18, returned 11-19, answered 11-24 (late),
     accepted 11-26
  B  QTX01, due 11-25: answered on 11-25 (its deadline: on time); returned on 12-02
  C  QTX02, due 11-15: nothing done (逾期 from 11-16)
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import FIXTURES, fixture_store
from ingest_helpers import case_row, csv_bytes
from test_lifecycle import cli
from test_report import pdf_text

from metrics import access, catalog, review, tracking
from metrics.access import AccessDenied, Principal
from metrics.i18n import t
from metrics.periods import Period
from metrics.report import render_pdf, render_xlsx
from metrics.review import carried
from metrics.store import DEMO_DIR, Store, StoreError

ADMIN = Principal("admin@qtx.gov.cn", "admin")
LEADER, CLERK1, CLERK2 = "leader@qtx.gov.cn", "clerk1@qtx.gov.cn", "clerk2@qtx.gov.cn"
ROLES = {
    "users": [
        {"user": LEADER, "role": "leader", "community_id": None, "name": "领导"},
        {"user": CLERK1, "role": "clerk", "community_id": "QTX01", "name": "北苑"},
        {"user": CLERK2, "role": "clerk", "community_id": "QTX02", "name": "南苑"},
        {"user": ADMIN.user, "role": "admin", "community_id": None, "name": "管理员"},
    ],
    "settings": {"clerks_see_ranking": True},
}
NOVEMBER = Period.parse("2025-11")
UNITS = ["QTX01", "QTX02", "QTX03"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return made_store(tmp_path, monkeypatch)


def made_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A real store made by `init`, one upload of cases, the roles; the clock on 3 Nov."""
    root = tmp_path / "data"
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(root))
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-03T10:00:00")
    registers = ["--communities", str(FIXTURES / "communities.csv")]
    assert cli("init", *registers, "--grids", str(FIXTURES / "grids.csv"))[0] == 0
    upload = tmp_path / "cases.csv"
    upload.write_bytes(csv_bytes([case_row("N01", "QTX01", "QTX01-G01")]))
    assert cli("ingest", str(upload), "--dataset", "cases", "--community", "QTX01")[0] == 0
    made = Store(root)
    access.save_roles(made, ROLES, ADMIN)
    return made


def on(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    monkeypatch.setenv("GOVDASH_NOW", f"{day}T10:00:00")


def add(who: str, title: str, community: str, deadline: str) -> str:
    code, out, err = cli(
        "--as-user", who, "followups", "add", "--title", title, "--community", community,
        "--owner", "张主任", "--deadline", deadline, "--priority", "high", "--json",
    )  # fmt: skip
    assert code == 0, err
    item_id: str = json.loads(out)["item_id"]
    return item_id


def step(who: str, action: str, item_id: str, *extra: str) -> tuple[int, str, str]:
    return cli("--as-user", who, "followups", action, item_id, *extra)


def story(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    ids = {
        "A": add(LEADER, "修复北苑3号楼路灯", "QTX01", "2025-11-20"),
        "B": add(LEADER, "走访独居老人", "QTX01", "2025-11-25"),
        "C": add(LEADER, "清理南苑楼道杂物", "QTX02", "2025-11-15"),
    }
    on(monkeypatch, "2025-11-05")
    assert step(CLERK1, "start", ids["A"])[0] == 0
    on(monkeypatch, "2025-11-18")
    assert step(CLERK1, "answer", ids["A"], "--feedback", "已更换灯泡")[0] == 0
    on(monkeypatch, "2025-11-19")
    assert step(LEADER, "return", ids["A"], "--reason", "线路仍有故障")[0] == 0
    on(monkeypatch, "2025-11-24")
    assert step(CLERK1, "answer", ids["A"], "--feedback", "线路已修复")[0] == 0
    on(monkeypatch, "2025-11-25")
    assert step(CLERK1, "answer", ids["B"], "--feedback", "已走访12户")[0] == 0
    on(monkeypatch, "2025-11-26")
    assert step(LEADER, "accept", ids["A"])[0] == 0
    return ids


def state(store: Store, item_id: str, day: str | None = None) -> tracking.Item:
    as_of = None if day is None else Period.parse(day[:7]).start.replace(day=int(day[8:]))
    return next(i for i in tracking.items(store, as_of) if i.item_id == item_id)


def test_lifecycle_and_overdue(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = story(store, monkeypatch)
    a = state(store, ids["A"])
    assert (a.status, a.event_no) == ("accepted", 6)  # create start answer return answer accept
    assert str(a.answered_on) == "2025-11-24" and a.closed_late()  # 24 > 20
    assert tracking.judge(a) == "late"
    b = state(store, ids["B"])
    assert (b.status, str(b.answered_on), tracking.judge(b)) == (
        "answered",
        "2025-11-25",
        "on_time",
    )
    # A as it stood: open on 11-03, in progress 11-05, answered 11-18, back 11-19 (no answer)
    assert [state(store, ids["A"], d).status for d in ("2025-11-03", "2025-11-05")] == [
        "open",
        "in_progress",
    ]
    returned = state(store, ids["A"], "2025-11-19")
    assert (returned.status, returned.answered_on, returned.reason) == (
        "in_progress",
        None,
        "线路仍有故障",
    )
    # 逾期 after the deadline day only, while no answer stands: C (due 11-15)
    c = state(store, ids["C"])
    assert [c.overdue(dt.date(2025, 11, d)) for d in (15, 16)] == [False, True]
    assert not b.overdue(dt.date(2025, 12, 1))  # answered in time: waits for 销号, not 逾期
    assert state(store, ids["A"], "2025-11-21").overdue(dt.date(2025, 11, 21))  # returned, late
    actions = list(access.audit_log(store, ADMIN)["action"])
    assert actions.count("followup_create") == 3 and actions.count("followup_answer") == 3
    assert actions.count("followup_accept") == 1 and actions.count("followup_return") == 1


def test_closure_rate_by_hand(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = story(store, monkeypatch)
    on(monkeypatch, "2025-12-02")
    assert step(LEADER, "return", ids["B"], "--reason", "请补充走访记录")[0] == 0
    con = store.connect()
    try:
        table = catalog.by_unit(con, ["followup_closure_rate"], NOVEMBER, UNITS)
        total = catalog.totals(con, ["followup_closure_rate"], NOVEMBER)
        october = catalog.totals(con, ["followup_closure_rate"], Period.parse("2025-10"))
    finally:
        con.close()
    # Due in November: A (late), B (on time as of 11-30: its return came on 12-02), C (open)
    assert total["followup_closure_rate"] == pytest.approx(1 / 3)
    # QTX01: B of A, B → 1/2; QTX02: C open → 0/1; QTX03 had none due → no value
    assert list(table["followup_closure_rate"]) == pytest.approx(
        [1 / 2, 0, float("nan")], nan_ok=True
    )
    assert october["followup_closure_rate"] is None  # nothing due in October


@pytest.mark.slow  # ~25 s on a busy 2-core machine: uploads and a whole review
def test_next_meeting_starts_with_the_items(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ids = story(store, monkeypatch)
    on(monkeypatch, "2025-12-02")
    assert step(LEADER, "return", ids["B"], "--reason", "请补充走访记录")[0] == 0
    on(monkeypatch, "2026-01-06")
    for unit in UNITS:  # December's ledgers, so that the meeting has its league
        december = tmp_path / f"{unit}.csv"
        row = case_row(
            f"D{unit}", unit, f"{unit}-G01", reported_on="2025-12-03", resolved_on="2025-12-10"
        )
        december.write_bytes(csv_bytes([row]))
        assert cli("ingest", str(december), "--dataset", "cases", "--community", unit)[0] == 0
    data = review.review(store, Period.parse("2025-12"))
    assert data.carried is not None
    # Due by 11-30 and not closed before 11-01: A, B, C, as they stood on 12-31:
    # A answered 11-24 > 11-20 late; B returned 12-02, open; C open
    assert list(data.carried["verdict"]) == ["late", "open", "open"]
    table = carried.summary(data.carried)
    rows = table[["community", "due", "on_time", "late", "open"]].values.tolist()
    assert rows == [["北苑社区", 2, 0, 1, 1], ["南苑社区", 1, 0, 0, 1], ["全市", 3, 0, 1, 2]]
    assert t("track_carried_sentence", due=3, on_time=0, late=1, open=2, rate="0.0%") in (
        data.narrative
    )
    # The packet: the PDF's section and the XLSX's sheet say the same (1 late, 2 open)
    when = dt.datetime(2026, 1, 6, 10, tzinfo=dt.UTC)
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(data, when)))
    sheet = book[t("sec_carried")]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        ["北苑社区", 2, 0, 1, 1, 0],
        ["南苑社区", 1, 0, 0, 1, 0],
        ["全市", 3, 0, 1, 2, 0],
    ]
    text = pdf_text(render_pdf(data, when), tmp_path)
    assert t("sec_carried") in text and t("track_col_late") in text
    # The November meeting's own section: items due by 10-31, none
    assert carried.carried_items(store, NOVEMBER, {}).empty


def test_a_clerk_sees_and_answers_only_their_own(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = story(store, monkeypatch)
    clerk2 = access.resolve(store, CLERK2)
    assert clerk2 is not None
    assert [i.item_id for i in access.tracked_items(store, clerk2)] == [ids["C"]]
    with pytest.raises(AccessDenied):
        access.tracked_items(store, clerk2, community_id="QTX01")
    with pytest.raises(AccessDenied):
        access.act_on_item(store, clerk2, ids["B"], "start")
    with pytest.raises(AccessDenied):
        access.item_history(store, clerk2, ids["B"])
    before = len(tracking.events(store))
    code, out, err = step(CLERK2, "answer", ids["B"], "--feedback", "冒名办结")
    assert (code, out) == (2, "") and err.strip() == t("access_denied_community", community="QTX01")
    code, out, _ = cli("--as-user", CLERK2, "followups", "list", "--json")
    assert [json.loads(line)["item_id"] for line in out.splitlines()] == [ids["C"]]
    assert cli("--as-user", CLERK2, "followups", "list", "--community", "QTX01")[0] == 2
    # A clerk neither accepts, returns nor creates, even in their own community
    code, _, err = step(CLERK1, "accept", ids["B"])
    assert code == 2 and err.strip() == t("access_denied_action", action="accept")
    assert cli("--as-user", CLERK1, "followups", "add", "--title", "x", "--community", "QTX01",
               "--owner", "a", "--deadline", "2025-12-31")[0] == 2  # fmt: skip
    assert len(tracking.events(store)) == before  # nothing written


def test_bad_input_is_refused_in_words(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = story(store, monkeypatch)
    before = len(tracking.events(store))
    base = ["followups", "add", "--title", "x", "--owner", "a"]
    cases = [
        ([*base, "--community", "QTX01", "--deadline", "2025-13-01"], "track_bad_deadline",
         {"value": "2025-13-01"}),
        ([*base, "--community", "QTX01", "--deadline", "2025-11-01"], "track_deadline_past",
         {"day": "2025-11-01"}),
        ([*base, "--community", "QTX09", "--deadline", "2025-12-31"], "track_unknown_community",
         {"community": "QTX09"}),
        (["followups", "accept", ids["C"]], "track_bad_move",
         {"status": "待办", "action": "销号"}),
        (["followups", "answer", ids["C"], "--feedback", " "], "track_missing_feedback", {}),
        (["followups", "start", "nope"], "track_unknown_item", {"item": "nope"}),
    ]  # fmt: skip
    for args, key, params in cases:
        code, out, err = cli(*args)
        assert (code, out, err.strip()) == (2, "", t(key, **params)), args
    assert len(tracking.events(store)) == before


def test_the_demo_refuses_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(root))
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-03T10:00:00")
    demo = fixture_store(root, DEMO_DIR)
    code, _, err = cli("followups", "add", "--title", "x", "--community", "QTX01", "--owner",
                       "a", "--deadline", "2025-12-31")  # fmt: skip
    assert code == 2 and t("store_demo_read_only") in err
    with pytest.raises(StoreError):
        tracking.create(demo, "x", {"title": "x", "community_id": "QTX01", "owner": "a",
                                    "deadline": "2025-12-31"})  # fmt: skip
    assert tracking.items(demo) == [] and cli("followups", "list")[0] == 0
