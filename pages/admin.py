"""管理 Administration: targets, users and roles, and the audit log. Administrators only;
every change is a new version in the store and an entry in the audit log.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from metrics import access
from metrics.periods import local_time
from pages import _cache
from pages._filters import community_names
from pages._page import header, run_page
from pages._records import download_buttons, labelled, pinned
from pages._signin import clear_access_cache, is_demo_shown, who
from pages._subscribers import subscribers_tab
from pages._text import lang, md_escape, tr

TARGET_NUMBERS = list(access.TARGET_NUMBERS)


def _targets_tab() -> None:
    me = who()
    current = _cache.current_targets()
    st.caption(tr("admin_targets_help"))
    base = access.targets_frame(current, lang())
    shown = base.copy()
    shown["direction"] = [tr(f"direction_{d}") for d in base["direction"]]
    shown[TARGET_NUMBERS] = shown[TARGET_NUMBERS].astype("float64")
    edited = st.data_editor(
        shown,
        hide_index=True,
        column_order=["label", "direction", "unit", *TARGET_NUMBERS],  # the code stays hidden
        column_config={  # pinned: the metric's name stays in view when the row scrolls
            "label": st.column_config.TextColumn(tr("col_metric"), pinned=True),
            "direction": st.column_config.TextColumn(tr("admin_direction")),
            "unit": st.column_config.TextColumn(tr("admin_pct_unit")),
            **{
                c: st.column_config.NumberColumn(tr(f"admin_{c}"), format="%g")
                for c in TARGET_NUMBERS
            },
        },
        disabled=["label", "direction", "unit"],
        placeholder="—",
        key="targets_editor",
    )
    if st.button(tr("admin_save"), type="primary", key="targets_save"):
        # Rows cannot be added or removed here, so codes and directions come from `base`.
        edited = edited.assign(metric=base["metric"].values, direction=base["direction"].values)
        try:
            new = access.targets_from_frame(edited, current)
        except access.TargetsError as exc:
            st.error(md_escape(tr("admin_targets_invalid", detail=exc.message(lang()))))
            return
        version = access.save_targets(_cache.get_store(), new, me)
        st.session_state["admin_done"] = tr("admin_saved", version=version)
        st.rerun()
    history = access.targets_history(_cache.get_store(), me)
    if history:
        frame = pd.DataFrame(history)
        frame["committed_at"] = [local_time(t) for t in frame["committed_at"]]
        st.dataframe(
            labelled(
                frame,
                {"version": "upload_version", "committed_at": "upload_time", "user": "upload_user"},
            ),
            hide_index=True,
            placeholder="—",
            key="targets_history",
        )


def _roles_tab() -> None:
    me = who()
    store = _cache.get_store()
    roles = access.load_roles(store)
    names = community_names()
    st.caption(tr("admin_roles_help"))
    # One row per user, named one way: an e-mail, or an (issuer, subject) pair.
    columns = ["user", "issuer", "subject", "role", "community_id", "name"]
    frame = pd.DataFrame(roles["users"], columns=columns).replace("", None)
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "user": st.column_config.TextColumn(tr("admin_user"), pinned=True),
            "issuer": st.column_config.TextColumn(tr("admin_issuer"), help=tr("admin_issuer_help")),
            "subject": st.column_config.TextColumn(
                tr("admin_subject"), help=tr("admin_subject_help")
            ),
            "role": st.column_config.SelectboxColumn(
                tr("admin_role"), options=list(access.ROLES), required=True
            ),
            "community_id": st.column_config.SelectboxColumn(tr("community"), options=list(names)),
            "name": st.column_config.TextColumn(tr("admin_name")),
        },
        placeholder="—",
        key="roles_editor",
    )
    see = st.checkbox(
        tr("admin_clerks_see_ranking"),
        value=bool(roles["settings"].get("clerks_see_ranking")),
        key="clerks_see_ranking",
    )
    if st.button(tr("admin_save"), type="primary", key="roles_save"):
        users = [
            {k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in edited.to_dict("records")
        ]
        document = {"users": users, "settings": {"clerks_see_ranking": see}}
        problems = access.validate_roles(document, set(names), lang())
        if problems:
            for problem in problems:
                st.error(md_escape(problem))  # holds what was typed: text, not Markdown
            return
        version = access.save_roles(store, document, me)
        clear_access_cache()
        st.session_state["admin_done"] = tr("admin_saved", version=version)
        st.rerun()


AUDIT_SHOWN = 500  # on screen; the download holds every entry


def _audit_tab() -> None:
    frame = access.audit_log(_cache.get_store(), who())
    if frame.empty:
        st.info(tr("admin_audit_empty"))
        return
    frame["at"] = [local_time(t) for t in frame["at"]]
    frame["status"] = [
        _outcome(s, d, v)
        for s, d, v in zip(frame["status"], frame["dataset"], frame["version"], strict=True)
    ]
    shown = labelled(
        frame,
        {
            "at": "upload_time",
            "user": "admin_user",
            "role": "admin_role",
            "community_id": "community",
            "action": "admin_action",
            "status": "admin_audit_status",
            "detail": "col_detail",
        },
    )
    st.caption(tr("admin_audit_count", shown=min(len(shown), AUDIT_SHOWN), total=len(shown)))
    st.dataframe(
        shown.head(AUDIT_SHOWN),
        hide_index=True,
        placeholder="—",
        key="audit_log",
        column_config=pinned(shown.columns),
    )
    download_buttons(shown, tr("admin_audit_file"), key="audit")


def _outcome(status: Any, dataset: Any, version: Any) -> str:
    """A data version's entry: committed (as which version), not committed, or pending."""
    if not isinstance(status, str):
        return ""
    said = tr(f"audit_status_{status}")
    return f"{said} {dataset}@{version}" if status == "committed" else said


def page() -> None:
    access.require(who(), "admin")
    header("page_admin", "intro_admin")
    if is_demo_shown():  # targets and users can be read here, not changed
        st.info(tr("store_demo_read_only"))
    done = st.session_state.pop("admin_done", None)
    if done:
        st.success(done)
    tab_targets, tab_roles, tab_audit, tab_subs = st.tabs(
        [tr("admin_tab_targets"), tr("admin_tab_roles"), tr("admin_tab_audit"), tr("subs_tab")]
    )
    with tab_targets:
        _targets_tab()
    with tab_roles:
        _roles_tab()
    with tab_audit:
        _audit_tab()
    with tab_subs:
        subscribers_tab()


run_page(page, "page_admin")
