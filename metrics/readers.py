"""Uploaded files to a table of text cells: CSV, XLSX and Parquet, as offices really send them.

Every cell comes back as text ("" for an empty cell), with the row number Excel shows, so
the validator parses values in one place and reports problems where the clerk can find them.
A file that cannot be read raises `UploadError`, whose message key is in messages.yaml.
Why python-calamine for XLSX: docs/decisions/0002-upload-readers.md.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import io
import itertools
import os
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from python_calamine import CalamineWorkbook

FileFormat = Literal["csv", "xlsx", "parquet"]
MAX_TITLE_LINES = 3  # one-cell lines above the header (a ledger's title) that are skipped
DEFAULT_MAX_MB = 10.0
# An XLSX is a zip: refuse to inflate more than this many times the upload limit, which a
# real workbook never needs and a zip bomb always does.
MAX_INFLATE_FACTOR = 20
MAX_ZIP_MEMBERS = 10_000


class UploadError(Exception):
    """A file that cannot be read at all; `key` and `params` make the message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class RawTable:
    headers: list[str]  # as written in the file, one per column of `cells`
    cells: pa.Table  # string columns c0..cN-1, "" for an empty cell
    row_numbers: pa.Array  # int64: the row number as Excel shows it, per row of `cells`
    format: FileFormat
    encoding: str | None = None  # CSV only: utf-8-sig, utf-8 or gb18030
    sheet: str | None = None  # XLSX only: the sheet read
    sheets: tuple[str, ...] = ()  # XLSX only: every sheet of the workbook
    titles: tuple[tuple[int, str], ...] = ()  # title lines skipped above the header
    header_row: int = 1  # the header's row number as Excel shows it


def max_upload_bytes(max_bytes: int | None = None) -> int:
    """The upload limit: the argument, else $GOVDASH_MAX_UPLOAD_MB, else 10 MB."""
    if max_bytes is not None:
        return max_bytes
    mb = float(os.environ.get("GOVDASH_MAX_UPLOAD_MB") or DEFAULT_MAX_MB)
    return int(mb * 1024 * 1024)


def file_format(data: bytes, filename: str) -> FileFormat:
    """Decided by content where it can be (zip → XLSX, PAR1 → Parquet), else by the name."""
    name = filename.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if data.startswith(b"PAR1") or name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".xls", ".et", ".ods", ".numbers", ".zip")):
        raise UploadError("ingest_unsupported_format", name=filename)
    return "csv"


def read_upload(
    data: bytes, filename: str, *, sheet: str | None = None, max_bytes: int | None = None
) -> RawTable:
    limit = max_upload_bytes(max_bytes)
    if len(data) > limit:
        raise UploadError(
            "ingest_too_large",
            size_mb=f"{len(data) / 1048576:.1f}",
            limit_mb=f"{limit / 1048576:g}",
        )
    if not data or data.isspace():  # as `not data.strip()`, without copying the file
        raise UploadError("ingest_empty_file")
    fmt = file_format(data, filename)
    if fmt == "xlsx":
        raw = _read_xlsx(data, sheet, limit)
    elif fmt == "parquet":
        raw = _read_parquet(data)
    else:
        raw = _read_csv(data)
    return _trim(raw)


# Our CSV exports put an apostrophe before text that Excel would run as a formula
# (metrics.export.neutralise); a CSV sent back is read without it: exactly one apostrophe
# is taken off a cell that is apostrophes then = + - @ tab or CR ('=1 → =1, ''=1 → '=1).
# Not in XLSX: there a typed '=1 is a text cell holding =1, and exports add nothing.
_QUOTED_FORMULA = r"^'('*[=+\-@\t\r])"


def _unquote_formulas(raw: RawTable) -> RawTable:
    cells = raw.cells
    for i, column in enumerate(cells.columns):
        if pc.any(pc.starts_with(column, "'")).as_py():
            cells = cells.set_column(
                i, cells.column_names[i], pc.replace_substring_regex(column, _QUOTED_FORMULA, r"\1")
            )
    if cells is raw.cells:
        return raw
    return dataclasses.replace(raw, cells=cells)


def sheet_names(data: bytes) -> list[str]:
    """The sheets of an XLSX upload, for choosing one ([] when it cannot be opened)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if len(archive.infolist()) > MAX_ZIP_MEMBERS:
                return []
        return list(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception:  # a damaged file: validation says so
        return []


# -- CSV -------------------------------------------------------------------------------
def decode(data: bytes) -> tuple[bytes, str]:
    """The file as UTF-8 bytes and the encoding it was in: BOM → UTF-8, else strict UTF-8,
    else GB18030, else refused. No other codepage is ever guessed."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UploadError("ingest_bad_encoding")
    if b"\x00" in data:
        raise UploadError("ingest_bad_encoding")
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UploadError("ingest_bad_encoding") from exc
        return body, "utf-8-sig"
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError as exc:
        raise UploadError("ingest_bad_encoding") from exc


