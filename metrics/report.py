"""The meeting report as a file: PDF (A4, Chinese font embedded) or XLSX (a sheet a section).

Both are drawn from one `review.Review`, so they carry the same figures as the meeting page,
and print the version token they were read at; `build_report(..., version=token)` rebuilds
the same report after later uploads. Why fpdf2 with Noto Sans CJK and charts drawn with
fpdf2's own lines and rectangles: docs/decisions/0003-report-rendering.md.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
import xlsxwriter
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, WrapMode, XPos, YPos

from metrics.catalog import metric
from metrics.export import neutralise
from metrics.i18n import ABSOLUTE_DELTAS, fmt_delta, fmt_number, t
from metrics.periods import Period, local_tz
from metrics.review import Review, is_missing, records, review
from metrics.store import Store, StoreVersion
from metrics.targets import FILLS, ICONS, MARKS, NEUTRAL, cue

Format = Literal["pdf", "xlsx"]
FONT_DIR = Path("/usr/share/fonts/opentype/noto")
# Debian's fonts-noto-cjk ships only collections; face 2 of each is Noto Sans CJK SC.
FONT_FILES = {"": FONT_DIR / "NotoSansCJK-Regular.ttc", "B": FONT_DIR / "NotoSansCJK-Bold.ttc"}
FONT_FACE_SC = 2
FONT = "NotoSansCJK"


def build_report(
    store: Store,
    period: Period | str,
    fmt: Format,
    version: StoreVersion | str | None = None,
    lang: str = "zh",
    *,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """The review report for `period` as PDF or XLSX bytes, read at `version` (a
    StoreVersion or a Review.token; the latest if None)."""
    if isinstance(period, str):
        period = Period.parse(period)
    when = (generated_at or dt.datetime.now(tz=local_tz())).astimezone(local_tz())
    data = review(store, period, version, lang, as_of=when)
    if fmt == "pdf":
        return render_pdf(data, when)
    if fmt == "xlsx":
        return render_xlsx(data, when)
    raise ValueError(f"unknown report format {fmt!r} (pdf or xlsx)")


def file_name(period: Period, fmt: str, lang: str = "zh") -> str:
    stem = "review" if lang == "en" else "例会报告"
    return f"{stem}-{period.code}.{fmt}"


# -- shared -------------------------------------------------------------------------------------


def _about(data: Review, when: dt.datetime) -> list[tuple[str, str]]:
    lang = data.lang
    tv = data.targets.version
    return [
        (t("report_period", lang), f"{data.period.label(lang)}（{data.period.code}）"),
        (t("report_version", lang), data.token),
        (
            t("report_targets_version", lang),
            str(tv) if tv is not None else t("report_targets_default", lang),
        ),
        (t("report_generated", lang), when.strftime("%Y-%m-%d %H:%M") + f" ({_utc_offset(when)})"),
    ]


def _utc_offset(when: dt.datetime) -> str:
    """ "UTC+8" for Beijing time: the zone the report's times are in."""
    offset = when.utcoffset() or dt.timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    minutes = abs(rest) // 60
    return f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")


def _value(value: Any, kind: str, lang: str) -> str:
    return fmt_number(None if value is None or pd.isna(value) else float(value), kind, lang)


def _rank_change(value: Any, lang: str) -> str:
    if value is None or pd.isna(value):
        return t("rank_new", lang)
    n = int(value)
    return f"↑{n}" if n > 0 else f"↓{-n}" if n < 0 else "—"


def _score(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.1f}"


# -- PDF ----------------------------------------------------------------------------------------

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
HEAD_FILL = (233, 236, 239)
TARGET_LINE = (198, 40, 40)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


BAR = _rgb(NEUTRAL)  # the meeting page draws scores in the same colour


