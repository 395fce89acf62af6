"""数据上报 Data submission: template → upload → every problem by row → preview → commit.

All checking and writing is metrics'; this page only asks, shows and confirms, and every
step goes through metrics.access, which checks the signed-in user's rights.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import streamlit as st

from metrics import access, periods
from metrics.periods import Period, PeriodKind, local_time, periods_between
from metrics.schemas import DATASETS
from pages import _cache
from pages._boundaries import boundaries_section
from pages._filters import community_names
from pages._page import header, run_page
from pages._records import labelled, localise_columns, pinned
from pages._signin import is_demo_shown, who
from pages._text import lang, md_escape, tr

log = logging.getLogger("govdash.ui")

# Ledgers a community sends in; the register of communities is the administrator's
# (access.ADMIN_DATASETS, checked again in metrics when the upload is committed).
UPLOADABLE = ("cases", "wishes", "employment", "property_ratings", "grids")


def _choose() -> tuple[str, str, Period | None]:
    language = lang()
    c1, c2, c3 = st.columns(3)
    choices = (*UPLOADABLE, *access.ADMIN_DATASETS) if who().can("admin") else UPLOADABLE
    dataset = c1.selectbox(
        tr("upload_dataset"),
        choices,
        format_func=lambda d: DATASETS[d].zh if language == "zh" else DATASETS[d].en,
        key="upload_dataset",
    )
    names = community_names()
    me = who()
    if me.can("upload_any"):
        community = c2.selectbox(
            tr("community"),
            list(names),
            format_func=lambda c: f"{names[c]}（{c}）",
            key="upload_community",
            help=tr("upload_community_help"),
        )
    else:
        # A clerk's community comes from the sign-in, never from a widget.
        community = str(me.community_id)
        c2.text_input(
            tr("community"),
            value=f"{names.get(community, community)}（{community}）",
            disabled=True,
            help=tr("upload_community_help"),
        )
    spec = DATASETS[dataset]
    period = None
    if spec.period_field is not None:
        kind: PeriodKind = "quarter" if spec.field(spec.period_field).type == "quarter" else "month"
        today = periods.today()
        options = [p.code for p in periods_between(today.replace(year=today.year - 3), today, kind)]
        code = c3.selectbox(
            tr("upload_period"),
            options,
            index=1 if kind == "month" else 0,  # a month's ledger is sent in the month after
            format_func=lambda c: Period.parse(c).label(language),
            key=f"upload_period_{kind}",
            help=tr("upload_period_help"),
        )
        period = Period.parse(code)
    return dataset, community, period


def _templates(dataset: str, community: str) -> None:
    """The template for the chosen community: its code and one of its grids."""
    files = access.upload_templates(_cache.get_store(), dataset, community, lang(), who())
    st.markdown(f"**{tr('upload_step_template')}**")
    c1, c2, _ = st.columns([1, 1, 3])
    for col, template in zip((c1, c2), files, strict=True):
        col.download_button(
            tr(f"upload_template_{template.fmt}"),
            data=template.data,
            file_name=template.file_name,
            mime=template.mime,
            key=f"template_{template.fmt}_{dataset}_{community}",
            on_click="ignore",
        )


def _problems(validation: access.Validation) -> None:
    language = lang()
    if validation.raw is None:  # not readable at all: what is wrong, and nothing to annotate
        for problem in validation.problems:
            st.error(problem.message(language))
        return
    st.error(validation.summary(language))
    frame = validation.problem_frame(language)
    st.dataframe(
        frame,
        hide_index=True,
        placeholder="—",
        key="upload_problems",
        # The message says what to fix: give it the room (allowed values can be long).
        column_config=pinned(
            frame.columns, {frame.columns[-1]: st.column_config.TextColumn(width="large")}
        ),
    )
    data, name = access.annotated_file(validation, language)
    st.download_button(
        tr("upload_annotated"),
        data=data,
        file_name=name,
        key="upload_annotated",
        on_click="ignore",
    )


def _preview_and_commit(validation: access.Validation) -> None:
    language = lang()
    spec = DATASETS[validation.dataset]
    st.success(validation.summary(language))
    replace = False
    if spec.period_field is not None and validation.period is not None:
        replace = st.checkbox(
            tr("upload_replace", period=validation.period.label(language)),
            key="upload_replace",
            help=tr("upload_replace_help"),
        )
    try:
        diff = access.preview_upload(_cache.get_store(), validation, who(), replace=replace)
    except access.IngestError as refused:  # e.g. replacing a period the file has no rows of
        st.error(refused.message(language))
        return
    _show_diff(diff, validation.dataset)
    if diff.is_empty:
        st.info(tr("ingest_nothing_changed"))
        return
    confirmed = True
    if replace and diff.deleted.num_rows:
        confirmed = st.checkbox(
            tr("upload_confirm_delete", count=diff.deleted.num_rows), key="upload_confirm"
        )
    if st.button(tr("upload_commit"), type="primary", disabled=not confirmed, key="upload_go"):
        _commit(validation, replace)


def _show_diff(diff: access.Diff, dataset: str) -> None:
    """What the commit would do: counts, the changed rows and what they change, deletions."""
    language = lang()
    spec = DATASETS[dataset]
    counts = diff.counts()
    c = st.columns(4)
    for col, name in zip(c, ("new", "changed", "unchanged", "deleted"), strict=True):
        col.metric(tr(f"upload_{name}"), f"{counts[name]:,}", border=True)
    if diff.new_rows is not None and diff.new_rows.num_rows:
        st.markdown(
            f"**{tr('upload_new_rows', shown=diff.new_rows.num_rows, count=counts['new'])}**"
        )
        new = localise_columns(diff.new_rows.to_pandas(), dataset)
        _preview(new, "upload_new_sample")
    if diff.changed.num_rows:
        assert diff.changed_rows is not None and diff.changed_before is not None
        changed = diff.marked_changes(
            localise_columns(diff.changed_rows.to_pandas(), dataset),
            localise_columns(diff.changed_before.to_pandas(), dataset),
        )
        fields = diff.changed.column("changed_fields").to_pylist()[: len(changed)]
        changed[tr("upload_changed_fields")] = [
            "、".join(spec.field(f).label(language) for f in row) for row in fields
        ]
        shown = len(changed)
        st.markdown(f"**{tr('upload_changed_rows_shown', shown=shown, count=counts['changed'])}**")
        _preview(changed, "upload_changed")
    if diff.deleted.num_rows:
        st.warning(tr("upload_will_delete", count=diff.deleted.num_rows))
        deleted = localise_columns(diff.deleted.to_pandas(), dataset)
        _preview(deleted, "upload_deleted")


def _preview(frame: pd.DataFrame, key: str) -> None:
    """Rows of the upload's preview: wide ledgers scroll inside, their first column pinned."""
    st.dataframe(
        frame, hide_index=True, placeholder="—", key=key, column_config=pinned(frame.columns)
    )


