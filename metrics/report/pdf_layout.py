"""The PDF's page and its text: fonts, colours, the running header and footer, lines broken
the way Chinese is broken, and tables whose columns are as wide as their measured text.
Why fpdf2 with Noto Sans CJK: docs/decisions/0003-report-rendering.md."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, WrapMode, XPos, YPos

from metrics.i18n import t
from metrics.review import Review
from metrics.targets import FILLS, NEUTRAL

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
# Debian's fonts-noto-cjk ships only collections; face 2 of each is Noto Sans CJK SC.
FONT_FILES = {"": FONT_DIR / "NotoSansCJK-Regular.ttc", "B": FONT_DIR / "NotoSansCJK-Bold.ttc"}
FONT_FACE_SC = 2
FONT = "NotoSansCJK"

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
HEAD_FILL = (233, 236, 239)
TARGET_LINE = (198, 40, 40)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


BAR = rgb(NEUTRAL)  # the meeting page draws scores in the same colour


class ReportPdf(FPDF):
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
        # The exact version token in the properties: `report --version` rebuilds from it.
        self.set_subject(data.stamp)
        self.set_keywords(data.token)
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
        self.cell(half * 1.4, 5, self.data.stamp, align="L")
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
class Column:
    header: str
    align: str = "LEFT"
    wrap: bool = False  # running text: may wrap to several lines; other columns never do


def _text_width(pdf: FPDF, text: str) -> float:
    return max(float(pdf.get_string_width(line)) for line in text.split("\n"))


def _widths(
    pdf: ReportPdf, columns: Sequence[Column], rows: Sequence[Sequence[str]], size: float
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


def draw_table(
    pdf: ReportPdf,
    columns: Sequence[Column],
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
                style = FontFace(fill_color=rgb(FILLS[state])) if state else None
                row.cell(text, style=style)
    pdf.ln(2)


def draw_paragraph(pdf: ReportPdf, text: str, height: float) -> None:
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