class _Pdf(FPDF):
    def __init__(self, data: Review, when: dt.datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.data = data
        self.when = when
        for style, path in FONT_FILES.items():
            self.add_font(FONT, style, str(path), collection_font_number=FONT_FACE_SC)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(15, 16, 15)
        self.set_creation_date(when)
        self.set_title(data.title())
        self.set_lang("zh-CN" if data.lang == "zh" else "en")
        self.alias_nb_pages("{nb}")

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.set_y(7)
        text = f"{self.data.title()} · {self.data.period.label(self.data.lang)}"
        self.cell(0, 5, text, align="L")
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 12.5, self.w - self.r_margin, 12.5)
        self.set_y(16)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        half = (self.w - self.l_margin - self.r_margin) / 2
        version = f"{t('report_version', self.data.lang)}: {self.data.token}"
        self.cell(half * 1.4, 5, version, align="L")
        pages = t("report_page", self.data.lang, page=self.page_no(), pages="{nb}")
        self.cell(0, 5, pages, align="R")
        self.set_text_color(*INK)

    @property
    def body_width(self) -> float:
        return float(self.w - self.l_margin - self.r_margin)

    def heading(self, text: str, *, min_space: float = 40) -> None:
        # Keep a heading with the start of what follows it.
        if self.will_page_break(min_space):
            self.add_page(orientation=str(self.cur_orientation.value))
        self.ln(3)
        self.set_font(FONT, "B", 13)
        self.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*BAR)
        self.set_line_width(0.5)
        self.line(self.l_margin, self.get_y(), self.l_margin + 18, self.get_y())
        self.set_line_width(0.2)
        self.ln(2.5)
        self.set_font(FONT, "", 9)


# -- text that fits ------------------------------------------------------------------------------
# Columns are as wide as their measured text (fpdf's get_string_width in the font used);
# only columns of running text wrap, and Chinese is broken by the usual rules: not inside a
# run of letters and digits (AJ2025-01, 95.0%), at a space where the words after it fit a
# line of their own (社区 第十四网格), never with closing punctuation starting a line or an
# opening bracket ending one.
NO_LINE_START = frozenset("、，。．：；！？）》」』】〕〉’”…·%,.;:!?)]}")
NO_LINE_END = frozenset("（《「『【〔〈‘“([{")
_UNITS = re.compile(r"[A-Za-z0-9.,:%+\-−±/@_#]+|.", re.S)
# A Chinese heading too wide for its column is split before one of these words, so that
# it reads 办结天数 / 中位数, never 办结天数中位 / 数; one that has none stays on one line.
HEADING_WORDS = (
    "社区工作者",
    "急难愁盼问题",
    "矛盾纠纷",
    "物业企业",
    "中位数",
    "达标率",
    "实现率",
    "未认领",
    "未办结",
    "综合分",
    "星级",
    "变化",
    "得分",
    "天数",
    "户数",
    "权重",
    "名次",
    "时间",
    "版本",
    "日期",
    "编码",
    "同期",
    "占比",
    "处理",
    "指标",
    "单位",
)
CELL_PADDING = 1.5  # mm, left and right of a table cell's text
_SLACK = 0.8  # mm: fpdf must never find a measured line a hair too wide