def _commit(validation: access.Validation, replace: bool) -> None:
    language = lang()
    spec = DATASETS[validation.dataset]
    me = who()
    try:
        result = access.commit_upload(_cache.get_store(), validation, me, replace=replace)
    except access.IngestError as refused:  # e.g. an id another community just took
        st.error(refused.message(language))
        return
    log.info(
        "upload committed: %s %s v%s by %s",
        result.dataset,
        validation.community_id,
        result.version,
        me.user,
    )
    done = result.diff.counts()
    st.session_state["upload_done"] = tr(
        "ingest_committed",
        dataset=spec.zh if language == "zh" else spec.en,
        version=result.version,
        **done,
    )
    # A new key gives a fresh, empty uploader for the next file.
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
    st.rerun()


_HISTORY_COLUMNS = {
    "action": "history_action",
    "version": "upload_version",
    "committed_at": "upload_time",
    "user": "upload_user",
    "community_id": "community",
    "file_name": "upload_file_name",
    "period": "upload_period",
    "rows_new": "upload_new",
    "rows_changed": "upload_changed",
    "rows_deleted": "upload_deleted",
    "rolled_back_to": "history_restored_to",
    "undone_by": "history_undone_by",
    "file_sha256": "col_sha256",
}


def _history_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """Commits as the reader sees them: local time, the action in words, every community
    named for rollbacks and whole-table loads (they change every community's rows)."""
    frame = pd.DataFrame(entries)
    frame["committed_at"] = [local_time(t) for t in frame["committed_at"]]
    frame["action"] = [tr(f"history_action_{a}") for a in frame["action"]]
    if "community_id" not in frame:
        frame["community_id"] = None
    frame["community_id"] = [
        c if isinstance(c, str) and c else tr("history_all_communities")
        for c in frame["community_id"]
    ]
    return labelled(frame, _HISTORY_COLUMNS)


def _history(dataset: str, community: str) -> None:
    st.subheader(tr("upload_history"))
    entries = access.upload_history(_cache.get_store(), dataset, community, who())
    if not entries:
        st.info(tr("upload_no_history"))
        return
    st.dataframe(
        _history_frame(entries), hide_index=True, placeholder="—", key="upload_history_table"
    )
    _rollback(dataset)