def _read_csv(data: bytes) -> RawTable:
    body, encoding = decode(data)
    head = body[:65536].decode("utf-8", errors="ignore")
    delimiter, skip, header, titles = _csv_header(head)
    width = max(len(header), 1)
    bad_rows: list[int] = []

    def on_invalid(row: Any) -> str:
        bad_rows.append(row.actual_columns)
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True, skip_rows=skip),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UploadError("ingest_csv_unreadable", detail=str(exc)[:200]) from exc
    if bad_rows:
        # Arrow does not say where (its row number is None with newlines in values):
        # Python's csv module finds the rows, numbered as Excel shows them.
        ragged = _ragged_rows(body, delimiter, width)
        row, actual = ragged[0] if ragged else ("?", bad_rows[0])
        raise UploadError(
            "ingest_csv_ragged",
            row=row,
            actual=actual,
            expected=width,
            count=max(len(ragged), len(bad_rows)),
            rows="、".join(str(r) for r, _ in ragged[:10]),
        )
    rows = pa.array(range(skip + 1, skip + table.num_rows + 1), pa.int64())
    raw = _with_header(table, rows, "csv", encoding=encoding)
    return _unquote_formulas(dataclasses.replace(raw, titles=titles + raw.titles))


def _csv_header(head: str) -> tuple[str, int, list[str], tuple[tuple[int, str], ...]]:
    """Delimiter, rows before the header, the header, and the title lines skipped.

    The header is the first row that is not blank and not a title: a row with one filled
    cell (青铜峡市11月台账) followed by a row with more. Rows count as Excel numbers them.
    """
    lines = [line for line in head.splitlines() if line.strip(" ,\t\r")]
    first = lines[0] if lines else ""
    for line in lines:
        if ("," in line or "\t" in line) and len(line.strip(" ,\t")) > 0:
            first = line
            if len([c for c in re.split("[,\t]", line) if c.strip()]) > 1:
                break
    delimiter = "\t" if "\t" in first and "," not in first else ","
    records = list(itertools.islice(csv.reader(io.StringIO(head), delimiter=delimiter), 50))
    filled = [[c for c in r if c.strip()] for r in records]
    titles: list[tuple[int, str]] = []
    for i, cells in enumerate(filled):
        if not cells:
            continue
        later = next((c for c in filled[i + 1 :] if c), [])
        if len(cells) == 1 and len(later) > 1 and len(titles) < MAX_TITLE_LINES:
            titles.append((i + 1, cells[0].strip()))
            continue
        return delimiter, i, records[i], tuple(titles)
    raise UploadError("ingest_empty_file")  # blank lines and commas only


def _ragged_rows(body: bytes, delimiter: str, width: int) -> list[tuple[int, int]]:
    """(Excel row, fields) of each row whose field count differs from the header's."""
    text = io.StringIO(body.decode("utf-8"), newline="")
    out = []
    for number, record in enumerate(csv.reader(text, delimiter=delimiter), start=1):
        if record and len(record) != width and any(c.strip() for c in record):
            out.append((number, len(record)))
    return out


# -- XLSX ------------------------------------------------------------------------------
def _read_xlsx(data: bytes, sheet: str | None, limit: int) -> RawTable:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, EOFError) as exc:
        raise UploadError("ingest_xlsx_damaged") from exc
    inflated = sum(m.file_size for m in members)
    if len(members) > MAX_ZIP_MEMBERS or inflated > MAX_INFLATE_FACTOR * limit:
        raise UploadError("ingest_zip_bomb", size_mb=f"{inflated / 1048576:,.0f}")
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if sheet is not None and sheet not in book.sheet_names:
            raise UploadError(
                "ingest_no_such_sheet", sheet=sheet, sheets="、".join(book.sheet_names)
            )
        ws = book.get_sheet_by_name(sheet) if sheet is not None else book.get_sheet_by_index(0)
        values = ws.to_python(skip_empty_area=False)
        merged = ws.merged_cell_ranges or []
    except UploadError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise UploadError("ingest_xlsx_damaged") from exc
    width = max((len(r) for r in values), default=0)
    if not values or width == 0:
        raise UploadError("ingest_empty_file")
    columns = [[_cell_text(r[i]) if i < len(r) else "" for r in values] for i in range(width)]
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    rows = pa.array(range(1, table.num_rows + 1), pa.int64())
    raw = _with_header(table, rows, "xlsx", sheet=ws.name)
    raw = dataclasses.replace(raw, sheets=tuple(book.sheet_names))
    for (r0, c0), (r1, c1) in merged:
        if r0 + 1 <= raw.header_row <= r1 + 1:
            raise UploadError("ingest_merged_header", cells=f"{_a1(r0, c0)}:{_a1(r1, c1)}")
    return raw


