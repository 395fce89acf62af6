"""月度例会 Review meetings: the month's (quarter's, half-year's, year's) figures against
targets, the league table, the follow-up list, submissions, and the report to print.

Everything shown is metrics.review's; the PDF/XLSX are metrics.report's, built from the
same store version as the screen (the version is printed on both).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from metrics import access, catalog, report, review, targets
from metrics.i18n import fmt_change, fmt_number
from metrics.periods import Period
from pages import _ui
from pages._ui import st, tr

SECTIONS = ("narrative", "headline", "league", "followups", "submissions", "report")

# Meeting mode is read from across a room: larger type. The style sheet is a constant of
# this file; no uploaded or user text goes into it.
_MEETING_CSS = """
<style>
section.main p, section.main li, [data-testid="stMarkdownContainer"] p { font-size: 1.45rem; }
[data-testid="stMetricValue"] { font-size: 3rem; }
[data-testid="stDataFrame"] { font-size: 1.2rem; }
</style>
"""


@st.cache_data(show_spinner=False, max_entries=50)
def _review(
    token: str, pkey: str, targets_version: int | None, period: str, lang: str
) -> review.Review:
    # What a principal may see of the review is decided in metrics (access.meeting_review).
    return access.meeting_review(_ui.get_store(), Period.parse(period), _ui.who(), lang)


def _narrative(data: review.Review) -> None:
    st.subheader(tr("sec_narrative"))
    for sentence in data.narrative:
        st.markdown(_ui.md_escape(sentence))


def _headline(data: review.Review) -> None:
    st.subheader(tr("sec_headline"))
    rows = review.records(data.headline)
    per_row = 4
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, row in zip(cols, rows[start : start + per_row], strict=False):
            m = catalog.metric(row["metric"])
            value = _value(row["value"])
            mom = _value(row["mom"])
            col.metric(
                row["label"],
                _ui.metric_value(row["metric"], value),
                delta=None if mom is None else f"{mom * 100:+.1f}%",
                delta_color="off" if not mom else _ui.DELTA_COLOURS.get(m.direction, "off"),
                delta_arrow="off" if mom == 0 else "auto",
                delta_description=tr("mom"),
                border=True,
            )
            cue = f"{row['cue']} · " if row["cue"] else ""
            col.caption(f"{cue}{tr('yoy')} {fmt_change(_value(row['yoy']))}")


def _value(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _league(data: review.Review, names_only: bool) -> None:
    st.subheader(tr("sec_league"))
    table = data.league
    shown = pd.DataFrame(
        {
            tr("col_rank"): table["rank"],
            tr("col_rank_change"): [_rank_change(v) for v in table["rank_change"]],
            tr("col_community"): table["community"],
            tr("col_score"): table["score"],
        }
    )
    if not names_only:
        for name in data.scored_metrics:
            m = catalog.metric(name)
            label = m.text("label", _ui.lang())
            shown[label] = [
                f"{targets.ICONS.get(str(s), '—')} {fmt_number(_value(v), m.format, _ui.lang())}"
                for v, s in zip(table[name], table[f"{name}_status"], strict=True)
            ]
    st.dataframe(
        shown,
        hide_index=True,
        height=_ui.table_height(len(shown)),
        column_config={
            tr("col_score"): st.column_config.ProgressColumn(
                tr("col_score"), min_value=0, max_value=100, format="%.1f"
            )
        },
        placeholder="—",
        key="league",
    )
    bars, title = table, tr("chart_scores")
    if len(table) > 2 * _ui.CHART_ENDS:  # many communities: the best and the worst
        bars = pd.concat([table.head(_ui.CHART_ENDS), table.tail(_ui.CHART_ENDS)])
        title = tr("ranking_ends", title=title, n=_ui.CHART_ENDS)
    fig = go.Figure(
        go.Bar(
            x=bars["score"],
            y=[_ui.plot_text(n) for n in bars["community"]],
            orientation="h",
            marker_color=[targets.COLOURS.get(_band(s), "#1565c0") for s in bars["score"]],
            text=[f"{s:.1f}" for s in bars["score"]],
            textposition="inside",
            textangle=0,
        )
    )
    _ui.style(fig, title)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 105], tickvals=[0, 20, 40, 60, 80, 100])
    fig.update_layout(showlegend=False, hovermode="closest", height=80 + 28 * len(bars))
    st.plotly_chart(fig, config={"displaylogo": False})
    if names_only:
        return
    with st.expander(tr("sec_breakdown")):
        names = dict(zip(table["community_id"], table["community"], strict=True))
        chosen = st.selectbox(
            tr("community"), list(names), format_func=lambda c: names[c], key="breakdown_of"
        )
        parts = data.breakdown[data.breakdown["community_id"] == chosen]
        for line in parts["explanation"]:
            st.text(line)


def _band(score: float) -> str:
    return "green" if score >= 90 else "amber" if score >= 60 else "red"


def _rank_change(value: Any) -> str:
    if value is None or pd.isna(value):
        return tr("rank_new")
    step = int(value)
    return f"↑{step}" if step > 0 else f"↓{-step}" if step < 0 else "—"


def _followups(data: review.Review) -> None:
    st.subheader(tr("sec_followups"))
    frame = data.follow_ups
    if frame.empty:
        st.success(tr("no_followups"))
        return
    shown = _ui.labelled(
        frame,
        {
            "kind_label": "col_kind",
            "community": "col_community",
            "owner": "col_owner",
            "item": "col_item",
            "detail": "col_detail",
            "since": "col_since",
            "age_days": "col_age",
        },
    )
    st.dataframe(shown, hide_index=True, placeholder="—", key="followups")
    _ui.download_buttons(shown, f"followups-{data.period.code}", key="followups")


def _submissions(data: review.Review) -> None:
    st.subheader(tr("sec_submissions"))
    frame = data.submissions
    grid = frame.pivot_table(
        index="community",
        columns="dataset_label",
        values="cue",
        aggfunc="first",
        sort=False,
    )
    grid.index.name = tr("col_community")
    grid.columns.name = None
    st.dataframe(grid, placeholder="—", key="submissions")
    with st.expander(tr("submission_details")):
        detail = _ui.labelled(
            frame,
            {
                "community": "col_community",
                "dataset_label": "col_dataset",
                "reporting": "col_reporting",
                "deadline": "col_deadline",
                "cue": "col_status",
                "submitted_at": "col_submitted_at",
                "version": "col_store_version",
                "user": "col_user",
                "note": "col_note",
            },
        )
        st.dataframe(detail, hide_index=True, placeholder="—", key="submission_details")


def _report(data: review.Review, token: str) -> None:
    st.subheader(tr("sec_report"))
    # The full token (printed in the report, taken by `report --version`) is in the tooltip;
    # on screen a short fingerprint of it is enough to tell two versions apart.
    short = hashlib.sha256(token.encode()).hexdigest()[:8]
    st.caption(tr("report_pinned", token=short), help=token)
    period, lang = data.period, _ui.lang()

    def build(fmt: str) -> Any:
        # Built when the button is pressed, at the version shown on screen.
        return lambda: access.meeting_report(_ui.get_store(), period, fmt, _ui.who(), token, lang)

    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button(
        tr("report_pdf"),
        data=build("pdf"),
        file_name=report.file_name(period, "pdf", lang),
        mime="application/pdf",
        type="primary",
        key="report_pdf",
    )
    c2.download_button(
        tr("report_xlsx"),
        data=build("xlsx"),
        file_name=report.file_name(period, "xlsx", lang),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="report_xlsx",
    )


def page() -> None:
    me = _ui.who()
    if not access.may_see_ranking(me):
        access.require(me, "view_city")
    names_only = not me.can("view_city")
    _ui.header("page_meeting", "intro_meeting")
    period = _ui.period_filter(("month", "quarter", "half", "year"))
    meeting_mode = st.sidebar.toggle(tr("meeting_mode"), key="meeting_mode")
    store = _ui.get_store()
    token = _ui.version().token
    data = _review(token, me.key, targets.current_version(store), period.code, _ui.lang())
    st.markdown(f"##### {_ui.md_escape(data.title())} · {_ui.md_escape(period.label(_ui.lang()))}")
    draw = {
        "narrative": lambda: _narrative(data),
        "headline": lambda: _headline(data),
        "league": lambda: _league(data, names_only),
        "followups": lambda: _followups(data),
        "submissions": lambda: _submissions(data),
        "report": lambda: _report(data, data.token),
    }
    shown = ("league",) if names_only else SECTIONS
    if meeting_mode and not names_only:
        st.html(_MEETING_CSS)
        section = st.segmented_control(
            tr("meeting_section"),
            list(SECTIONS),
            default="narrative",
            format_func=lambda s: tr(f"sec_{s}"),
            key="meeting_section",
            required=True,
        )
        draw[section or "narrative"]()
        return
    for name in shown:
        draw[name]()
        st.divider()


_ui.run_page(page, "page_meeting")
