"""Tables as files to download: cells that a spreadsheet would run as formulas are made text."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from metrics import export


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV in UTF-8 with a BOM, so Chinese Excel opens it without garbling."""
    return export.to_csv_bytes(frame)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per frame, header frozen, columns sized."""
    return export.to_xlsx_bytes(sheets)
