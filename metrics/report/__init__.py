"""The meeting report as a file: PDF (A4, Chinese font embedded) or XLSX (a sheet a section).

Both are drawn from one `review.Review`, so they carry the same figures as the meeting page,
and print the version token they were read at; `build_report(..., version=token)` rebuilds
the same report after later uploads. Why fpdf2 with Noto Sans CJK and charts drawn with
fpdf2's own lines and rectangles: docs/decisions/0003-report-rendering.md.

    pdf.py         the PDF, section by section
    pdf_layout.py  its pages and fonts, Chinese line breaking, column widths, tables
    pdf_charts.py  its charts: score bars, monthly columns, a rate's line with its target
    xlsx.py        the workbook, a sheet a section, with Excel's own trend charts
    common.py      what both say the same way: the about block, numbers, ranks, scores
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from metrics.periods import Period, local_tz, now
from metrics.report.common import SUBMISSION_COLOURS
from metrics.report.pdf import render_pdf
from metrics.report.pdf_layout import (
    BAR,
    CELL_PADDING,
    FONT,
    FONT_DIR,
    FONT_FACE_SC,
    FONT_FILES,
    HEAD_FILL,
    HEADING_WORDS,
    INK,
    MUTED,
    NO_LINE_END,
    NO_LINE_START,
    RULE,
    TARGET_LINE,
    wrap_lines,
)
from metrics.report.xlsx import MAX_WIDTH, NUMBER_FORMATS, render_xlsx
from metrics.review import review
from metrics.store import Store, StoreVersion

Format = Literal["pdf", "xlsx"]

# The names metrics/report.py had before it became a package, importable from here as before.
__all__ = [
    "BAR",
    "CELL_PADDING",
    "FONT",
    "FONT_DIR",
    "FONT_FACE_SC",
    "FONT_FILES",
    "HEADING_WORDS",
    "HEAD_FILL",
    "INK",
    "MAX_WIDTH",
    "MUTED",
    "NO_LINE_END",
    "NO_LINE_START",
    "NUMBER_FORMATS",
    "RULE",
    "SUBMISSION_COLOURS",
    "TARGET_LINE",
    "Format",
    "build_report",
    "file_name",
    "render_pdf",
    "render_xlsx",
    "wrap_lines",
]


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
    when = (generated_at or now()).astimezone(local_tz())
    # Read as of the store's moment (the demo's own day for the demo), unless told when.
    data = review(store, period, version, lang, as_of=generated_at)
    if fmt == "pdf":
        return render_pdf(data, when)
    if fmt == "xlsx":
        return render_xlsx(data, when)
    raise ValueError(f"unknown report format {fmt!r} (pdf or xlsx)")


def file_name(period: Period, fmt: str, lang: str = "zh") -> str:
    stem = "review" if lang == "en" else "例会报告"
    return f"{stem}-{period.code}.{fmt}"