def wrap_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` as lines no wider than `width` mm in the current font (see above)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += _wrap_paragraph(pdf, paragraph, width)
    return out


def _wrap_paragraph(pdf: FPDF, text: str, width: float) -> list[str]:
    def fits(units: list[str]) -> bool:
        return bool(pdf.get_string_width("".join(units)) <= width)

    lines: list[list[str]] = []
    line: list[str] = []
    for i, group in enumerate(text.split(" ")):
        units = _UNITS.findall(group)
        space = [" "] if i and line else []
        if fits(line + space + units):
            line += space + units
            continue
        if line and fits(units):  # the words after the space fit a line: break there
            lines.append(line)
            line = units
            continue
        line += space
        for unit in units:
            if fits([*line, unit]) or not "".join(line).strip():
                line.append(unit)
                continue
            carry: list[str] = []
            if unit[0] in NO_LINE_START and len(line) > 1:
                carry = [line.pop()]  # the character before goes down with it
            while len(line) > 1 and line[-1][-1] in NO_LINE_END:
                carry.insert(0, line.pop())
            lines.append(line)
            line = [*carry, unit]
    lines.append(line)
    return ["".join(units).strip() for units in lines]


def _heading_lines(header: str) -> list[str]:
    """Where a heading may be split: at its spaces (English), or before a HEADING_WORDS word."""
    if " " in header.strip():
        return header.split()
    for word in sorted(HEADING_WORDS, key=len, reverse=True):
        if header.endswith(word) and len(header) - len(word) >= 2:
            return [header[: -len(word)], word]
    return [header]


@dataclass(frozen=True)
class _Col:
    header: str
    align: str = "LEFT"
    wrap: bool = False  # running text: may wrap to several lines; other columns never do


def _text_width(pdf: FPDF, text: str) -> float:
    return max(float(pdf.get_string_width(line)) for line in text.split("\n"))


def _widths(
    pdf: _Pdf, columns: Sequence[_Col], rows: Sequence[Sequence[str]], size: float
) -> tuple[list[float], bool]:
    """Column widths (mm) that fill the body width, and whether nothing had to be squeezed:
    every column gets its widest text, headings on one line; if that is too wide, running
    text wraps first, then headings split at their sensible places."""
    extra = 2 * CELL_PADDING + _SLACK
    pdf.set_font(FONT, "B", size)
    head = [_text_width(pdf, c.header) for c in columns]
    head_min = [max(pdf.get_string_width(x) for x in _heading_lines(c.header)) for c in columns]
    pdf.set_font(FONT, "", size)
    body, body_min = [], []
    for j, c in enumerate(columns):
        cells = [r[j] for r in rows] or [""]
        widest = max(_text_width(pdf, x) for x in cells)
        body.append(widest)
        if c.wrap:
            groups = [g for x in cells for g in x.split()]
            units = [u for x in cells for u in _UNITS.findall(x)]
            floor = max(
                [pdf.get_string_width("四个汉字")] + [pdf.get_string_width(u) for u in units]
            )
            group = max([pdf.get_string_width(g) for g in groups] or [0.0])
            body_min.append(min(widest, max(floor, min(group, 30.0))))
        else:
            body_min.append(widest)
    want = [max(h, b) + extra for h, b in zip(head, body, strict=True)]
    unwrapped = [max(h, b) + extra for h, b in zip(head, body_min, strict=True)]
    least = [max(h, b) + extra for h, b in zip(head_min, body_min, strict=True)]
    room = pdf.body_width
    if sum(want) <= room:
        spare = room - sum(want)
        grow = [w if c.wrap else 0.0 for w, c in zip(want, columns, strict=True)]
        if not sum(grow):
            grow = want
        return [w + spare * g / sum(grow) for w, g in zip(want, grow, strict=True)], True
    for wide, narrow in ((want, unwrapped), (unwrapped, least)):
        if sum(narrow) <= room:
            return _level(wide, narrow, room), True
    return [n * room / sum(least) for n in least], False


def _level(wide: list[float], narrow: list[float], room: float) -> list[float]:
    """Widths between `narrow` and `wide` summing to `room`, taken from the widest columns
    first (a water level): a long text column wraps before a short one has to."""
    low, high = 0.0, max(wide)
    for _ in range(50):
        mid = (low + high) / 2
        if sum(max(n, min(w, mid)) for w, n in zip(wide, narrow, strict=True)) > room:
            high = mid
        else:
            low = mid
    widths = [max(n, min(w, low)) for w, n in zip(wide, narrow, strict=True)]
    spare = room - sum(widths)  # what the level left over, to the widest column
    widths[widths.index(max(widths))] += spare
    return widths


def _table(
    pdf: _Pdf,
    columns: Sequence[_Col],
    rows: Sequence[Sequence[str]],
    fills: Sequence[Sequence[str | None]] | None = None,
    *,
    font_size: float = 8.5,
) -> None:
    """A table across the body width; the header row repeats on every page it runs onto.
    Widths come from the measured text; the type gets smaller (to 6.5 pt) only when the
    table cannot otherwise fit without breaking words."""
    size = font_size
    widths, fit = _widths(pdf, columns, rows, size)
    while not fit and size > 6.5:
        size -= 0.5
        widths, fit = _widths(pdf, columns, rows, size)
    inner = [w - 2 * CELL_PADDING - _SLACK / 2 for w in widths]
    pdf.set_font(FONT, "B", size)
    headers = []
    for c, room in zip(columns, inner, strict=True):
        text = c.header
        if pdf.get_string_width(text) > room:
            parts = _heading_lines(text)
            text = "\n".join(wrap_lines(pdf, text, room)) if " " in text else "\n".join(parts)
        headers.append(text)
    pdf.set_font(FONT, "", size)
    body = [
        [
            "\n".join(wrap_lines(pdf, text, room)) if c.wrap else text
            for c, room, text in zip(columns, inner, cells, strict=True)
        ]
        for cells in rows
    ]
    pdf.set_draw_color(*RULE)
    pdf.set_fill_color(255, 255, 255)  # cells without a status are not filled
    heading = FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=INK)
    with pdf.table(
        col_widths=widths,
        width=min(sum(widths), pdf.epw),
        text_align=tuple(c.align for c in columns),
        headings_style=heading,
        line_height=size * 0.55,
        padding=(1.2, CELL_PADDING),
        wrapmode=WrapMode.CHAR,
        repeat_headings=1,
        cell_fill_mode=TableCellFillMode.NONE,
    ) as table:
        header = table.row()
        for text in headers:
            header.cell(text, align="CENTER")
        for i, cells in enumerate(body):
            row = table.row()
            for j, text in enumerate(cells):
                state = fills[i][j] if fills is not None else None
                style = FontFace(fill_color=_rgb(FILLS[state])) if state else None
                row.cell(text, style=style)
    pdf.ln(2)


def _paragraph(pdf: _Pdf, text: str, height: float) -> None:
    """Running text across the body width, broken by the rules above."""
    room = pdf.body_width - 2 * pdf.c_margin - 0.3
    pdf.multi_cell(
        0,
        height,
        "\n".join(wrap_lines(pdf, text, room)),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
        wrapmode=WrapMode.CHAR,
    )


def _hbar_chart(
    pdf: _Pdf, title: str, labels: Sequence[str], values: Sequence[float | None], *, top: float
) -> float:
    """Horizontal bars 0-100, value printed at the bar's end; returns the y below it."""
    x0, width = pdf.l_margin, pdf.body_width
    pdf.set_xy(x0, top)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    label_w, value_w, bar_h, gap = 38.0, 12.0, 5.2, 1.6
    plot_x, plot_w = x0 + label_w, width - label_w - value_w
    y = pdf.get_y() + 2
    pdf.set_draw_color(*RULE)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    for tick in range(0, 101, 20):  # gridlines at 0, 20, ... 100
        gx = plot_x + plot_w * tick / 100
        pdf.line(gx, y - 1, gx, y + len(labels) * (bar_h + gap))
        pdf.set_xy(gx - 5, y + len(labels) * (bar_h + gap))
        pdf.cell(10, 4, str(tick), align="C")
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "", 8.5)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        by = y + i * (bar_h + gap)
        pdf.set_xy(x0, by)
        pdf.cell(label_w - 2, bar_h, label, align="R")
        if value is not None:
            pdf.set_fill_color(*BAR)
            pdf.rect(plot_x, by, max(plot_w * value / 100, 0.3), bar_h, style="F")
            pdf.set_xy(plot_x + plot_w * value / 100 + 1, by)
            pdf.cell(value_w, bar_h, f"{value:.1f}")
        else:
            pdf.set_xy(plot_x + 1, by)
            pdf.cell(value_w, bar_h, "—")
    return y + len(labels) * (bar_h + gap) + 8


def _month_chart(
    pdf: _Pdf,
    title: str,
    months: Sequence[dt.date],
    values: Sequence[float | None],
    kind: str,
    *,
    top: float,
    height: float,
    line: bool,
    target: float | None = None,
) -> float:
    """Monthly columns (counts) or a line (rates) with a labelled y axis; returns the y below."""
    lang = pdf.data.lang
    x0, width = pdf.l_margin, pdf.body_width
    pdf.set_xy(x0, top)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    axis_w = 14.0
    plot_x, plot_y, plot_w, plot_h = x0 + axis_w, pdf.get_y() + 3, width - axis_w, height
    present = [v for v in values if v is not None] + ([target] if target is not None else [])
    if line:
        low = min(present, default=0.0)
        low = max(0.0, min(low, 1.0) - 0.05) if kind == "pct" else 0.0
        high = max(max(present, default=1.0), low + 1e-6)
        high = min(1.0, high + 0.02) if kind == "pct" else high * 1.1
    else:
        low, high = 0.0, max(max(present, default=1.0) * 1.15, 1.0)

    def y_of(v: float) -> float:
        return float(plot_y + plot_h - (v - low) / (high - low) * plot_h)

    pdf.set_draw_color(*RULE)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    for k in range(5):
        tick = low + (high - low) * k / 4
        pdf.line(plot_x, y_of(tick), plot_x + plot_w, y_of(tick))
        pdf.set_xy(x0, y_of(tick) - 2)
        pdf.cell(axis_w - 1.5, 4, fmt_number(tick, kind, lang), align="R")
    step = plot_w / max(len(months), 1)
    for i, month in enumerate(months):
        pdf.set_xy(plot_x + i * step, plot_y + plot_h + 0.8)
        text = f"{month.month}月" if lang == "zh" else month.strftime("%b")
        if month.month == 1 or i == 0:
            text = (
                f"{month.year % 100:02d}/{month.month}"
                if lang != "zh"
                else f"{month.year}.{month.month}"
            )
        pdf.cell(step, 4, text, align="C")
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "", 7.5)
    dots: list[tuple[float, float]] = []
    for i, v in enumerate(values):
        cx = plot_x + (i + 0.5) * step
        if v is None:
            continue
        if line:
            dots.append((cx, y_of(v)))
        else:
            pdf.set_fill_color(*BAR)
            pdf.rect(cx - step * 0.3, y_of(v), step * 0.6, plot_y + plot_h - y_of(v), style="F")
            pdf.set_xy(cx - step / 2, y_of(v) - 4.2)
            pdf.cell(step, 4, fmt_number(v, kind, lang), align="C")
    if line:
        if target is not None:
            pdf.set_draw_color(*TARGET_LINE)
            pdf.set_dash_pattern(dash=1.5, gap=1.2)
            pdf.line(plot_x, y_of(target), plot_x + plot_w, y_of(target))
            pdf.set_dash_pattern()
        pdf.set_draw_color(*BAR)
        pdf.set_line_width(0.6)
        for a, b in itertools.pairwise(dots):
            pdf.line(a[0], a[1], b[0], b[1])
        pdf.set_line_width(0.2)
        pdf.set_fill_color(*BAR)
        for px, py in dots:
            pdf.circle(x=px, y=py, radius=0.9, style="F")
        pdf.set_font(FONT, "", 6.5)
        for (px, py), v in zip(dots, [v for v in values if v is not None], strict=True):
            pdf.set_xy(px - step / 2, py - 5)
            pdf.cell(step, 4, fmt_number(v, kind, lang), align="C")
    pdf.set_draw_color(*MUTED)
    pdf.line(plot_x, plot_y + plot_h, plot_x + plot_w, plot_y + plot_h)
    return plot_y + plot_h + 10


def render_pdf(data: Review, when: dt.datetime) -> bytes:
    lang = data.lang
    pdf = _Pdf(data, when)
    pdf.add_page()
    # Title block
    pdf.set_font(FONT, "B", 20)
    pdf.cell(0, 11, data.title(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, t("report_subtitle", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(2)
    pdf.set_font(FONT, "", 9)
    for key, value in _about(data, when):
        pdf.set_font(FONT, "B", 9)
        pdf.cell(24, 5.5, key)
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(0, 5.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR)
    if data.is_demo:
        pdf.set_text_color(*_rgb("#b26a00"))
        pdf.cell(0, 6, t("report_demo", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)

    pdf.heading(t("sec_narrative", lang))
    pdf.set_font(FONT, "", 10.5)
    for sentence in data.narrative:
        _paragraph(pdf, sentence, 6.2)
        pdf.ln(1)

    # The headline table is short: start it on a new page rather than leave its last row
    # alone on the next one.
    with pdf.offset_rendering() as dry:  # a dry run, undone on leaving (fpdf2)
        dry.heading(t("sec_headline", lang))
        _headline_table(cast(_Pdf, dry), data)
    if dry.page_break_triggered:
        pdf.add_page()
    pdf.heading(t("sec_headline", lang))
    _headline_table(pdf, data)

    pdf.add_page()
    pdf.heading(t("sec_charts", lang))
    y = _hbar_chart(
        pdf,
        t("chart_scores", lang),
        list(data.league["community"]),
        [None if pd.isna(v) else float(v) for v in data.league["score"]],
        top=pdf.get_y(),
    )
    months = [pd.Timestamp(d).date() for d in data.trend["period_start"]]
    y = _month_chart(
        pdf,
        t("chart_cases", lang),
        months,
        [_float(v) for v in data.trend["cases_received"]],
        "int",
        top=y,
        height=42,
        line=False,
    )
    target = data.targets.get("resolution_rate")
    _month_chart(
        pdf,
        t("chart_resolution", lang),
        months,
        [_float(v) for v in data.trend["resolution_rate"]],
        "pct",
        top=y,
        height=42,
        line=True,
        target=target.green[0] if target is not None else None,
    )

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
    pdf.heading(t("sec_submissions", lang))
    _submission_table(pdf, data)
    return bytes(pdf.output())


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _headline_table(pdf: _Pdf, data: Review) -> None:
    lang = data.lang
    columns = [
        _Col(t("col_metric", lang)),
        _Col(t("col_value", lang), "RIGHT"),
        _Col(t("col_previous", lang), "RIGHT"),
        _Col(t("mom", lang), "RIGHT"),
        _Col(t("col_year_ago", lang), "RIGHT"),
        _Col(t("yoy", lang), "RIGHT"),
        _Col(t("col_target", lang), "RIGHT"),
        _Col(t("col_status", lang), "CENTER"),
    ]
    rows: list[list[str]] = []
    fills: list[list[str | None]] = []
    for r in records(data.headline):
        kind = r["format"]
        state = r["status"] if isinstance(r["status"], str) else None
        rows.append(
            [
                r["label"],
                _value(r["value"], kind, lang),
                _value(r["previous"], kind, lang),
                fmt_delta(kind, _float(r["value"]), _float(r["previous"]), lang),
                _value(r["year_ago"], kind, lang),
                fmt_delta(kind, _float(r["value"]), _float(r["year_ago"]), lang),
                r["target"] or "—",
                _plain_cue(state, lang) if r["target"] else "—",
            ]
        )
        fills.append([None, None, None, None, None, None, None, state])
    _table(pdf, columns, rows, fills)


def _plain_cue(state: Any, lang: str) -> str:
    if not isinstance(state, str):
        return t("status_none", lang)
    return f"{MARKS[state]} {t('status_' + state, lang)}"


def _league_table(pdf: _Pdf, data: Review) -> None:
    lang = data.lang
    names = data.scored_metrics
    columns = [
        _Col(t("col_rank", lang), "CENTER"),
        _Col(t("col_rank_change", lang), "CENTER"),
        _Col(t("col_community", lang)),
        _Col(t("col_score", lang), "RIGHT"),
    ] + [_Col(metric(n).text("label", lang), "RIGHT") for n in names]
    rows, fills = [], []
    for r in records(data.league):
        cells = [
            "—" if pd.isna(r["rank"]) else str(int(r["rank"])),
            _rank_change(r["rank_change"], lang),
            r["community"],
            _score(r["score"]),
        ]
        states: list[str | None] = [None] * 4
        for n in names:
            state = r[n + "_status"] if isinstance(r[n + "_status"], str) else None
            mark = f" {MARKS[state]}" if state else ""
            if is_missing(r[n], state):
                cells.append(t("sub_missing", lang) + mark)
            else:
                cells.append(_value(r[n], metric(n).format, lang) + mark)
            states.append(state)
        rows.append(cells)
        fills.append(states)
    _table(pdf, columns, rows, fills)
    legend = "　".join(f"{MARKS[s]} {t('status_' + s, lang)}" for s in MARKS)
    if data.league["missing_ledgers"].map(len).any():
        legend += "　" + t("report_missing_note", lang)
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    _paragraph(pdf, legend, 5)
    pdf.set_text_color(*INK)


def _breakdown_table(pdf: _Pdf, data: Review) -> None:
    lang = data.lang
    columns = [
        _Col(t("col_community", lang)),
        _Col(t("col_metric", lang)),
        _Col(t("col_value", lang), "RIGHT"),
        _Col(t("col_target", lang), "RIGHT"),
        _Col(t("col_status", lang), "CENTER"),
        _Col(t("col_share", lang), "RIGHT"),
        _Col(t("col_points", lang), "RIGHT"),
        _Col(t("col_contribution", lang), "RIGHT"),
    ]
    rows, fills = [], []
    for r in records(data.breakdown):
        state = r["status"] if isinstance(r["status"], str) else None
        value = (
            t("sub_missing", lang)
            if r["missing"]
            else _value(r["value"], metric(r["metric"]).format, lang)
        )
        rows.append(
            [
                r["community"],
                r["label"],
                value,
                r["target"],
                _plain_cue(state, lang),
                f"{r['share'] * 100:.1f}%",
                "—" if r["points"] is None or pd.isna(r["points"]) else f"{r['points']:.0f}",
                f"{r['contribution']:.1f}",
            ]
        )
        fills.append([None] * 4 + [state] + [None] * 3)
    _table(pdf, columns, rows, fills, font_size=8)


def _follow_up_table(pdf: _Pdf, data: Review) -> None:
    lang = data.lang
    columns = [
        _Col(t("col_kind", lang), wrap=True),
        _Col(t("col_owner", lang), wrap=True),
        _Col(t("col_item", lang), wrap=True),
        _Col(t("col_detail", lang), wrap=True),
        _Col(t("col_status", lang), "CENTER"),
        _Col(t("col_since", lang), "CENTER"),
        _Col(t("col_age", lang), "RIGHT"),
    ]
    rows, fills = [], []
    for r in records(data.follow_ups):
        state = r["status"] if isinstance(r["status"], str) else None
        rows.append(
            [
                r["kind_label"],
                r["owner"],
                str(r["item"]),
                r["detail"],
                _plain_cue(state, lang) if state else "",
                r["since"],
                "—" if pd.isna(r["age_days"]) else str(int(r["age_days"])),
            ]
        )
        fills.append([None] * 4 + [state] + [None] * 2)
    _table(pdf, columns, rows, fills, font_size=8)


SUBMISSION_COLOURS = {"on_time": "green", "late": "amber", "missing": "red"}


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


def _submission_table(pdf: _Pdf, data: Review) -> None:
    """Community × ledger: each cell the status word with its mark, the upload time and the
    store version it came in with (or the deadline that passed)."""
    lang = data.lang
    subs = data.submissions
    ledgers = list(dict.fromkeys(subs["dataset"]))
    labels = dict(zip(subs["dataset"], subs["dataset_label"], strict=False))
    reporting = dict(zip(subs["dataset"], subs["reporting"], strict=False))
    columns = [_Col(t("col_community", lang))] + [
        _Col(f"{labels[d]}\n{reporting[d]}", "CENTER") for d in ledgers
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
    _table(pdf, columns, rows, fills, font_size=8)
    notes = sorted({n for n in subs["note"] if n})
    deadline = subs["deadline"].iloc[0] if len(subs) else None
    pdf.set_font(FONT, "", 8)
    pdf.set_text_color(*MUTED)
    if deadline is not None:
        _paragraph(pdf, f"{t('col_deadline', lang)}: {deadline}", 5)
    for note in notes:
        _paragraph(pdf, note, 5)
    pdf.set_text_color(*INK)


# -- XLSX ---------------------------------------------------------------------------------------

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
    "signed": "+0;-0;0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


class _Book:
    """xlsxwriter with cached cell formats; text goes through export.neutralise."""

    def __init__(self, buffer: io.BytesIO, when: dt.datetime) -> None:
        self.wb = xlsxwriter.Workbook(
            buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.wb.set_properties({"created": when.replace(tzinfo=None)})
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
        rows: Sequence[Sequence[tuple[Any, str, str | None]]],
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


def _fit_width(header: str, cells: Sequence[tuple[Any, str, str | None]]) -> float:
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


def _state(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _trend_charts(book: _Book, ws: Any, sheet: str, n: int, lang: str) -> None:
    """Excel's own charts beside the data they read: cases by month (columns) and the
    resolution rate (a line), so they stay live if a reader edits a figure."""
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


def render_xlsx(data: Review, when: dt.datetime) -> bytes:
    lang = data.lang
    buffer = io.BytesIO()
    book = _Book(buffer, when)
    Cell = tuple[Any, str, str | None]

    about: list[list[Cell]] = [[(data.title(), "text", None), ("", "text", None)]]
    about += [[(k, "text", None), (v, "text", None)] for k, v in _about(data, when)]
    if data.is_demo:
        about.append([("", "text", None), (t("report_demo", lang), "text", None)])
    about.append([("", "text", None), ("", "text", None)])
    about += [[(t("sec_narrative", lang), "text", None), (s, "wrap", None)] for s in data.narrative]
    summary = book.sheet(t("sec_narrative", lang), [t("col_item", lang), ""], about, filters=False)
    summary.set_column(1, 1, 100)  # sentences wrap in a wide column

    head_rows: list[list[Cell]] = []
    for r in records(data.headline):
        kind, state = r["format"], _state(r["status"])
        head_rows.append(
            [
                (r["label"], "text", None),
                (_float(r["value"]), kind, None),
                (_float(r["previous"]), kind, None),
                (_float(r["mom"]), _change_kind(kind, lang), None),
                (_float(r["year_ago"]), kind, None),
                (_float(r["yoy"]), _change_kind(kind, lang), None),
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
        head_rows,
        freeze_cols=1,
    )

    names = data.scored_metrics
    league_headers = [
        t("col_rank", lang),
        t("col_rank_change", lang),
        t("col_previous_rank", lang),
        t("col_community_id", lang),
        t("col_community", lang),
        t("col_score", lang),
    ]
    for n in names:
        label = metric(n).text("label", lang)
        league_headers += [label, f"{label} {t('col_status', lang)}"]
    league_headers.append(t("col_below_target", lang))
    league_rows: list[list[Cell]] = []
    for r in records(data.league):
        row: list[Cell] = [
            (_float(r["rank"]), "rank", None),
            (_float(r["rank_change"]), "signed", None),
            (_float(r["previous_rank"]), "rank", None),
            (r["community_id"], "text", None),
            (r["community"], "text", None),
            (_float(r["score"]), "score", None),
        ]
        for n in names:
            state = _state(r[n + "_status"])
            said = cue(state, lang)
            if is_missing(r[n], state):
                said = f"{ICONS['red']} {t('sub_missing', lang)}"
            row += [(_float(r[n]), metric(n).format, state), (said, "text", state)]
        row.append((t("nar_list_sep", lang).join(r["below_target"]), "text", None))
        league_rows.append(row)
    book.sheet(t("sec_league", lang), league_headers, league_rows, freeze_cols=5)

    parts: list[list[Cell]] = []
    for r in records(data.breakdown):
        state = _state(r["status"])
        parts.append(
            [
                (r["community_id"], "text", None),
                (r["community"], "text", None),
                (r["label"], "text", None),
                (_float(r["value"]), metric(r["metric"]).format, state),
                (r["target"], "text", None),
                (r["cue"], "text", state),
                (_float(r["weight"]), "float1", None),
                (_float(r["share"]), "pct", None),
                (_float(r["points"]), "int", None),
                (_float(r["contribution"]), "score", None),
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
        parts,
        freeze_cols=3,
    )

    follow: list[list[Cell]] = [
        [
            (r["kind_label"], "text", None),
            (r["community_id"], "text", None),
            (r["community"], "text", None),
            (r["owner"], "text", None),
            (str(r["item"]), "text", None),
            (r["detail"], "text", None),
            (r["cue"], "text", _state(r["status"])),
            (*_since(r["since"]), None),
            (_float(r["age_days"]), "int", None),
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
        ],
        follow,
    )

    subs: list[list[Cell]] = []
    for r in records(data.submissions):
        colour = {"on_time": "green", "late": "amber", "missing": "red"}.get(r["status"])
        subs.append(
            [
                (r["community_id"], "text", None),
                (r["community"], "text", None),
                (r["dataset_label"], "text", None),
                (r["reporting"], "text", None),
                (r["deadline"], "date", None),
                (r["cue"], "text", colour),
                (r["submitted_at"], "datetime", None),
                (_float(r["version"]), "rank", None),
                (r["user"], "text", None),
                (r["note"], "text", None),
            ]
        )
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
        subs,
    )

    trend_rows: list[list[Cell]] = [
        [
            (r["period_start"], "date", None),
            (_float(r["cases_received"]), "int", None),
            (_float(r["resolution_rate"]), "pct", None),
        ]
        for r in records(data.trend)
    ]
    charts = book.sheet(
        t("sec_charts", lang),
        [
            t("month", lang),
            metric("cases_received").text("label", lang),
            metric("resolution_rate").text("label", lang),
        ],
        trend_rows,
    )
    _trend_charts(book, charts, t("sec_charts", lang)[:31], len(trend_rows), lang)
    book.wb.close()
    return buffer.getvalue()
