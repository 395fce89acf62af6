"""网格边界 on the 数据上报 page: the template, the file's problems (each naming its feature),
saving it as the community's next version, and the versions kept. Checking and keeping are
metrics.access's (a clerk: their own community only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics import access
from metrics.periods import local_time
from pages import _cache
from pages._filters import community_names
from pages._signin import is_demo_shown, who
from pages._text import lang, md_escape, tr

_ROUND = "geo_round"  # a new uploader after a save: the saved file is not offered again


def boundaries_section() -> None:
    st.caption(tr("geo_intro"))
    community = _community()
    store, me = _cache.get_store(), who()
    data, name = access.boundary_template(store, community, me)
    st.download_button(
        tr("geo_template_button"),
        data=data,
        file_name=name,
        mime=access.GEOJSON_MIME,
        key=f"geo_template_{community}",
        on_click="ignore",
    )
    if is_demo_shown():
        st.info(tr("store_demo_read_only"))
    else:
        limit_mb = access.max_boundary_bytes() / 1024 / 1024
        uploaded = st.file_uploader(
            tr("upload_file", limit=f"{limit_mb:g}"),
            type=None,
            help=tr("geo_file"),
            key=f"geo_file_{st.session_state.get(_ROUND, 0)}",
        )
        if uploaded is not None:
            _check(uploaded.getvalue(), uploaded.name, community)
    _versions(community)


def _community() -> str:
    names = community_names()
    me = who()
    if me.can("upload_any"):
        return str(
            st.selectbox(
                tr("community"),
                list(names),
                format_func=lambda c: f"{names[c]}（{c}）",
                key="geo_community",
            )
        )
    # A clerk's community comes from the sign-in, never from a widget.
    return str(me.community_id)


def _check(data: bytes, file_name: str, community: str) -> None:
    store, me = _cache.get_store(), who()
    checked = access.check_boundaries(store, data, file_name, community, me)
    if not checked.ok:
        st.error(tr("geo_refused"))
        st.markdown("\n".join(f"- {md_escape(m)}" for m in checked.messages(lang())))
        return
    st.success(tr("geo_ok", grids=len(checked.grids)))
    for warning in checked.warnings:
        st.warning(md_escape(warning.message(lang())))
    if st.button(tr("geo_commit"), type="primary", key="geo_commit"):
        version = access.upload_boundaries(store, checked, me)
        st.session_state["upload_done"] = tr(
            "geo_saved", community=community, version=version, grids=len(checked.grids)
        )
        st.session_state[_ROUND] = st.session_state.get(_ROUND, 0) + 1
        st.rerun()


def _versions(community: str) -> None:
    st.subheader(tr("geo_history"))
    versions = access.boundary_versions(_cache.get_store(), community, who())
    if not versions:
        st.info(tr("geo_none_saved", community=community))
        return
    frame = pd.DataFrame(
        {
            tr("upload_version"): [v.version for v in versions],
            tr("geo_grids_column"): [v.grids for v in versions],
            tr("upload_user"): [v.user for v in versions],
            tr("upload_time"): [local_time(v.uploaded_at) for v in versions],
            tr("upload_file_name"): [v.file_name for v in versions],
            tr("col_sha256"): [v.sha256 for v in versions],
        }
    )
    st.dataframe(frame, hide_index=True, key="geo_versions")
