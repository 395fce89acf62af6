"""The meeting report as an XLSX workbook: a sheet a section, real numbers with number
formats, the header row frozen (and the name columns where useful), filters, and Excel's own
charts beside the trend they read."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
import xlsxwriter

from metrics.catalog import metric
from metrics.export import neutralise
from metrics.i18n import ABSOLUTE_DELTAS, t
from metrics.report.common import (
    SUBMISSION_COLOURS,
    about_rows,
    float_or_none,
    status_or_none,
    trend_metrics,
)
from metrics.review import Review, carried, is_missing, records
from metrics.targets import FILLS, ICONS, NEUTRAL, cue

# A cell: its value, its kind (a NUMBER_FORMATS key, "text" or "wrap") and its status colour.
Cell = tuple[Any, str, str | None]

NUMBER_FORMATS = {
    "int": "#,##0",
    "pct": "0.0%",
    "float1": "0.0",
    "days": "0.0",
    "stars": "0.0",
    "score": "0.0",
    "change": "+0.0%;-0.0%;0.0%",
    # percentage points and stars, as i18n.fmt_delta says them
    "change_pct_zh": '+0.0"个百分点";-0.0"个百分点";0.0"个百分点"',
    "change_pct_en": '+0.0" pp";-0.0" pp";0.0" pp"',
    "change_stars_zh": '+0.0"星";-0.0"星";0.0"星"',
    "change_stars_en": '+0.0" stars";-0.0" stars";0.0" stars"',
    "rank": "0",
    "rank_tied": '0"="',  # a shared rank reads 3= and stays the number 3
    "signed": "+0;-0;0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


class _Book:
    """xlsxwriter with cached cell formats; text goes through export.neutralise."""

    def __init__(self, buffer: io.BytesIO, when: dt.datetime, data: Review) -> None:
        self.wb = xlsxwriter.Workbook(
            buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        # The exact version token in the properties: `report --version` rebuilds from it.
        self.wb.set_properties(
            {
                "created": when.replace(tzinfo=None),
                "title": data.title(),
                "subject": data.stamp,
                "keywords": data.token,
                "comments": f"{t('report_token', data.lang)}: {data.token}",
            }
        )
        self._formats: dict[tuple[str, str | None, bool], Any] = {}
        self.header = self.wb.add_format(
            {"bold": True, "bg_color": "#E9ECEF", "border": 1, "text_wrap": True, "valign": "top"}
        )

    def fmt(self, kind: str = "text", state: str | None = None, wrap: bool = False) -> Any:
        key = (kind, state, wrap)
        if key not in self._formats:
            spec: dict[str, Any] = {"valign": "top"}
            if kind in NUMBER_FORMATS:
                spec["num_format"] = NUMBER_FORMATS[kind]
            if state in FILLS:
                spec["bg_color"] = FILLS[state]
            if wrap:
                spec["text_wrap"] = True
            self._formats[key] = self.wb.add_format(spec)
        return self._formats[key]

    def sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        freeze_cols: int = 0,
        filters: bool = True,
    ) -> Any:
        """A sheet: bold header row (frozen), then rows of (value, kind, status) cells;
        each column as wide as its longest text (wrapped beyond MAX_WIDTH)."""
        ws = self.wb.add_worksheet(name[:31])
        for j, header in enumerate(headers):
            ws.write_string(0, j, str(neutralise(header)), self.header)
            cells = [r[j] for r in rows]
            ws.set_column(j, j, _fit_width(header, cells))
        for i, row in enumerate(rows, start=1):
            for j, (value, kind, state) in enumerate(row):
                self.write(ws, i, j, value, kind, state)
        ws.freeze_panes(1, freeze_cols)
        if rows and filters:
            ws.autofilter(0, 0, len(rows), len(headers) - 1)
        return ws

    def write(self, ws: Any, i: int, j: int, value: Any, kind: str, state: str | None) -> None:
        cell_format = self.fmt(kind, state, wrap=kind == "wrap")
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            ws.write_blank(i, j, None, cell_format)
        elif kind == "datetime" or kind == "date":
            ws.write_datetime(i, j, pd.Timestamp(value).to_pydatetime(), cell_format)
        elif isinstance(value, str):
            ws.write_string(i, j, str(neutralise(value)), cell_format)
        else:
            ws.write_number(i, j, float(value), cell_format)


MAX_WIDTH = 60  # characters; longer text wraps (kind "wrap")
_SHOWN_WIDTH = {"date": 10, "datetime": 16, "pct": 7, "change": 7, "score": 6}


def _display_width(text: str) -> int:
    """Excel column units: a Chinese character is about two of them."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _fit_width(header: str, cells: Sequence[Cell]) -> float:
    widths = [_display_width(header)]
    for value, kind, _state in cells:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            continue
        if kind in _SHOWN_WIDTH:
            widths.append(_SHOWN_WIDTH[kind])
        elif isinstance(value, str):
            widths.append(max(_display_width(x) for x in value.split("\n")))
        else:
            widths.append(len(f"{float(value):,.1f}"))
    return float(min(max(widths) + 2, MAX_WIDTH))