def _cell_text(value: object) -> str:
    """A calamine cell as the text a clerk would type: dates ISO, whole numbers without .0."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _a1(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


# -- Parquet ---------------------------------------------------------------------------
def _read_parquet(data: bytes) -> RawTable:
    try:
        source = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise UploadError("ingest_parquet_damaged") from exc
    headers = [str(n) for n in source.column_names]
    columns = {}
    for i, column in enumerate(source.columns):
        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.date32())
        text = pc.cast(column, pa.string())
        columns[f"c{i}"] = pc.fill_null(text, "")
    table = pa.table(columns) if columns else pa.table({})
    rows = pa.array(range(2, table.num_rows + 2), pa.int64())
    return RawTable(headers, table, rows, "parquet")


# -- shared ----------------------------------------------------------------------------
def _blank(table: pa.Table) -> pa.Array:
    """True for rows whose every cell is empty or whitespace."""
    if table.num_columns == 0:
        return pa.array([True] * table.num_rows, pa.bool_())
    # Column by column, only over the rows still blank so far: after the first column
    # there are usually none left to look at.
    candidates = pc.indices_nonzero(_blank_cells(table.column(0)))
    for column in table.columns[1:]:
        if len(candidates) == 0:
            break
        candidates = candidates.filter(_blank_cells(column.take(candidates)))
    blank = np.zeros(table.num_rows, bool)
    blank[candidates.to_numpy()] = True
    return pa.array(blank)


def _blank_cells(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.equal(pc.utf8_trim_whitespace(column), "")


def _header_row(table: pa.Table) -> int:
    # The header is near the top: look there first, and at the whole table only if not.
    for head in (table.slice(0, 1000), table):
        nonblank = pc.indices_nonzero(pc.invert(_blank(head)))
        if len(nonblank):
            return int(nonblank[0].as_py()) + 1
    raise UploadError("ingest_empty_file")


def _with_header(
    table: pa.Table,
    rows: pa.Array,
    fmt: FileFormat,
    encoding: str | None = None,
    sheet: str | None = None,
) -> RawTable:
    """The first non-blank row is the header, the rows after it are the data; a title (a
    row with one filled cell, followed by a row with more) above it is skipped."""
    index = _header_row(table) - 1
    titles: list[tuple[int, str]] = []
    while len(titles) < MAX_TITLE_LINES:
        cells = _filled(table, index)
        if len(cells) != 1:
            break
        following = index + 1
        while following < min(table.num_rows, index + 20) and not _filled(table, following):
            following += 1
        if following >= table.num_rows or len(_filled(table, following)) < 2:
            break
        titles.append((int(rows[index].as_py()), cells[0]))
        index = following
    headers = [str(table.column(i)[index].as_py()) for i in range(table.num_columns)]
    body = table.slice(index + 1)
    return RawTable(
        headers,
        body,
        rows.slice(index + 1),
        fmt,
        encoding,
        sheet,
        titles=tuple(titles),
        header_row=int(rows[index].as_py()),
    )


def _filled(table: pa.Table, index: int) -> list[str]:
    """The non-blank cells of row `index`, trimmed."""
    values = (str(table.column(i)[index].as_py() or "") for i in range(table.num_columns))
    return [v.strip() for v in values if v.strip()]


def _trim(raw: RawTable) -> RawTable:
    """Drop blank rows and the columns that have neither a header nor a value."""
    keep = [
        i
        for i, h in enumerate(raw.headers)
        if h.strip()
        or pc.any(pc.not_equal(pc.utf8_trim_whitespace(raw.cells.column(i)), "")).as_py()
    ]
    cells = raw.cells.select(keep).rename_columns([f"c{j}" for j in range(len(keep))])
    headers = [raw.headers[i] for i in keep]
    if not headers:
        raise UploadError("ingest_empty_file")
    blank = _blank(cells)
    if not pc.any(blank).as_py():  # nothing to drop: spare copying every cell
        return dataclasses.replace(raw, headers=headers, cells=cells)
    filled = pc.invert(blank)
    return dataclasses.replace(
        raw,
        headers=headers,
        cells=cells.filter(filled),
        row_numbers=raw.row_numbers.filter(filled),
    )
