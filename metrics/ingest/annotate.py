"""The upload given back with its problems: a 错误说明 column beside the data rows."""

from __future__ import annotations

import codecs

import pandas as pd

from metrics import export
from metrics.i18n import t
from metrics.ingest.validation import Validation


def annotated_file(validation: Validation, lang: str = "zh") -> tuple[bytes, str]:
    """The upload with a 错误说明 column (XLSX for XLSX, else CSV): bytes and a file name.

    The data rows stay as they were, one problem column added (ignored when the file is
    sent back). What concerns the file as a whole goes on a second sheet (XLSX) or on one
    line above the header (CSV), which the reader skips as a title.
    """
    column = t("ingest_error_column", lang)
    about_file = [p.message(lang) for p in validation.problems if p.row is None]
    about_file += [p.message(lang) for p in validation.notes]
    raw = validation.raw
    if raw is None:
        frame = pd.DataFrame({column: about_file})
        about_file = []
    else:
        frame = raw.cells.to_pandas()
        frame.columns = pd.Index(_unique(raw.headers))
        by_row: dict[int, list[str]] = {}
        for p in validation.problems:
            if p.row is not None:
                # "…的数据；网格编码：…", not "…的数据。；网格编码：…"
                message = p.message(lang).rstrip("。")
                by_row.setdefault(p.row, []).append(f"{p.column}：{message}")
        numbers = raw.row_numbers.to_pylist()
        frame[column] = ["；".join(by_row.get(n, [])) for n in numbers]
    stem = "annotated"
    if validation.file_format in ("xlsx", "xls", "ods"):  # a workbook comes back as XLSX
        sheets = {(raw.sheet if raw is not None and raw.sheet else column): frame}
        if about_file:
            sheets[t("ingest_notes_sheet", lang)] = pd.DataFrame({column: about_file})
        return export.to_xlsx_bytes(sheets), f"{stem}.xlsx"
    data = export.to_csv_bytes(frame)
    if about_file:
        line = export.to_csv_bytes(pd.DataFrame({"": ["；".join(about_file)]}))
        title = line.decode("utf-8-sig").split("\n", 1)[1]  # the value, without the header
        data = codecs.BOM_UTF8 + title.encode("utf-8") + data[len(codecs.BOM_UTF8) :]
    return data, f"{stem}.csv"


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    return out