def _since(value: str) -> tuple[Any, str]:
    """A follow-up's start: a real date where it is a day, else the period code as text."""
    try:
        return dt.date.fromisoformat(value), "date"
    except ValueError:
        return value, "text"


def _change_kind(kind: str, lang: str) -> str:
    """The number format of a headline's 环比/同比 (review.headline: i18n.delta)."""
    return f"change_{kind}_{lang}" if kind in ABSOLUTE_DELTAS else "change"


def render_xlsx(data: Review, when: dt.datetime) -> bytes:
    buffer = io.BytesIO()
    book = _Book(buffer, when, data)
    _summary_sheet(book, data, when)
    _headline_sheet(book, data)
    _league_sheet(book, data)
    _breakdown_sheet(book, data)
    _follow_up_sheet(book, data)
    _carried_sheet(book, data)
    _submission_sheet(book, data)
    _chart_sheet(book, data)
    book.wb.close()
    return buffer.getvalue()


def _summary_sheet(book: _Book, data: Review, when: dt.datetime) -> None:
    """The title and what the report was made from, then the narrative a sentence a row."""
    lang = data.lang
    about: list[list[Cell]] = [[(data.title(), "text", None), ("", "text", None)]]
    about += [[(k, "text", None), (v, "text", None)] for k, v in about_rows(data, when)]
    about.append([(t("report_token", lang), "text", None), (data.token, "text", None)])
    if data.is_demo:
        about.append([("", "text", None), (t("report_demo", lang), "text", None)])
    about.append([("", "text", None), ("", "text", None)])
    about += [[(t("sec_narrative", lang), "text", None), (s, "wrap", None)] for s in data.narrative]
    summary = book.sheet(t("sec_narrative", lang), [t("col_item", lang), ""], about, filters=False)
    summary.set_column(1, 1, 100)  # sentences wrap in a wide column


def _headline_sheet(book: _Book, data: Review) -> None:
    lang = data.lang
    rows: list[list[Cell]] = []
    for r in records(data.headline):
        kind, state = r["format"], status_or_none(r["status"])
        rows.append(
            [
                (r["label"], "text", None),
                (float_or_none(r["value"]), kind, None),
                (float_or_none(r["previous"]), kind, None),
                (float_or_none(r["mom"]), _change_kind(kind, lang), None),
                (float_or_none(r["year_ago"]), kind, None),
                (float_or_none(r["yoy"]), _change_kind(kind, lang), None),
                (r["target"], "text", None),
                (r["cue"], "text", state),
            ]
        )
    book.sheet(
        t("sec_headline", lang),
        [
            t("col_metric", lang),
            t("col_value", lang),
            t("col_previous", lang),
            t("mom", lang),
            t("col_year_ago", lang),
            t("yoy", lang),
            t("col_target", lang),
            t("col_status", lang),
        ],
        rows,
        freeze_cols=1,
    )


