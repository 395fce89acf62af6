"""The administration page's subscribers tab: who gets new warnings and the meeting packet
(metrics.notify), added and removed here or by `python -m metrics subscribe`."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from metrics import access
from metrics.i18n import Refusal
from pages import _cache
from pages._filters import community_names
from pages._signin import is_demo_shown, who
from pages._text import lang, md_escape, tr

KINDS = ("email", "wecom", "dingtalk")
WHAT = ("warnings", "packet")


def subscribers_tab() -> None:
    me = who()
    store = _cache.get_store()
    st.caption(tr("subs_intro"))
    found = access.subscribers(store, me)
    if not found:
        st.info(tr("notify_no_subscribers"))
    else:
        frame = pd.DataFrame([s.as_dict() for s in found])
        frame["communities"] = [", ".join(c) or tr("whole_city") for c in frame["communities"]]
        frame["what"] = [", ".join(tr(f"notify_what_{w}") for w in ws) for ws in frame["what"]]
        st.dataframe(
            frame[["id", "kind", "target", "communities", "what"]],
            hide_index=True,
            key="subscribers_table",
        )
    if is_demo_shown():
        return
    _add_form()
    if found:
        chosen = st.selectbox(
            "ID", [s.id for s in found], key="subs_remove_choice", label_visibility="collapsed"
        )
        if st.button(tr("subs_remove"), key="subs_remove"):

            def remove() -> str:
                access.remove_subscriber(store, me, chosen)
                return tr("notify_removed", id=chosen)

            _change(remove)


def _add_form() -> None:
    names = community_names()
    with st.form("subs_add_form", clear_on_submit=True):
        kind = st.selectbox(tr("subs_kind"), KINDS, key="subs_kind")
        target = st.text_input(tr("subs_target"), key="subs_target")
        secret = st.text_input(tr("subs_secret"), type="password", key="subs_secret")
        chosen = st.multiselect(
            tr("subs_communities"),
            list(names),
            format_func=lambda c: names.get(c, c),
            key="subs_communities",
        )
        what = st.multiselect(
            tr("subs_what"),
            WHAT,
            default=["warnings"],
            format_func=lambda w: tr(f"notify_what_{w}"),
            key="subs_what",
        )
        if st.form_submit_button(tr("subs_add"), type="primary"):
            store, me = _cache.get_store(), who()

            def add() -> str:
                made = access.add_subscriber(store, me, kind, target, secret, chosen, what)
                return tr("notify_subscribed", id=made.id, kind=made.kind, target=made.shown())

            _change(add)


def _change(action: Callable[[], str]) -> None:
    """Run an edit; a refusal (a bad address, a community not in the register) is said in
    the reader's language and nothing is saved."""
    try:
        done = action()
    except Refusal as refused:
        st.error(md_escape(refused.message(lang())))
        return
    st.session_state["admin_done"] = done
    st.rerun()
