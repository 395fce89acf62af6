"""The PDF's charts, drawn with fpdf2's own lines and rectangles (vector, in the embedded
font, the same on every build): bars of scores, and monthly columns or a line with its
target. Why not plotly images: docs/decisions/0003-report-rendering.md."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf.enums import XPos, YPos

from metrics.i18n import fmt_number
from metrics.report.pdf_layout import BAR, FONT, INK, MUTED, RULE, TARGET_LINE, ReportPdf

AXIS_WIDTH = 14.0  # mm left of a month chart, for the y axis labels


def hbar_chart(
    pdf: ReportPdf, title: str, labels: Sequence[str], values: Sequence[float | None], *, top: float
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


@dataclass(frozen=True)
class _Plot:
    """A month chart's plotting area (mm) and the range of values its height spans."""

    x: float
    y: float
    w: float
    h: float
    low: float
    high: float
    step: float  # the width of one month

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def y_of(self, v: float) -> float:
        return float(self.y + self.h - (v - self.low) / (self.high - self.low) * self.h)


def month_chart(
    pdf: ReportPdf,
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
    x0, width = pdf.l_margin, pdf.body_width
    pdf.set_xy(x0, top)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    plot_w = width - AXIS_WIDTH
    low, high = _value_range(values, kind, line, target)
    step = plot_w / max(len(months), 1)
    plot = _Plot(x0 + AXIS_WIDTH, pdf.get_y() + 3, plot_w, height, low, high, step)
    _y_axis(pdf, plot, kind)
    _month_axis(pdf, plot, months)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "", 7.5)
    if line:
        _line(pdf, plot, values, kind, target)
    else:
        _columns(pdf, plot, values, kind)
    pdf.set_draw_color(*MUTED)
    pdf.line(plot.x, plot.bottom, plot.x + plot.w, plot.bottom)
    return plot.bottom + 10


def _value_range(
    values: Sequence[float | None], kind: str, line: bool, target: float | None
) -> tuple[float, float]:
    """The values the chart's height spans: from 0 for columns; for a line of rates, close
    around the values and the target so that a change of a few points shows."""
    present = [v for v in values if v is not None] + ([target] if target is not None else [])
    if not line:
        return 0.0, max(max(present, default=1.0) * 1.15, 1.0)
    low = min(present, default=0.0)
    low = max(0.0, min(low, 1.0) - 0.05) if kind == "pct" else 0.0
    high = max(max(present, default=1.0), low + 1e-6)
    high = min(1.0, high + 0.02) if kind == "pct" else high * 1.1
    return low, high


def _y_axis(pdf: ReportPdf, plot: _Plot, kind: str) -> None:
    """Five gridlines across the plot, each labelled with its value at the left."""
    pdf.set_draw_color(*RULE)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    for k in range(5):
        tick = plot.low + (plot.high - plot.low) * k / 4
        pdf.line(plot.x, plot.y_of(tick), plot.x + plot.w, plot.y_of(tick))
        pdf.set_xy(pdf.l_margin, plot.y_of(tick) - 2)
        pdf.cell(AXIS_WIDTH - 1.5, 4, fmt_number(tick, kind, pdf.data.lang), align="R")


def _month_axis(pdf: ReportPdf, plot: _Plot, months: Sequence[dt.date]) -> None:
    """Each month's name under its column; the year with the first month and each January."""
    lang = pdf.data.lang
    for i, month in enumerate(months):
        pdf.set_xy(plot.x + i * plot.step, plot.bottom + 0.8)
        text = f"{month.month}月" if lang == "zh" else month.strftime("%b")
        if month.month == 1 or i == 0:
            text = (
                f"{month.year % 100:02d}/{month.month}"
                if lang != "zh"
                else f"{month.year}.{month.month}"
            )
        pdf.cell(plot.step, 4, text, align="C")


def _columns(pdf: ReportPdf, plot: _Plot, values: Sequence[float | None], kind: str) -> None:
    """A column a month, its value printed above it."""
    for i, v in enumerate(values):
        cx = plot.x + (i + 0.5) * plot.step
        if v is None:
            continue
        pdf.set_fill_color(*BAR)
        pdf.rect(
            cx - plot.step * 0.3,
            plot.y_of(v),
            plot.step * 0.6,
            plot.bottom - plot.y_of(v),
            style="F",
        )
        pdf.set_xy(cx - plot.step / 2, plot.y_of(v) - 4.2)
        pdf.cell(plot.step, 4, fmt_number(v, kind, pdf.data.lang), align="C")


def _line(
    pdf: ReportPdf, plot: _Plot, values: Sequence[float | None], kind: str, target: float | None
) -> None:
    """The target as a dashed line, then the months' values as dots joined by a line, each
    value printed above its dot; a month without a value is left out."""
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    dots = [(plot.x + (i + 0.5) * plot.step, plot.y_of(v)) for i, v in present]
    if target is not None:
        pdf.set_draw_color(*TARGET_LINE)
        pdf.set_dash_pattern(dash=1.5, gap=1.2)
        pdf.line(plot.x, plot.y_of(target), plot.x + plot.w, plot.y_of(target))
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
    for (px, py), (_i, v) in zip(dots, present, strict=True):
        pdf.set_xy(px - plot.step / 2, py - 5)
        pdf.cell(plot.step, 4, fmt_number(v, kind, pdf.data.lang), align="C")
