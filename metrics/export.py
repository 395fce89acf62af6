"""Tables as files people open in Excel: CSV (UTF-8 with BOM) and XLSX, safe to open.

A CSV cell that starts with = + - @ or a tab or carriage return would be run as a formula
by Excel or LibreOffice (OWASP "CSV injection"); such text cells get a leading apostrophe
(an upload takes exactly one off again: readers._unquote_formulas). In XLSX every text
cell is written as a string cell, never a formula (xlsxwriter's strings_to_formulas off),
so it keeps its text exactly, without an apostrophe. Numbers stay numbers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """An apostrophe before text Excel would run as a formula, and before text that already
    starts with apostrophes and then such a sign, so an upload's taking one off gives the
    value back exactly (readers._unquote_formulas)."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_PREFIXES):
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
    """CSV in UTF-8 with a BOM, so Chinese Excel opens it without garbling."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


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
