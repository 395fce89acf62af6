"""月度例会 Review meetings: the month's (quarter's, half-year's, year's) figures against
targets, the league table, the follow-up list, submissions, and the report to print.

Everything shown is metrics.review's; the PDF/XLSX are metrics.report's, built from the
same store version as the screen (the version is printed on both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import access
from metrics.access import Review
from metrics.i18n import fmt_delta, fmt_number
from pages import _cache
from pages._cards import DELTA_COLOURS
from pages._charts import show, style
from pages._filters import period_filter
from pages._page import demo_badge, header, period_line, period_state, run_page
from pages._rankings import CHART_ENDS
from pages._records import download_buttons, labelled, pinned, table_height
from pages._signin import who
from pages._text import lang, md_escape, metric_value, plot_text, tr
from pages._track import carried_section, track_follow_up

SCORE_COLOUR = access.SCORE_COLOUR
MEETING_CHART_HEIGHT = 480  # px: what 1440x900 leaves under the heading in meeting mode

SECTIONS = ("narrative", "carried", "headline", "league", "followups", "submissions", "report")

# Meeting mode is read from across a room: larger type in the main column only (the sidebar
# keeps its size). Selectors name the element that carries the size: st.metric's value is
# a <p> inside a markdown container, so a rule for every markdown <p> would shrink it.
# Tables are st.table in meeting mode (st.dataframe draws on a canvas that CSS cannot
# enlarge). The style sheet is a constant of this file; no uploaded or user text goes in.
# One section a screen (1920x1080 and 1440x900, tests/browser/test_meeting_screens.py):
# the page's title, period and version on one line above the section chooser, and the
# section below them never taller than the rest of the screen: a table longer than that
# scrolls inside itself under its header, and so, as a last resort, does the section.
# Follow-up tables in meeting mode: past SCROLL_ROWS rows, a box of this height (fits under
# the header at 1440x900) that scrolls inside. Streamlit's own scroller for a table given a
# height is reachable by keyboard (axe: scrollable-region-focusable); a CSS overflow is not.
FOLLOW_UP_PX = 520
SCROLL_ROWS = 8
_MAIN = '[data-testid="stMainBlockContainer"]'
_MD = '[data-testid="stMarkdownContainer"]'
_MEETING_CSS = f"""
<style>
{_MAIN} {{ max-width: 100%; padding: 3.5rem 3rem 0.5rem; }}
{_MAIN} {_MD} p, {_MAIN} {_MD} li {{ font-size: 1.6rem; line-height: 1.55; }}
{_MAIN} h3 {{ font-size: 2rem; padding: 0.25rem 0; }}
.st-key-meeting_header h1 {{ font-size: 1.75rem; padding: 0; }}
.st-key-meeting_header {_MD} p {{ font-size: 1.1rem; line-height: 1.4; }}
.st-key-meeting_section {_MD} p {{ font-size: 1.1rem; }}
{_MAIN} .st-key-meeting_narrative {_MD} p {{ font-size: clamp(1.15rem, 2.15vh, 1.6rem); }}
{_MAIN} {{ height: 100vh; display: flex; flex-direction: column; box-sizing: border-box; }}
{_MAIN} > [data-testid="stVerticalBlock"] {{ flex: 1 1 auto; min-height: 0; }}
[data-testid="stLayoutWrapper"]:has(> .st-key-meeting_body) {{ flex: 1 1 0; min-height: 0; }}
.st-key-meeting_body {{ height: 100%; overflow-y: auto; overflow-x: hidden; }}
{_MAIN} [data-testid="stTable"] {{ max-height: calc(100vh - 17rem); overflow: auto; }}
{_MAIN} .st-key-meeting_league [data-testid="stTable"] td {{
    font-size: 1.25rem; padding: 0.3rem 0.4rem;
}}
{_MAIN} .st-key-meeting_league [data-testid="stTable"] td * {{ white-space: nowrap; }}
{_MAIN} [data-testid="stTable"] thead th {{
    position: sticky; top: 0; z-index: 1; background: var(--meeting-th, #f0f2f6);
}}
{_MAIN} [data-testid="stMetricLabel"] {_MD} p {{ font-size: 1.5rem; }}
{_MAIN} [data-testid="stMetricValue"],
{_MAIN} [data-testid="stMetricValue"] {_MD} p {{ font-size: 3.5rem; line-height: 1.2; }}
{_MAIN} [data-testid="stMetricDelta"] {_MD} p {{ font-size: 1.5rem; }}
{_MAIN} [data-testid="stColumn"] [data-testid="stCaptionContainer"] p {{ font-size: 1.3rem; }}
{_MAIN} [data-testid="stTable"] th {{ font-size: 1.2rem; padding: 0.4rem 0.6rem; }}
{_MAIN} [data-testid="stTable"] td {{ font-size: 1.4rem; padding: 0.3rem 0.6rem; }}
{_MAIN} [data-testid="stTable"] th {_MD} p {{ font-size: inherit; line-height: 1.3; }}
{_MAIN} [data-testid="stTable"] td {_MD} p {{ font-size: inherit; line-height: 1.4; }}
</style>
"""


def _table(
    frame: pd.DataFrame,
    meeting: bool,
    *,
    key: str,
    pin: Sequence[Any] | None = None,
    scroll_px: int | None = None,
    **options: Any,
) -> Any:
    """st.table in meeting mode (large type), else an interactive st.dataframe whose `pin`
    columns (the first by default; none for a table whose index says what a row is) stay
    in view as a wide table scrolls sideways."""
    if meeting:  # past SCROLL_ROWS rows, `scroll_px` high and scrolling inside (keyboard too)
        height: int | Literal["content"] = "content"
        if scroll_px is not None and len(frame) > SCROLL_ROWS:
            height = scroll_px
        return st.table(frame, hide_index=options.get("hide_index", True), height=height)
    columns = list(frame.columns[:1] if pin is None else pin)
    config = pinned(columns, options.pop("column_config", None), first=len(columns))
    return st.dataframe(frame, placeholder="—", key=key, column_config=config, **options)


def _heading(title_key: str, meeting: bool, views: Sequence[str] = (), *, key: str) -> str | None:
    """A section's heading; in meeting mode, beside it, the choice of which of `views` to
    show (a section too tall for one screen shows one part at a time). The view chosen, or
    None off meeting mode (every part is shown)."""
    if not (meeting and views):
        st.subheader(tr(title_key))
        return None
    row = st.container(horizontal=True, vertical_alignment="center", gap="large")
    row.subheader(tr(title_key))
    with row:
        chosen = st.segmented_control(
            tr("meeting_view"),
            list(views),
            default=views[0],
            format_func=lambda v: tr(f"meeting_view_{v}"),
            key=key,
            required=True,
            label_visibility="collapsed",
        )
    return chosen or views[0]


def _narrative(data: Review) -> None:
    st.subheader(tr("sec_narrative"))
    with st.container(key="meeting_narrative"):  # its type fits the screen's height
        for sentence in data.narrative:
            st.markdown(md_escape(sentence))


def _headline(data: Review, meeting: bool) -> None:
    st.subheader(tr("sec_headline"))
    rows = access.headline_rows(data)
    language = lang()
    if meeting:
        _headline_table(rows)
        return
    per_row = 4
    for start in range(0, len(rows), per_row):
        cols = st.columns(per_row)
        for col, row in zip(cols, rows[start : start + per_row], strict=False):
            m = access.metric(row["metric"])
            value = _value(row["value"])
            mom = _value(row["mom"])
            # 环比 in percentage points for a share, in stars for stars (i18n.fmt_delta)
            said = fmt_delta(m.format, value, _value(row["previous"]), language, minus="-")
            if said.startswith("±"):
                mom = 0.0
            col.metric(
                row["label"],
                metric_value(row["metric"], value),
                delta=None if mom is None else said,
                delta_color="off" if not mom else DELTA_COLOURS.get(m.direction, "off"),
                delta_arrow="off" if mom == 0 else "auto",
                delta_description=tr("mom"),
                border=True,
            )
            cue = f"{row['cue']} · " if row["cue"] else ""
            yoy = fmt_delta(m.format, value, _value(row["year_ago"]), language)
            col.caption(f"{cue}{tr('yoy')} {yoy}")


def _headline_table(rows: list[dict[str, Any]]) -> None:
    """The headline figures on a projector: one line a metric (thirteen cards of large
    type take three screens at 1440x900; a table of them takes one)."""
    language = lang()
    formats = [access.metric(r["metric"]).format for r in rows]
    values = [_value(r["value"]) for r in rows]
    shown = pd.DataFrame(
        {
            tr("col_metric"): [r["label"] for r in rows],
            tr("col_value"): [
                metric_value(r["metric"], v) for r, v in zip(rows, values, strict=True)
            ],
            tr("mom"): [
                fmt_delta(f, v, _value(r["previous"]), language)
                for f, v, r in zip(formats, values, rows, strict=True)
            ],
            tr("yoy"): [
                fmt_delta(f, v, _value(r["year_ago"]), language)
                for f, v, r in zip(formats, values, rows, strict=True)
            ],
            tr("col_status"): [r["cue"] or "—" for r in rows],
        }
    )
    st.table(shown, hide_index=True)


def _value(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _cell(value: Any, state: Any, kind: str) -> str:
    """A league cell: the status icon and the value, 缺报 where the ledger is missing, and
    one "—" where there is no value (no status to show either)."""
    if access.is_missing(value, state):
        return f"{access.TARGET_ICONS['red']}\u00a0{tr('sub_missing')}"
    if _value(value) is None:
        return "—"
    icon = access.TARGET_ICONS.get(str(state))  # kept with its value by a no-break space
    number = fmt_number(_value(value), kind, lang())
    return f"{icon}\u00a0{number}" if icon else number


def _league(data: Review, names_only: bool, meeting: bool) -> None:
    views = ("table", "chart") if names_only else ("table", "chart", "breakdown")
    view = _heading("sec_league", meeting, views, key="league_view")
    table = data.league
    shown = pd.DataFrame(
        {
            tr("col_rank"): [
                access.rank_text(r, tied)
                for r, tied in zip(table["rank"], table["tied"], strict=True)
            ],
            tr("col_rank_change"): [_rank_change(v) for v in table["rank_change"]],
            tr("col_community"): table["community"],
            tr("col_score"): table["score"],
        }
    )
    if not names_only:
        for name in data.scored_metrics:
            m = access.metric(name)
            shown[m.text("label", lang())] = [
                _cell(v, s, m.format)
                for v, s in zip(table[name], table[f"{name}_status"], strict=True)
            ]
    options: dict[str, Any] = {
        "hide_index": True,
        "height": table_height(len(shown)),
        # One neutral colour: a score has no target of its own, so no red or green.
        "column_config": {
            tr("col_score"): st.column_config.ProgressColumn(
                tr("col_score"), min_value=0, max_value=100, format="%.1f", color=SCORE_COLOUR
            )
        },
    }
    selectable = not names_only and not meeting
    if selectable:
        options.update(on_select="rerun", selection_mode="single-row")
    if meeting:
        shown[tr("col_score")] = [f"{v:.1f}" if pd.notna(v) else "—" for v in table["score"]]
    # The rank and the community stay in view as the figures scroll sideways.
    pin = [shown.columns[0], shown.columns[2]]
    event = None
    if view in (None, "table"):
        # Cells on one line in meeting mode: the twelve rows of a city fit 1440x900.
        with st.container(key="meeting_league" if meeting else None):
            event = _table(shown, meeting, key="league", pin=pin, **options)
    if view in (None, "chart"):
        _score_chart(table, meeting)
    if names_only or view not in (None, "breakdown"):
        return
    picked = list(event.selection.rows) if selectable and event is not None else []
    _breakdown(data, picked[0] if picked else None, meeting)


def _score_chart(table: pd.DataFrame, meeting: bool = False) -> None:
    bars, title = table, tr("chart_scores")
    if len(table) > 2 * CHART_ENDS:  # many communities: the best and the worst
        bars = pd.concat([table.head(CHART_ENDS), table.tail(CHART_ENDS)])
        title = tr("ranking_ends", title=title, n=CHART_ENDS)
    fig = go.Figure(
        go.Bar(
            name=tr("col_score"),
            x=bars["score"],
            y=[plot_text(n) for n in bars["community"]],
            orientation="h",
            marker_color=SCORE_COLOUR,  # as the PDF's chart: the value is printed on the bar
            text=["—" if pd.isna(s) else f"{s:.1f}" for s in bars["score"]],
            textposition="inside",
            textangle=0,
        )
    )
    style(fig, title)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(range=[0, 105], tickvals=[0, 20, 40, 60, 80, 100])
    fig.update_layout(showlegend=False, hovermode="closest", height=80 + 28 * len(bars))
    if meeting:  # read from the back of the room, like the rest of meeting mode
        # as tall as one screen leaves room for (20 bars at most: CHART_ENDS)
        height = min(100 + 44 * len(bars), MEETING_CHART_HEIGHT)
        fig.update_layout(font={"size": 20}, title_font_size=24, height=height)
        fig.update_xaxes(tickfont_size=18)
        fig.update_yaxes(tickfont_size=20)
    show(fig, title, tr("community"))


def _breakdown(data: Review, row: int | None, meeting: bool) -> None:
    """How one community's score is made: the row picked in the league table, or (no row
    picked, or meeting mode where the table is not interactive) the one chosen by name."""
    st.markdown(f"**{md_escape(tr('sec_breakdown'))}**")
    table = data.league
    names = dict(zip(table["community_id"], table["community"], strict=True))
    chosen: str | None
    if row is None:
        if not meeting:
            st.caption(tr("breakdown_pick"))
        chosen = st.selectbox(
            tr("community"),
            list(names),
            index=None,
            format_func=lambda c: names[c],
            placeholder=tr("breakdown_choose"),
            key="breakdown_of",
        )
        if chosen is None:
            return
    else:
        chosen = str(table["community_id"].iloc[row])
    parts = data.breakdown[data.breakdown["community_id"] == chosen]
    language = lang()
    values = [
        tr("sub_missing") if gone else fmt_number(_value(v), access.metric(m).format, language)
        for v, m, gone in zip(parts["value"], parts["metric"], parts["missing"], strict=True)
    ]
    shown = pd.DataFrame(
        {
            tr("col_metric"): parts["label"],
            tr("col_value"): values,
            tr("col_target"): parts["target"],
            tr("col_status"): parts["cue"],
            tr("col_share"): [f"{v * 100:.1f}%" for v in parts["share"]],
            tr("col_points"): ["—" if pd.isna(v) else f"{v:.0f}" for v in parts["points"]],
            tr("col_contribution"): [f"{v:.1f}" for v in parts["contribution"]],
        }
    )
    score = table.loc[table["community_id"] == chosen, "score"].iloc[0]
    total = "—" if pd.isna(score) else f"{score:.1f}"
    st.markdown(md_escape(tr("breakdown_total", community=names[chosen], score=total)))
    _table(shown, meeting, key="breakdown", hide_index=True)


def _rank_change(value: Any) -> str:
    if value is None or pd.isna(value):
        return tr("rank_new")
    step = int(value)
    return f"↑{step}" if step > 0 else f"↓{-step}" if step < 0 else "—"


def _followups(data: Review, meeting: bool) -> None:
    """By community and kind with the counts by age band; then the oldest few items of each
    group and "及其他 N 项" for the rest; the download (and the XLSX report) has them all."""
    view = _heading("sec_followups", meeting, ("groups", "list"), key="followups_view")
    frame = data.follow_ups
    if frame.empty:
        st.success(tr("no_followups"))
        return
    counts = access.follow_up_groups(frame)
    summary = labelled(
        counts, {"community": "col_community", "kind_label": "col_kind", "count": "col_count"}
    )
    for band, label in access.band_labels(data.targets.follow_up_days, lang()).items():
        summary[label] = counts[band]  # none for a kind without an age: one "—"
    if meeting:  # st.table has no placeholder for a missing number
        summary = summary.astype(object).where(summary.notna(), "—")
    if view in (None, "groups"):
        if not meeting:  # there the view's name says it
            st.markdown(f"**{md_escape(tr('fu_groups'))}**")
        with st.container(key="meeting_followups_groups" if meeting else None):
            _table(summary, meeting, key="followup_groups", hide_index=True, scroll_px=FOLLOW_UP_PX)
    if view not in (None, "list"):
        return
    columns = {
        "kind_label": "col_kind",
        "owner": "col_owner",
        "item": "col_item",
        "detail": "col_detail",
        "cue": "col_status",
        "since": "col_since",
        "age_days": "col_age",
        "band_label": "col_band",
    }
    if meeting:  # on a projector: the age says since when
        del columns["since"]
    st.markdown(f"**{md_escape(tr('fu_list', cap=access.FOLLOW_UP_CAP))}**")
    shown = labelled(access.follow_ups_capped(frame, lang()), columns)
    age = shown.pop(tr("col_age"))  # numbers stay numbers ("—" for 及其他), text on a projector
    if meeting:
        age = age.map(lambda v: "" if pd.isna(v) else str(int(v)))
    shown = shown.astype(object).where(shown.notna(), "")
    shown.insert(list(columns).index("age_days"), tr("col_age"), age)
    with st.container(key="meeting_followups_list" if meeting else None):
        _table(shown, meeting, key="followups", hide_index=True, scroll_px=FOLLOW_UP_PX)
    if not meeting:
        full = labelled(frame, {"community": "col_community", **columns, "since": "col_since"})
        stem = f"{tr('file_followups')}-{data.period.code}"
        download_buttons(full, stem, key="followups")
        track_follow_up(frame)  # 转为督办事项: pages/_track.py


def _submissions(data: Review, meeting: bool) -> None:
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
    _table(grid, meeting, key="submissions", hide_index=False, pin=())  # the index stays
    with st.expander(tr("submission_details")):
        detail = labelled(
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
        _table(detail, False, key="submission_details", hide_index=True)


def _report(data: Review, token: str) -> None:
    st.subheader(tr("sec_report"))
    # The full token (printed on the report's last page and in its properties, taken by
    # `report --version`) is in the tooltip; on screen its short id, as the report prints.
    st.caption(tr("report_pinned", token=access.version_id(token)), help=token)
    period, language = data.period, lang()
    # Who asks, and the store, are taken now: the file is built when the button is pressed,
    # outside this script run, where there is no signed-in user to ask (st.user is empty
    # there, streamlit#13409) and no session state. The rights are checked again then.
    store, me = _cache.get_store(), who()

    def build(fmt: str) -> Any:
        # Built when the button is pressed, at the version shown on screen.
        return lambda: access.meeting_report(store, period, fmt, me, token, language)

    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button(
        tr("report_pdf"),
        data=build("pdf"),
        file_name=access.report_file_name(period, "pdf", language),
        mime="application/pdf",
        type="primary",
        key="report_pdf",
    )
    c2.download_button(
        tr("report_xlsx"),
        data=build("xlsx"),
        file_name=access.report_file_name(period, "xlsx", language),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="report_xlsx",
    )


def _meeting_header(data: Review) -> None:
    """Meeting mode's heading, one line: the page, the meeting and its period, the data's
    version (and ⏳ with the note while the period is still open), the demo badge."""
    note, stamp, closed = period_state(data.period, data.stamp)
    parts = [data.title(), data.period.label(lang()), stamp] + ([] if closed else [f"⏳ {note}"])
    with st.container(horizontal=True, vertical_alignment="center", key="meeting_header"):
        st.title(tr("page_meeting"))
        st.markdown(md_escape("　·　".join(parts)))
        demo_badge()


def page() -> None:
    me = who()
    if not access.may_see_ranking(me):
        access.require(me, "view_city")
    names_only = not me.can("view_city")
    period = period_filter(("month", "quarter", "half", "year"))
    meeting = st.sidebar.toggle(tr("meeting_mode"), key="meeting_mode") and not names_only
    data = _cache.meeting_review(period, me)
    language = lang()
    if not meeting:
        header("page_meeting", "intro_meeting")
        st.markdown(f"##### {md_escape(data.title())} · {md_escape(period.label(language))}")
        period_line(period, data.stamp)
    draw = {
        "narrative": lambda: _narrative(data),
        "carried": lambda: carried_section(data, lambda f, k: _table(f, meeting, key=k)),
        "headline": lambda: _headline(data, meeting),
        "league": lambda: _league(data, names_only, meeting),
        "followups": lambda: _followups(data, meeting),
        "submissions": lambda: _submissions(data, meeting),
        "report": lambda: _report(data, data.token),
    }
    shown = ("league",) if names_only else SECTIONS
    if meeting:
        st.html(_MEETING_CSS)
        _meeting_header(data)
        section = st.segmented_control(
            tr("meeting_section"),
            list(SECTIONS),
            default="narrative",
            format_func=lambda s: tr(f"sec_{s}"),
            key="meeting_section",
            required=True,
            label_visibility="collapsed",
        )
        with st.container(key="meeting_body"):
            draw[section or "narrative"]()
        return
    for name in shown:
        draw[name]()
        st.divider()


run_page(page, "page_meeting")
