"""The meeting report as a PDF (A4, the Chinese font embedded), section by section: the
title block, the narrative, the headline figures, the charts, the league table, the score
breakdown, 需督办事项 and the submission status of every ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pandas as pd
from fpdf.enums import WrapMode, XPos, YPos

from metrics.catalog import metric
from metrics.i18n import fmt_delta, fmt_number, t
from metrics.report.common import (
    SUBMISSION_COLOURS,
    about_rows,
    float_or_none,
    rank_change_text,
    score_text,
    status_or_none,
    trend_metrics,
    value_text,
)
from metrics.report.pdf_charts import hbar_chart, month_chart
from metrics.report.pdf_layout import (
    FONT,
    INK,
    MUTED,
    Column,
    ReportPdf,
    draw_paragraph,
    draw_table,
    rgb,
)
from metrics.review import (
    BANDS,
    FOLLOW_UP_CAP,
    Review,
    band_labels,
    capped,
    carried,
    groups,
    is_missing,
    rank_text,
    records,
)
from metrics.targets import MARKS, cue


def render_pdf(data: Review, when: dt.datetime) -> bytes:
    lang = data.lang
    pdf = ReportPdf(data, when)
    pdf.add_page()
    _title_block(pdf, data, when)
    pdf.heading(t("sec_narrative", lang))
    pdf.set_font(FONT, "", 10.5)
    for sentence in data.narrative:
        draw_paragraph(pdf, sentence, 6.2)
        pdf.ln(1)
    _headline_section(pdf, data)
    pdf.add_page()
    pdf.heading(t("sec_charts", lang))
    _charts(pdf, data)
    # The league table is wide: landscape when more than five metrics are scored.
    wide = len(data.scored_metrics) > 5
    pdf.add_page(orientation="L" if wide else "P")
    pdf.heading(t("sec_league", lang))
    _league_table(pdf, data)
    pdf.heading(t("sec_breakdown", lang))
    _breakdown_table(pdf, data)
    pdf.add_page(orientation="P")
    pdf.heading(t("sec_followups", lang))
    _follow_up_table(pdf, data)
    _carried_table(pdf, data)
    pdf.heading(t("sec_submissions", lang))
    _submission_table(pdf, data)
    _version_token(pdf, data)
    return bytes(pdf.output())


def _version_token(pdf: ReportPdf, data: Review) -> None:
    """The exact version token, on the last page: `report --version` rebuilds from it."""
    pdf.ln(4)
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    draw_paragraph(pdf, f"{t('report_token', data.lang)}: {data.token}", 5)
    pdf.set_text_color(*INK)


def _title_block(pdf: ReportPdf, data: Review, when: dt.datetime) -> None:
    """The title, the subtitle, then what the report was made from and when."""
    lang = data.lang
    pdf.set_font(FONT, "B", 20)
    pdf.cell(0, 11, data.title(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, t("report_subtitle", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(2)
    pdf.set_font(FONT, "", 9)
    for key, value in about_rows(data, when):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(24, 5.5, key)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
    if data.is_demo:
        pdf.set_text_color(*rgb("#b26a00"))
        pdf.cell(0, 6, t("report_demo", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)


def _headline_section(pdf: ReportPdf, data: Review) -> None:
    # The headline table is short: start it on a new page rather than leave its last row
    # alone on the next one.
    with pdf.offset_rendering() as dry:  # a dry run, undone on leaving (fpdf2)
        dry.heading(t("sec_headline", data.lang))
        _headline_table(cast(ReportPdf, dry), data)
    if dry.page_break_triggered:
        pdf.add_page()
    pdf.heading(t("sec_headline", data.lang))
    _headline_table(pdf, data)


def _charts(pdf: ReportPdf, data: Review) -> None:
    """Scores by community, then the trend metrics by month: the count in columns, the rate
    as a line against its target."""
    lang = data.lang
    y = hbar_chart(
        pdf,
        t("chart_scores", lang),
        list(data.league["community"]),
        [float_or_none(v) for v in data.league["score"]],
        top=pdf.get_y(),
    )
    count, rate = trend_metrics()
    months = [pd.Timestamp(d).date() for d in data.trend["period_start"]]
    y = month_chart(
        pdf,
        t("chart_cases", lang),
        months,
        [float_or_none(v) for v in data.trend[count]],
        metric(count).format,
        top=y,
        height=42,
        line=False,
    )
    target = data.targets.get(rate)
    month_chart(
        pdf,
        t("chart_resolution", lang),
        months,
        [float_or_none(v) for v in data.trend[rate]],
        metric(rate).format,
        top=y,
        height=42,
        line=True,
        target=target.green[0] if target is not None else None,
    )


def _headline_table(pdf: ReportPdf, data: Review) -> None:
    lang = data.lang
    columns = [
        Column(t("col_metric", lang)),
        Column(t("col_value", lang), "RIGHT"),
        Column(t("col_previous", lang), "RIGHT"),
        Column(t("mom", lang), "RIGHT"),
        Column(t("col_year_ago", lang), "RIGHT"),
        Column(t("yoy", lang), "RIGHT"),
        Column(t("col_target", lang), "RIGHT"),
        Column(t("col_status", lang), "CENTER"),
    ]
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for r in records(data.headline):
        kind = r["format"]
        state = status_or_none(r["status"])
        rows.append(
            [
                r["label"],
                value_text(r["value"], kind, lang),
                value_text(r["previous"], kind, lang),
                fmt_delta(kind, float_or_none(r["value"]), float_or_none(r["previous"]), lang),
                value_text(r["year_ago"], kind, lang),
                fmt_delta(kind, float_or_none(r["value"]), float_or_none(r["year_ago"]), lang),
                r["target"] or "—",
                cue(state, lang, plain=True) if r["target"] else "—",
            ]
        )
        fills.append([None, None, None, None, None, None, None, state])
    draw_table(pdf, columns, rows, fills)


def _league_table(pdf: ReportPdf, data: Review) -> None:
    lang = data.lang
    names = data.scored_metrics
    columns = [
        Column(t("col_rank", lang), "CENTER"),
        Column(t("col_rank_change", lang), "CENTER"),
        Column(t("col_community", lang)),
        Column(t("col_score", lang), "RIGHT"),
    ] + [Column(metric(n).text("label", lang), "RIGHT") for n in names]
    rows, fills = [], []
    for r in records(data.league):
        cells = [
            rank_text(r["rank"], r["tied"]),
            rank_change_text(r["rank_change"], lang),
            r["community"],
            score_text(r["score"]),
        ]
        states: list[str | None] = [None] * 4
        for n in names:
            state = status_or_none(r[n + "_status"])
            mark = f" {MARKS[state]}" if state else ""
            if is_missing(r[n], state):
                cells.append(t("sub_missing", lang) + mark)
            else:
                cells.append(value_text(r[n], metric(n).format, lang) + mark)
            states.append(state)
        rows.append(cells)
        fills.append(states)
    draw_table(pdf, columns, rows, fills)
    legend = "　".join(f"{MARKS[s]} {t('status_' + s, lang)}" for s in MARKS)
    if data.league["missing_ledgers"].map(len).any():
        legend += "　" + t("report_missing_note", lang)
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    draw_paragraph(pdf, legend, 5)
    pdf.set_text_color(*INK)


def _breakdown_table(pdf: ReportPdf, data: Review) -> None:
    lang = data.lang
    columns = [
        Column(t("col_community", lang)),
        Column(t("col_metric", lang)),
        Column(t("col_value", lang), "RIGHT"),
        Column(t("col_target", lang), "RIGHT"),
        Column(t("col_status", lang), "CENTER"),
        Column(t("col_share", lang), "RIGHT"),
        Column(t("col_points", lang), "RIGHT"),
        Column(t("col_contribution", lang), "RIGHT"),
    ]
    rows, fills = [], []
    for r in records(data.breakdown):
        state = status_or_none(r["status"])
        value = (
            t("sub_missing", lang)
            if r["missing"]
            else value_text(r["value"], metric(r["metric"]).format, lang)
        )
        rows.append(
            [
                r["community"],
                r["label"],
                value,
                r["target"],
                cue(state, lang, plain=True),
                f"{r['share'] * 100:.1f}%",
                "—" if r["points"] is None or pd.isna(r["points"]) else f"{r['points']:.0f}",
                f"{r['contribution']:.1f}",
            ]
        )
        fills.append([None] * 4 + [state] + [None] * 3)
    draw_table(pdf, columns, rows, fills, font_size=8)


def _follow_up_table(pdf: ReportPdf, data: Review) -> None:
    """By community and kind with the counts in each age band, then the oldest items of
    each group with "及其他 N 项" for the rest (the XLSX has every item)."""
    lang = data.lang
    if data.follow_ups.empty:
        draw_paragraph(pdf, t("no_followups", lang), 5.5)
        return
    _follow_up_groups(pdf, data)
    pdf.set_font(FONT, "B", 9)
    draw_paragraph(pdf, t("fu_list", lang, cap=FOLLOW_UP_CAP), 5.5)
    columns = [
        Column(t("col_kind", lang), wrap=True),
        Column(t("col_owner", lang), wrap=True),
        Column(t("col_item", lang), wrap=True),
        Column(t("col_detail", lang), wrap=True),
        Column(t("col_status", lang), wrap=True),
        Column(t("col_since", lang), "CENTER"),
        Column(t("col_age", lang), "RIGHT"),
    ]
    rows, fills = [], []
    for r in records(capped(data.follow_ups, FOLLOW_UP_CAP, lang)):
        state = status_or_none(r["status"])
        rows.append(
            [
                r["kind_label"],
                r["owner"],
                str(r["item"]),
                r["detail"] or "",
                f"{MARKS[state]}\u00a0{r['reason']}"
                if state
                else "",  # the mark stays with its word
                r["since"] or "",
                "—" if pd.isna(r["age_days"]) else str(int(r["age_days"])),
            ]
        )
        fills.append([None] * 4 + [state] + [None] * 2)
    draw_table(pdf, columns, rows, fills, font_size=8)


def _carried_table(pdf: ReportPdf, data: Review) -> None:
    """上期督办事项: per community and the city (review/carried.py)."""
    lang, frame = data.lang, data.carried
    if frame is None or frame.empty:  # one line: the packet keeps its pages
        pdf.set_font(FONT, "B", 9)
        draw_paragraph(pdf, t("track_carried_none_line", lang), 5.5)
        return
    pdf.heading(t("sec_carried", lang))
    draw_paragraph(pdf, carried.rule(data.period, lang), 5.5)
    counts = ("due", "on_time", "late", "open")
    columns = [Column(t("track_col_community", lang))]
    columns += [Column(t(f"track_col_{k}", lang), "RIGHT") for k in (*counts, "rate")]
    rows = [
        [r["community"], *(str(r[k]) for k in counts), fmt_number(r["rate"], "pct", lang)]
        for r in records(carried.summary(frame, lang))
    ]
    draw_table(pdf, columns, rows, None, font_size=8)


def _follow_up_groups(pdf: ReportPdf, data: Review) -> None:
    lang = data.lang
    labels = band_labels(data.targets.follow_up_days, lang)
    columns = [
        Column(t("col_community", lang)),
        Column(t("col_kind", lang), wrap=True),
        Column(t("col_count", lang), "RIGHT"),
    ] + [Column(labels[b], "RIGHT") for b in BANDS]
    rows = [
        [r["community"], r["kind_label"], str(r["count"])]
        + ["—" if pd.isna(r[b]) else str(r[b]) for b in BANDS]
        for r in records(groups(data.follow_ups))
    ]
    pdf.set_font(FONT, "B", 9)
    draw_paragraph(pdf, t("fu_groups", lang), 5.5)
    draw_table(pdf, columns, rows, None, font_size=8)


def _submission_cell(r: dict[str, Any], lang: str) -> str:
    """The status, then when and in which version it came in (or the deadline it missed)."""
    colour = SUBMISSION_COLOURS.get(r["status"])
    mark = MARKS[colour] if colour else "…"
    when = r["submitted_at"]
    if when is None or pd.isna(when):
        second = t("report_sub_due", lang, deadline=r["deadline"])
    else:
        stamp = pd.Timestamp(when).strftime("%Y-%m-%d %H:%M")
        second = t("report_sub_in", lang, at=stamp, version=int(r["version"]))
    return f"{mark} {t('sub_' + r['status'], lang)}\n{second}"


def _submission_table(pdf: ReportPdf, data: Review) -> None:
    """Community × ledger: each cell the status word with its mark, the upload time and the
    store version it came in with (or the deadline that passed)."""
    lang = data.lang
    subs = data.submissions
    ledgers = list(dict.fromkeys(subs["dataset"]))
    labels = dict(zip(subs["dataset"], subs["dataset_label"], strict=False))
    reporting = dict(zip(subs["dataset"], subs["reporting"], strict=False))
    columns = [Column(t("col_community", lang))] + [
        Column(f"{labels[d]}\n{reporting[d]}", "CENTER") for d in ledgers
    ]
    rows, fills = [], []
    for _community_id, group in subs.groupby("community_id", sort=True):
        by = {r["dataset"]: r for r in records(group)}
        cells: list[str] = [str(group["community"].iloc[0])]
        states: list[str | None] = [None]
        for d in ledgers:
            cells.append(_submission_cell(by[d], lang))
            states.append(SUBMISSION_COLOURS.get(str(by[d]["status"])))
        rows.append(cells)
        fills.append(states)
    draw_table(pdf, columns, rows, fills, font_size=8)
    notes = sorted({n for n in subs["note"] if n})
    deadline = subs["deadline"].iloc[0] if len(subs) else None
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    if deadline is not None:
        draw_paragraph(pdf, f"{t('col_deadline', lang)}: {deadline}", 5)
    for note in notes:
        draw_paragraph(pdf, note, 5)
    pdf.set_text_color(*INK)