def _league_sheet(book: _Book, data: Review) -> None:
    """A row a community: rank, score, then each scored metric's value and its status."""
    lang = data.lang
    names = data.scored_metrics
    headers = [
        t("col_rank", lang),
        t("col_rank_change", lang),
        t("col_previous_rank", lang),
        t("col_community_id", lang),
        t("col_community", lang),
        t("col_score", lang),
    ]
    for n in names:
        label = metric(n).text("label", lang)
        headers += [label, f"{label} {t('col_status', lang)}"]
    headers.append(t("col_below_target", lang))
    rows: list[list[Cell]] = []
    for r in records(data.league):
        row: list[Cell] = [
            (float_or_none(r["rank"]), "rank_tied" if r["tied"] else "rank", None),
            (float_or_none(r["rank_change"]), "signed", None),
            (float_or_none(r["previous_rank"]), "rank", None),
            (r["community_id"], "text", None),
            (r["community"], "text", None),
            (float_or_none(r["score"]), "score", None),
        ]
        for n in names:
            state = status_or_none(r[n + "_status"])
            said = cue(state, lang)
            if is_missing(r[n], state):
                said = f"{ICONS['red']} {t('sub_missing', lang)}"
            row += [(float_or_none(r[n]), metric(n).format, state), (said, "text", state)]
        row.append((t("nar_list_sep", lang).join(r["below_target"]), "text", None))
        rows.append(row)
    book.sheet(t("sec_league", lang), headers, rows, freeze_cols=5)


def _breakdown_sheet(book: _Book, data: Review) -> None:
    lang = data.lang
    rows: list[list[Cell]] = []
    for r in records(data.breakdown):
        state = status_or_none(r["status"])
        rows.append(
            [
                (r["community_id"], "text", None),
                (r["community"], "text", None),
                (r["label"], "text", None),
                (float_or_none(r["value"]), metric(r["metric"]).format, state),
                (r["target"], "text", None),
                (r["cue"], "text", state),
                (float_or_none(r["weight"]), "float1", None),
                (float_or_none(r["share"]), "pct", None),
                (float_or_none(r["points"]), "int", None),
                (float_or_none(r["contribution"]), "score", None),
                (r["explanation"], "text", None),
            ]
        )
    book.sheet(
        t("sec_breakdown", lang),
        [
            t("col_community_id", lang),
            t("col_community", lang),
            t("col_metric", lang),
            t("col_value", lang),
            t("col_target", lang),
            t("col_status", lang),
            t("col_weight", lang),
            t("col_share", lang),
            t("col_points", lang),
            t("col_contribution", lang),
            t("col_explanation", lang),
        ],
        rows,
        freeze_cols=3,
    )


def _follow_up_sheet(book: _Book, data: Review) -> None:
    lang = data.lang
    rows: list[list[Cell]] = [
        [
            (r["kind_label"], "text", None),
            (r["community_id"], "text", None),
            (r["community"], "text", None),
            (r["owner"], "text", None),
            (str(r["item"]), "text", None),
            (r["detail"], "text", None),
            (r["cue"], "text", status_or_none(r["status"])),
            (*_since(r["since"]), None),
            (float_or_none(r["age_days"]), "int", None),
            (r["band_label"], "text", None),
            (t("col_long_open", lang) if r["long_open"] else "", "text", None),
        ]
        for r in records(data.follow_ups)
    ]
    book.sheet(
        t("sec_followups", lang),
        [
            t("col_kind", lang),
            t("col_community_id", lang),
            t("col_community", lang),
            t("col_owner", lang),
            t("col_item", lang),
            t("col_detail", lang),
            t("col_status", lang),
            t("col_since", lang),
            t("col_age", lang),
            t("col_band", lang),
            t("col_long_open", lang),
        ],
        rows,
    )


