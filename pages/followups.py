"""督办事项 Follow-up items: the items the meetings assign, filtered by status and
community, with the actions the reader's role allows: a clerk starts and answers their own
community's items (and sees no other's); a leader accepts (销号), returns (退回) or edits.
Every read and write goes through metrics.access, which checks the rights again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from metrics import access
from metrics.access import Principal, Store
from metrics.i18n import Refusal
from metrics.periods import today
from pages import _cache
from pages._filters import community_names
from pages._page import header, run_page
from pages._records import labelled, pinned
from pages._signin import is_demo_shown, who
from pages._text import lang, md_escape, tr

STATUSES = ("open", "in_progress", "answered", "accepted")
PRIORITIES = ("high", "medium", "low")
COLUMNS = {
    "item_id": "track_col_id",
    "status_label": "track_col_status",
    "overdue_label": "track_overdue",
    "priority_label": "track_col_priority",
    "title": "track_col_title",
    "community": "track_col_community",
    "grid_id": "track_col_grid",
    "record_id": "track_col_record",
    "owner": "track_col_owner",
    "deadline": "track_col_deadline",
    "answered_on": "track_col_answered_on",
    "feedback": "track_col_feedback",
    "reason": "track_col_reason",
}


def _filters(me: Principal) -> tuple[str | None, str | None]:
    c1, c2 = st.columns(2)
    status = c1.selectbox(
        tr("track_filter_status"),
        [None, *STATUSES],
        format_func=lambda s: tr("track_filter_all") if s is None else tr(f"track_status_{s}"),
        key="track_status",
    )
    community = None
    if me.can("view_city"):
        names = community_names()
        community = c2.selectbox(
            tr("track_col_community"),
            [None, *names],
            format_func=lambda c: tr("track_filter_all") if c is None else names.get(c, c),
            key="track_community",
        )
    return status, community


def _table(frame: pd.DataFrame) -> None:
    names = community_names()
    shown = frame.assign(
        community=[names.get(c, c) for c in frame["community_id"]],
        overdue_label=[tr("track_overdue") if o else "" for o in frame["overdue"]],
        priority_label=[tr(f"track_priority_{p}") for p in frame["priority"]],
    )
    table = labelled(shown, COLUMNS)
    st.dataframe(
        table,
        hide_index=True,
        placeholder="—",
        key="track_table",
        column_config=pinned(table.columns),  # the item's number stays as the rest scrolls
    )


def _given(action: str, one: access.Item) -> dict[str, Any]:
    """The fields an action asks for, inside the action's form."""
    if action == "answer":
        return {
            "feedback": st.text_area(tr("track_col_feedback")),
            "answered_on": st.date_input(
                tr("track_col_answered_on"), value=today(), max_value=today()
            ),
        }
    if action == "return":
        return {"reason": st.text_area(tr("track_col_reason"))}
    if action == "edit":
        return {
            "title": st.text_input(tr("track_col_title"), value=one.title),
            "owner": st.text_input(tr("track_col_owner"), value=one.owner),
            "deadline": st.date_input(tr("track_col_deadline"), value=one.deadline),
            "priority": st.selectbox(
                tr("track_col_priority"),
                PRIORITIES,
                index=PRIORITIES.index(one.priority),
                format_func=lambda p: tr(f"track_priority_{p}"),
            ),
        }
    return {}


def _act(store: Store, me: Principal, found: list[access.Item]) -> None:
    by_id = {i.item_id: i for i in found}
    chosen = st.selectbox(
        tr("track_choose_item"),
        list(by_id),
        format_func=lambda i: f"{i} · {by_id[i].title}",
        key="track_item",
    )
    one = by_id[chosen]
    with st.expander(tr("track_history")):
        history = pd.DataFrame(access.item_history(store, me, one.item_id))
        st.dataframe(history, hide_index=True, placeholder="—", key="track_history")
    rights = access.item_rights(me, one)
    if not rights:
        st.caption(tr("track_no_rights"))
        return
    action = st.radio(
        tr("track_choose_action"),
        rights,
        format_func=lambda a: tr(f"track_action_{a}"),
        horizontal=True,
        key="track_action",
    )
    with st.form("track_act"):
        given = _given(action, one)
        sent = st.form_submit_button(tr(f"track_action_{action}"), type="primary")
    if not sent:
        return
    try:
        done = access.act_on_item(store, me, one.item_id, action, **given)
    except Refusal as refused:
        st.error(md_escape(refused.message(lang())))
        return
    st.session_state["track_done"] = tr(
        "track_done", action=tr(f"track_action_{action}"), title=done.title
    )
    st.rerun()


def page() -> None:
    me = who()
    header("track_page_title", "track_page_intro")
    if done := st.session_state.pop("track_done", None):
        st.success(md_escape(done))
    if is_demo_shown():
        st.info(tr("store_demo_read_only"))  # our own text: its command shows as code
    store = _cache.get_store()
    status, community = _filters(me)
    found = access.tracked_items(store, me, community_id=community, status=status)
    if not found:
        st.info(tr("track_page_none"))
        return
    _table(access.items_frame(store, me, lang(), community_id=community, status=status))
    _act(store, me, found)


run_page(page, "track_page_title")