def _rollback(dataset: str) -> None:
    """Undo commits by restoring the whole ledger (every community) to an earlier version,
    after showing which commits, of which communities, that undoes."""
    store, me = _cache.get_store(), who()
    if not me.can("admin"):
        return
    entries = access.upload_history(store, dataset, None, me)
    latest = max((int(e["version"]) for e in entries), default=0)
    earlier = {int(e["version"]): e for e in entries if int(e["version"]) < latest}
    if not earlier:
        return

    def describe(version: int) -> str:
        e = earlier[version]
        parts = [
            tr("history_version", version=version),
            local_time(e["committed_at"]),
            tr(f"history_action_{e['action']}"),
            str(e.get("user") or ""),
            str(e.get("community_id") or tr("history_all_communities")),
            str(e.get("file_name") or ""),
        ]
        return " · ".join(p for p in parts if p)

    name = DATASETS[dataset].zh if lang() == "zh" else DATASETS[dataset].en
    with st.expander(tr("upload_rollback")):
        target = st.selectbox(
            tr("upload_rollback_to"),
            list(earlier),
            format_func=describe,
            key=f"rollback_target_{dataset}",
        )
        undone = access.rollback_preview(store, dataset, int(target), me)
        st.warning(tr("upload_rollback_undoes", count=len(undone), version=target, dataset=name))
        st.dataframe(
            _history_frame(undone), hide_index=True, placeholder="—", key="rollback_undone"
        )
        sure = st.checkbox(tr("upload_rollback_confirm", version=target), key="rollback_sure")
        if st.button(tr("upload_rollback_go"), disabled=not sure, key="rollback_go"):
            try:
                version = access.rollback(store, dataset, int(target), me)
            except access.IngestError as refused:  # a full disk, say: said, no traceback
                st.error(refused.message(lang()))
                return
            log.info("rollback of %s to v%s by %s", dataset, target, me.user)
            st.session_state["upload_done"] = tr(
                "ingest_rolled_back", dataset=name, target=target, version=version
            )
            st.rerun()


def _uploader_texts() -> None:
    """The uploader's own English texts, by CSS only (Streamlit has no setting for them):
    its size line is hidden (our label says the limit) and its button reads in the page's
    language. Should Streamlit rename these test ids, its English texts simply come back."""
    label = (
        '[data-testid="stFileUploaderDropzone"] > span > button [data-testid="stMarkdownContainer"]'
        " p"
    )
    st.html(
        "<style>"
        '[data-testid="stFileUploaderDropzoneInstructions"] {display: none;}'
        f"{label} {{font-size: 0;}}"
        f'{label}::after {{content: "{tr("upload_browse")}"; font-size: 1rem;}}'
        "</style>"
    )


def _check(uploaded: Any, dataset: str, community: str, period: Period | None) -> None:
    """The uploaded file's problems, or its preview and the commit button."""
    data = uploaded.getvalue()
    sheet = None
    sheets = access.upload_sheets(data, who())
    if len(sheets) > 1:  # the file's own sheet names, the first preselected
        sheet = st.selectbox(tr("upload_sheet_choice"), sheets, key="upload_sheet")
    validation = _cache.validated_upload(
        data, uploaded.name, dataset, community, who(), period=period, sheet=sheet
    )
    for note in validation.notes:  # ignored columns, a title line skipped, the sheet read
        st.info(md_escape(note.message(lang())))
    if validation.ok:
        _preview_and_commit(validation)
    else:
        _problems(validation)


def page() -> None:
    access.require(who(), "upload")
    header("page_upload", "intro_upload")
    done = st.session_state.pop("upload_done", None)
    if done:
        st.success(done)
    kind = st.segmented_control(
        tr("upload_kind"),
        ["ledger", "boundaries"],
        format_func=lambda k: tr(f"upload_kind_{k}"),
        default="ledger",
        required=True,
        key="upload_kind",
    )
    if kind == "boundaries":  # 网格边界 (GeoJSON) for the grid map: pages/_boundaries.py
        _uploader_texts()
        boundaries_section()
        return
    dataset, community, period = _choose()
    _templates(dataset, community)
    if is_demo_shown():  # the demo takes no uploads: it says how to start a real store
        st.info(tr("store_demo_read_only"))
        return
    st.markdown(f"**{tr('upload_step_file')}**")
    limit_mb = access.max_upload_bytes() / 1024 / 1024
    _uploader_texts()
    uploaded = st.file_uploader(
        tr("upload_file", limit=f"{limit_mb:g}"),
        # Any type: Streamlit's own refusal is an English text under a red mark; metrics
        # refuses a type it does not read (.doc, .pdf) in the reader's language, by name.
        type=None,
        help=tr("upload_file_help"),
        key=f"upload_file_{st.session_state.get('upload_round', 0)}",
    )
    if uploaded is not None:
        _check(uploaded, dataset, community, period)
    _history(dataset, community)


run_page(page, "page_upload")
