"""管理 Administration: targets, users and roles, and the audit log. Administrators only;
every change is a new version in the store and an entry in the audit log.
"""

from __future__ import annotations

import pandas as pd

from metrics import access, targets
from pages import _ui
from pages._ui import st, tr

TARGET_NUMBERS = (*targets.BOUND_COLUMNS, *(f"weight_{k}" for k in targets.ASSESSMENTS))


def _targets_tab() -> None:
    me = _ui.who()
    current = _ui.current_targets()
    st.caption(tr("admin_targets_help"))
    base = targets.to_frame(current, _ui.lang())
    shown = base.copy()
    shown["direction"] = [tr(f"direction_{d}") for d in base["direction"]]
    shown[list(TARGET_NUMBERS)] = shown[list(TARGET_NUMBERS)].astype("float64")
    edited = st.data_editor(
        shown,
        hide_index=True,
        column_order=["label", "direction", "unit", *TARGET_NUMBERS],  # the code stays hidden
        column_config={
            "label": st.column_config.TextColumn(tr("col_metric")),
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
            new = targets.from_frame(edited, current)
        except targets.TargetsError as exc:
            st.error(_ui.md_escape(tr("admin_targets_invalid", detail=exc.message(_ui.lang()))))
            return
        version = access.save_targets(_ui.get_store(), new, me)
        st.session_state["admin_done"] = tr("admin_saved", version=version)
        st.rerun()
    history = targets.history(_ui.get_store())
    if history:
        frame = pd.DataFrame(history)
        frame["committed_at"] = [_ui.local_time(t) for t in frame["committed_at"]]
        st.dataframe(
            _ui.labelled(
                frame,
                {"version": "upload_version", "committed_at": "upload_time", "user": "upload_user"},
            ),
            hide_index=True,
            placeholder="—",
            key="targets_history",
        )


def _roles_tab() -> None:
    me = _ui.who()
    store = _ui.get_store()
    roles = access.load_roles(store)
    names = _ui.community_names()
    st.caption(tr("admin_roles_help"))
    frame = pd.DataFrame(roles["users"], columns=["user", "role", "community_id", "name"])
    edited = st.data_editor(
        frame,
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "user": st.column_config.TextColumn(tr("admin_user"), required=True),
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
        problems = access.validate_roles(document, set(names), _ui.lang())
        if problems:
            for problem in problems:
                st.error(_ui.md_escape(problem))  # holds what was typed: text, not Markdown
            return
        version = access.save_roles(store, document, me)
        _ui.clear_access_cache()
        st.session_state["admin_done"] = tr("admin_saved", version=version)
        st.rerun()


AUDIT_SHOWN = 500  # on screen; the download holds every entry


def _audit_tab() -> None:
    frame = access.audit_log(_ui.get_store(), _ui.who())
    if frame.empty:
        st.info(tr("admin_audit_empty"))
        return
    frame["at"] = [_ui.local_time(t) for t in frame["at"]]
    shown = _ui.labelled(
        frame,
        {
            "at": "upload_time",
            "user": "admin_user",
            "role": "admin_role",
            "community_id": "community",
            "action": "admin_action",
            "detail": "col_detail",
        },
    )
    st.caption(tr("admin_audit_count", shown=min(len(shown), AUDIT_SHOWN), total=len(shown)))
    st.dataframe(shown.head(AUDIT_SHOWN), hide_index=True, placeholder="—", key="audit_log")
    _ui.download_buttons(shown, tr("admin_audit_file"), key="audit")


def page() -> None:
    access.require(_ui.who(), "admin")
    _ui.header("page_admin", "intro_admin")
    done = st.session_state.pop("admin_done", None)
    if done:
        st.success(done)
    tab_targets, tab_roles, tab_audit = st.tabs(
        [tr("admin_tab_targets"), tr("admin_tab_roles"), tr("admin_tab_audit")]
    )
    with tab_targets:
        _targets_tab()
    with tab_roles:
        _roles_tab()
    with tab_audit:
        _audit_tab()


_ui.run_page(page, "page_admin")
