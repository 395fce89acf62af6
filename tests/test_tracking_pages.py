"""The 督办事项 page (pages/followups.py) through AppTest, signed in as a leader and as the
clerk of another community, on the store of tests/test_tracking.py's story; and the meeting
page's 转为督办事项 form (pages/_track.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from ingest_helpers import case_row, csv_bytes
from streamlit.testing.v1 import AppTest
from test_lifecycle import page as app_page
from test_tracking import CLERK2, LEADER, UNITS, cli, made_store, on, story

from metrics import tracking
from metrics.i18n import t
from metrics.store import Store


def page(name: str, user: str) -> AppTest:
    """The page signed in as `user` (tests/test_lifecycle.py's page)."""
    return app_page(name, auth=True, user=user)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return made_store(tmp_path, monkeypatch)


@pytest.fixture
def ids(store: Store, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("GOVDASH_LOCAL_MODE", raising=False)
    monkeypatch.delenv("GOVDASH_ADMINS", raising=False)
    made = story(store, monkeypatch)
    on(monkeypatch, "2025-11-27")
    st.cache_resource.clear()
    st.cache_data.clear()
    return made


def shown_ids(at: AppTest) -> list[str]:
    frame = at.dataframe[0].value  # the items; the second is the chosen one's history
    return sorted(frame[t("track_col_id")])


def submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]


def status(store: Store, item_id: str) -> str:
    return next(i.status for i in tracking.items(store) if i.item_id == item_id)


def test_a_leader_sees_all_and_accepts(store: Store, ids: dict[str, str]) -> None:
    at = page("followups", LEADER)
    assert shown_ids(at) == sorted(ids.values())
    at.selectbox(key="track_item").set_value(ids["B"]).run()
    assert at.radio(key="track_action").options == [
        t("track_action_accept"),
        t("track_action_return"),
        t("track_action_edit"),
    ]
    at.radio(key="track_action").set_value("accept").run()
    submit(at, t("track_action_accept"))
    assert status(store, ids["B"]) == "accepted"
    assert at.success[0].value == t(
        "track_done", action=t("track_action_accept"), title="走访独居老人"
    )


def test_a_clerk_sees_and_answers_their_own_only(store: Store, ids: dict[str, str]) -> None:
    at = page("followups", CLERK2)
    assert shown_ids(at) == [ids["C"]]  # QTX02's only; A and B are QTX01's
    assert not any(s.key == "track_community" for s in at.selectbox)  # no other community
    assert at.radio(key="track_action").options == [
        t("track_action_start"),
        t("track_action_answer"),
    ]
    at.radio(key="track_action").set_value("answer").run()
    submit(at, t("track_action_answer"))  # no feedback: refused in words, nothing written
    assert at.error[0].value == t("track_missing_feedback")
    assert status(store, ids["C"]) == "open"
    at.text_area[0].input("楼道已清理")  # sent with the submit, as a form does
    submit(at, t("track_action_answer"))
    assert status(store, ids["C"]) == "answered"
    answered = next(i for i in tracking.items(store) if i.item_id == ids["C"])
    assert (answered.feedback, str(answered.answered_on), answered.by) == (
        "楼道已清理",
        "2025-11-27",
        CLERK2,
    )


@pytest.mark.slow  # ~25 s on a busy 2-core machine: uploads and a whole review
def test_the_meeting_starts_with_the_items_and_tracks_a_follow_up(
    store: Store, ids: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on(monkeypatch, "2026-01-06")  # December closed on 5 January: the meeting's period
    for unit in UNITS:
        day = {"reported_on": "2025-12-03", "resolved_on": "2025-12-10"}
        rows = [case_row(f"D{unit}", unit, f"{unit}-G01", **day)]
        if unit == "QTX01":  # open since 1 November: 60 days at 31 December, a follow-up
            rows.append(
                case_row("N99", unit, "QTX01-G01", reported_on="2025-11-01", resolved_on="",
                         status="办理中")
            )  # fmt: skip
        upload = tmp_path / f"{unit}.csv"
        upload.write_bytes(csv_bytes(rows))
        assert cli("ingest", str(upload), "--dataset", "cases", "--community", unit)[0] == 0
    st.cache_data.clear()
    at = page("meeting", LEADER)
    assert t("sec_carried") in [h.value for h in at.subheader]
    # Due by 11-30: A late (11-24 > 11-20), B on time (11-25), C open; per community + city
    summary = at.dataframe[0].value
    assert summary[t("track_col_due")].tolist() == [2, 1, 3]
    assert summary[t("track_col_rate")].tolist() == ["50.0%", "0.0%", "33.3%"]  # 1/2 0/1 1/3
    before = len(tracking.items(store))
    assert at.selectbox(key="track_pick_followup").value == 0  # N99, the only follow-up
    at.text_input[3].input("王网格员")  # owner: title, grid, record, owner
    submit(at, t("track_form_submit"))
    made = [i for i in tracking.items(store) if i.item_id not in ids.values()]
    assert len(tracking.items(store)) == before + 1
    assert (made[0].community_id, made[0].record_kind, made[0].record_id, made[0].owner) == (
        "QTX01",
        "case",
        "N99",
        "王网格员",
    )
    assert str(made[0].deadline) == "2026-01-20"  # 14 days from 6 January, the default


def test_a_ranking_row_and_a_record_become_items(store: Store, ids: dict[str, str]) -> None:
    """转为督办事项 under the cases page's ranking (a community's figure) and under its
    records (a case, by its id)."""
    at = app_page("cases", auth=True, user=LEADER, period="2025-11")
    assert not at.exception, [e.value for e in at.exception]
    before = {i.item_id for i in tracking.items(store)}
    picks = [s for s in at.selectbox if str(s.key).startswith("track_pick_rank_")]
    assert picks, "a 转为督办事项 form under the ranking"
    picks[0].set_value("QTX02").run()
    owners = [w for w in at.text_input if w.label == t("track_col_owner")]
    owners[0].input("北苑网格员")
    form = next(b for b in at.button if b.label == t("track_form_submit"))
    form.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    made = [i for i in tracking.items(store) if i.item_id not in before]
    assert [(i.community_id, i.record_kind, i.grid_id) for i in made] == [("QTX02", "metric", None)]
    assert made[0].title.startswith("南苑社区 · ") or "QTX02" in made[0].title
    # A record: its id and community carried over.
    before |= {made[0].item_id}
    record_pick = at.selectbox(key="track_pick_rec_cases")
    case_id = record_pick.options[0]
    record_pick.set_value(record_pick.value).run()
    owners = [w for w in at.text_input if w.label == t("track_col_owner")]
    owners[-1].input("南苑网格员")
    forms = [b for b in at.button if b.label == t("track_form_submit")]
    forms[-1].click().run()
    assert not at.exception, [e.value for e in at.exception]
    made = [i for i in tracking.items(store) if i.item_id not in before]
    assert len(made) == 1 and made[0].record_kind == "case"
    assert made[0].record_id == case_id and made[0].title.endswith(case_id)
