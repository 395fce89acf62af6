"""转为督办事项: the form that turns a row of any table (a follow-up, a warning, a ranking
or a record) into a tracked item. Leaders and administrators only; others see nothing.
Call `track_form(prefill, key)` with what the row says (title, community_id, grid_id,
record_kind, record_id, owner); the person responsible, the deadline and the priority are
chosen here. The rights are checked again in metrics.access.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from metrics import access
from metrics.access import Review
from metrics.i18n import Refusal, fmt_number
from metrics.periods import today
from metrics.schemas import DATASETS
from pages import _cache
from pages._filters import community_names
from pages._records import labelled
from pages._signin import is_demo_shown, who
from pages._text import lang, md_escape, tr

PRIORITIES = ("high", "medium", "low")
RECORD_KINDS = ("case", "wish", "metric", "other")
DEFAULT_DAYS = 14  # two weeks: the practice's usual 督办 term, changed in the form


def _text(prefill: Mapping[str, object], name: str) -> str:
    value = prefill.get(name)
    return "" if value is None else str(value)


def track_form(prefill: Mapping[str, object], key: str) -> None:
    """The form, prefilled; on submit the item is created and said so (or the refusal)."""
    me = who()
    if not me.can("view_city"):
        return
    if is_demo_shown():
        st.caption(tr("store_demo_read_only"))  # our own text: its command shows as code
        return
    names = community_names()
    ids = list(names)
    wanted = _text(prefill, "community_id")
    kind = _text(prefill, "record_kind")
    with st.form(key=f"track_{key}", clear_on_submit=False):
        title = st.text_input(tr("track_col_title"), value=_text(prefill, "title"))
        c1, c2, c3 = st.columns(3)
        community = c1.selectbox(
            tr("track_form_community"),  # not "社区": the page's own filter has that name
            ids,
            index=ids.index(wanted) if wanted in ids else 0,
            format_func=lambda c: names.get(c, c),
        )
        grid = c2.text_input(tr("track_form_grid"), value=_text(prefill, "grid_id"))
        record = c3.text_input(tr("track_col_record"), value=_text(prefill, "record_id"))
        c4, c5, c6 = st.columns(3)
        owner = c4.text_input(tr("track_col_owner"), value=_text(prefill, "owner"))
        deadline = c5.date_input(
            tr("track_col_deadline"),
            value=today() + dt.timedelta(days=DEFAULT_DAYS),
            min_value=today(),
        )
        priority = c6.selectbox(
            tr("track_col_priority"),
            PRIORITIES,
            index=1,
            format_func=lambda p: tr(f"track_priority_{p}"),
        )
        sent = st.form_submit_button(tr("track_form_submit"), type="primary")
    if not sent:
        return
    fields = {
        "title": title,
        "community_id": community,
        "grid_id": grid,
        "record_kind": kind if kind in RECORD_KINDS else "other",
        "record_id": record,
        "owner": owner,
        "deadline": deadline,
        "priority": priority,
    }
    try:
        made = access.create_item(_cache.get_store(), me, fields)
    except Refusal as refused:
        st.error(md_escape(refused.message(lang())))
        return
    st.success(md_escape(tr("track_created", item=made.item_id, title=made.title)))


def track_follow_up(frame: pd.DataFrame) -> None:
    """Under the meeting's 需督办事项: choose a row, and the form prefilled from it."""
    if not who().can("view_city") or frame.empty:
        return
    with st.expander(tr("track_form_title")):
        rows = frame.reset_index(drop=True)
        pick = st.selectbox(
            tr("track_form_pick"),
            range(len(rows)),
            format_func=lambda i: " · ".join(
                str(rows.at[i, c]) for c in ("community", "kind_label", "item")
            ),
            key="track_pick_followup",
        )
        row = rows.iloc[int(pick or 0)]
        kind = str(row["kind"])
        detail = "" if pd.isna(row["detail"]) else f"（{row['detail']}）"
        prefill: dict[str, object] = {
            "title": f"{row['kind_label']}：{row['item']}{detail}",
            "community_id": row["community_id"],
            "record_kind": kind if kind in RECORD_KINDS else "other",
            "record_id": row["item"] if kind in ("case", "wish") else None,
            "owner": row["owner"],
        }
        track_form(prefill, key="followup")


def carried_section(data: Review, draw: Callable[[pd.DataFrame, str], Any]) -> None:
    """上期督办事项: the last meeting's items, per community and one by one (review/carried.py);
    `draw(frame, key)` shows a table as the meeting page does."""
    frame = data.carried
    if frame is None:  # a reader who sees the league only
        return
    st.subheader(tr("sec_carried"))
    st.caption(md_escape(access.carried_rule(data.period, lang())))
    if frame.empty:
        st.success(tr("track_carried_none"))
        return
    summary = access.carried_summary(frame, lang())
    summary["rate"] = [fmt_number(r, "pct", lang()) for r in summary["rate"]]
    draw(labelled(summary, SUMMARY_HEADERS), "carried")
    items = frame.astype(object).where(frame.notna(), "—")
    draw(labelled(items, ITEM_HEADERS), "carried_items")


SUMMARY_HEADERS = {
    "community": "track_col_community",
    "due": "track_col_due",
    "on_time": "track_col_on_time",
    "late": "track_col_late",
    "open": "track_col_open",
    "rate": "track_col_rate",
}
ITEM_HEADERS = {
    "community": "track_col_community",
    "title": "track_col_title",
    "owner": "track_col_owner",
    "deadline": "track_col_deadline",
    "answered_on": "track_col_answered_on",
    "verdict_label": "track_col_status",
}


def track_record(frame: pd.DataFrame, dataset: str, key: str) -> None:
    """Under a records table: choose one of the records shown, and the form prefilled
    from it (a case or a wish keeps its id; the title says what it is)."""
    spec = DATASETS[dataset]
    if not who().can("view_city") or frame.empty or len(spec.key) != 1:
        return
    ident = spec.key[0]
    kind = {"cases": "case", "wishes": "wish"}.get(dataset, "other")
    rows = frame.reset_index(drop=True)
    with st.expander(tr("track_form_title")):
        pick = st.selectbox(
            tr("track_form_pick"),
            range(len(rows)),
            format_func=lambda i: str(rows.at[i, ident]),
            key=f"track_pick_{key}",
        )
        row = rows.iloc[int(pick or 0)]
        label = spec.zh if lang() == "zh" else spec.en
        prefill: dict[str, object] = {
            "title": f"{label}：{row[ident]}",
            "community_id": row.get("community_id"),
            "grid_id": row.get("grid_id"),
            "record_kind": kind,
            "record_id": row[ident],
        }
        track_form(prefill, key=key)


def track_unit(
    units: Sequence[str],
    names: Mapping[str, str],
    by: str,
    community_id: str | None,
    title: Callable[[str], str],
    key: str,
) -> None:
    """Under a ranking: choose a community (or grid) of it, and the form prefilled with
    the metric's figure (`title(unit)`) for that unit."""
    if not who().can("view_city") or not units:
        return
    with st.expander(tr("track_form_title")):
        unit = st.selectbox(
            tr("track_form_pick"),
            list(units),
            format_func=lambda u: names.get(u, u),
            key=f"track_pick_{key}",
        )
        unit = str(unit)
        prefill: dict[str, object] = {
            "title": title(unit),
            "community_id": unit if by == "community" else community_id,
            "grid_id": unit if by == "grid" else None,
            "record_kind": "metric",
        }
        track_form(prefill, key=key)
