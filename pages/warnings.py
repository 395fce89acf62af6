"""预警 Warnings: what needs a look between meetings, red first, each with its reason and a
link to the page that shows it (metrics.alerts; a clerk sees their own community's)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.access import Warning
from pages import _cache
from pages._filters import community_names
from pages._page import header, run_page
from pages._records import pinned
from pages._signin import is_demo_shown, who
from pages._text import lang, tr
from pages._track import track_form

ICONS = {"red": "🔴", "amber": "🟠"}
REASON_WIDTH = 420  # px: a reason of about 90 characters on three lines (REASON_ROW)
REASON_ROW = 68  # px: three lines of 14 px text; over 64 px (4rem) a cell's text wraps
WARNINGS_HEIGHT = 640  # px: about nine warnings in view, the rest a scroll inside the table


def warnings_frame(found: list[Warning]) -> pd.DataFrame:
    names = community_names()
    return pd.DataFrame(
        {
            "level": [f"{ICONS[w.level]} {w.level_label(lang())}" for w in found],
            "rule": [w.rule_label(lang()) for w in found],
            "community": [names.get(w.community_id, w.community_id) for w in found],
            "reason": [w.reason(lang()) for w in found],
            "link": [w.link for w in found],
        }
    )


# The kind of record a tracked item made from a warning is about (pages/_track.py).
RECORD_KINDS = {"wish_unclaimed": "wish", "target_missed": "metric"}


def _track(found: list[Warning]) -> None:
    """转为督办事项: choose a warning, and the tracked-item form prefilled from it
    (leaders and administrators: track_form shows nothing to others)."""
    with st.expander(tr("track_form_title")):
        pick = st.selectbox(
            tr("track_form_pick"),
            range(len(found)),
            format_func=lambda i: f"{ICONS[found[i].level]} {found[i].reason(lang())}",
            key="warn_track_pick",
        )
        w = found[int(pick or 0)]
        prefill: dict[str, object] = {
            "title": w.reason(lang()),
            "community_id": w.community_id,
            "grid_id": w.grid_id,
            "record_kind": RECORD_KINDS.get(w.rule, "other"),
            "record_id": w.record,
        }
        track_form(prefill, key=f"warning_{w.id}")


def page() -> None:
    me = who()
    header("page_warnings", "intro_warnings")
    with _cache.one_version():
        found = _cache.warnings(me)
    red = sum(w.level == "red" for w in found)
    st.markdown(f"**{tr('warn_count', red=red, amber=len(found) - red)}**")
    if not found:
        st.info(tr("warn_none"))
    else:
        frame = warnings_frame(found)
        config = {
            "level": st.column_config.TextColumn(tr("warn_col_level")),
            "rule": st.column_config.TextColumn(tr("warn_col_rule")),
            "community": st.column_config.TextColumn(tr("warn_col_community")),
            "reason": st.column_config.TextColumn(tr("warn_col_reason"), width=REASON_WIDTH),
            "link": st.column_config.LinkColumn(
                tr("warn_col_link"), display_text=tr("warn_open_view")
            ),
        }
        st.dataframe(
            frame,
            hide_index=True,
            column_config=pinned(frame.columns, config),
            # Rows taller than 4rem let Streamlit wrap a cell's text (a shorter row cuts it
            # with "…"): the reason, the one long column, is read whole on three lines.
            row_height=REASON_ROW,
            height=min(REASON_ROW * len(frame) + 38, WARNINGS_HEIGHT),
            key="warnings_table",
        )
        if me.can("view_city") and not is_demo_shown():  # the demo takes no items
            _track(found)
    st.caption(tr("warn_rules_help"))


run_page(page, "page_warnings")
