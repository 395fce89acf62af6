"""Tables as files people open in Excel: CSV (UTF-8 with BOM) and XLSX, safe to open.

A CSV cell is read as a formula by Excel or LibreOffice when it starts with = + - or @ —
also after leading spaces, tabs, line breaks or other invisible characters, which some
importers drop (OWASP "CSV injection"). Such text cells get a leading apostrophe, which
shows and stops the formula; an upload takes exactly one off again
(`readers._unquote_formulas`, the same rule). Full-width ＝＋－＠ are treated alike:
no spreadsheet tested runs them, and an apostrophe before them costs nothing.

The CSV is Excel's own dialect, CRLF line ends: a cell holding a CR or LF is then quoted
and stays one cell. (With LF line ends a lone CR went out unquoted, and LibreOffice broke
the row there: a stored note "\\r=1+1" came back as the formula =1+1 in a row of its own.)
tests/test_csv_exports.py opens every CSV export in LibreOffice and finds no formula.

In XLSX every text cell is written as a string cell, never a formula (xlsxwriter's
strings_to_formulas off), so it keeps its text exactly, without an apostrophe.
Numbers stay numbers.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping

import pandas as pd

FORMULA_SIGNS = "=+-@＝＋－＠"
# Leading characters an importer may skip before it sees the sign: whitespace (Unicode's
# too, such as the ideographic space), controls and format characters (zero-width space,
# BOM). The same set, in RE2 syntax, is what readers._unquote_formulas takes off.
_SKIPPED = ("Zs", "Zl", "Zp", "Cc", "Cf")
SKIPPED_RE2 = r"[\p{Z}\p{Cc}\p{Cf}]"


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could run `text` (after any apostrophes) as a formula."""
    rest = text.lstrip("'")
    if rest.startswith(("\t", "\r")):  # OWASP's list: whatever follows
        return True
    for char in rest:
        if unicodedata.category(char) not in _SKIPPED:
            return char in FORMULA_SIGNS
    return False


def neutralise(value: object) -> object:
    """An apostrophe before text a spreadsheet would run as a formula, and before text that
    already starts with apostrophes and then such a sign, so an upload's taking one off
    gives the value back exactly (readers._unquote_formulas)."""
    if isinstance(value, str) and value and is_formula_like(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [str(neutralise(str(c))) for c in out.columns]
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with a BOM, so Chinese Excel opens it without garbling; CRLF line ends,
    so a cell with a line break in it is quoted (Excel's own CSV)."""
    text: str = safe_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per frame, header frozen, columns sized; text never read as formulas."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        engine_kwargs={"options": {"strings_to_formulas": False, "strings_to_urls": False}},
    ) as writer:
        for name, frame in sheets.items():
            sheet = name[:31]
            frame.to_excel(writer, sheet_name=sheet, index=False)
            worksheet = writer.sheets[sheet]
            worksheet.freeze_panes(1, 0)
            for i, column in enumerate(frame.columns):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
                worksheet.set_column(i, i, min(max(8, width * 1.6), 50))
    return buffer.getvalue()