def _carried_sheet(book: _Book, data: Review) -> None:
    """上期督办事项 per community and the city, the closure rate a real percentage."""
    lang = data.lang
    frame = (
        data.carried if data.carried is not None else pd.DataFrame(columns=carried.CARRIED_COLUMNS)
    )
    counts = ("due", "on_time", "late", "open")
    rows: list[list[Cell]] = [
        [
            (r["community"], "text", None),
            *((r[k], "int", None) for k in counts),
            (r["rate"], "pct", None),
        ]
        for r in records(carried.summary(frame, lang))
    ]
    headers = [t(f"track_col_{k}", lang) for k in ("community", *counts, "rate")]
    book.sheet(t("sec_carried", lang), headers, rows)


def _submission_sheet(book: _Book, data: Review) -> None:
    lang = data.lang
    rows: list[list[Cell]] = [
        [
            (r["community_id"], "text", None),
            (r["community"], "text", None),
            (r["dataset_label"], "text", None),
            (r["reporting"], "text", None),
            (r["deadline"], "date", None),
            (r["cue"], "text", SUBMISSION_COLOURS.get(r["status"])),
            (r["submitted_at"], "datetime", None),
            (float_or_none(r["version"]), "rank", None),
            (r["user"], "text", None),
            (r["note"], "text", None),
        ]
        for r in records(data.submissions)
    ]
    book.sheet(
        t("sec_submissions", lang),
        [
            t("col_community_id", lang),
            t("col_community", lang),
            t("col_dataset", lang),
            t("col_reporting", lang),
            t("col_deadline", lang),
            t("col_status", lang),
            t("col_submitted_at", lang),
            t("col_store_version", lang),
            t("col_user", lang),
            t("col_note", lang),
        ],
        rows,
    )


def _chart_sheet(book: _Book, data: Review) -> None:
    """The trend metrics by month, and Excel's charts of them beside the figures."""
    lang = data.lang
    count, rate = trend_metrics()
    rows: list[list[Cell]] = [
        [
            (r["period_start"], "date", None),
            (float_or_none(r[count]), metric(count).format, None),
            (float_or_none(r[rate]), metric(rate).format, None),
        ]
        for r in records(data.trend)
    ]
    headers = [
        t("month", lang),
        metric(count).text("label", lang),
        metric(rate).text("label", lang),
    ]
    charts = book.sheet(t("sec_charts", lang), headers, rows)
    _trend_charts(book, charts, t("sec_charts", lang)[:31], len(rows), lang)


def _trend_charts(book: _Book, ws: Any, sheet: str, n: int, lang: str) -> None:
    """Excel's own charts beside the data they read: the count by month (columns) and the
    rate (a line), so they stay live if a reader edits a figure."""
    if not n:
        return
    for column, kind, title, number_format, row in (
        (1, "column", t("chart_cases", lang), "#,##0", 1),
        (2, "line", t("chart_resolution", lang), "0%", 18),
    ):
        chart = book.wb.add_chart({"type": kind})
        chart.add_series(
            {
                "name": [sheet, 0, column],
                "categories": [sheet, 1, 0, n, 0],
                "values": [sheet, 1, column, n, column],
                "fill": {"color": NEUTRAL},
                "line": {"color": NEUTRAL, "width": 2.25},
                "marker": {"type": "circle", "size": 5} if kind == "line" else {"type": "none"},
                "data_labels": {"value": True, "num_format": number_format},
            }
        )
        chart.set_title({"name": title, "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_x_axis({"num_format": "yyyy-mm", "date_axis": True})
        chart.set_y_axis({"num_format": number_format, "major_gridlines": {"visible": True}})
        chart.set_size({"width": 640, "height": 300})
        ws.insert_chart(row, 4, chart)
