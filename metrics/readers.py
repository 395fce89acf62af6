"""Uploaded files to a table of text cells: CSV, XLSX, XLS, ODS and Parquet, as offices
really send them.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from python_calamine import CalamineWorkbook

from metrics import export, workbook_limits

FileFormat = Literal["csv", "xlsx", "xls", "ods", "parquet"]
WORKBOOK_FORMATS = ("xlsx", "xls", "ods")  # what calamine opens, after workbook_limits
# What an upload may be, by extension (a file without one is read as CSV). Anything else
# (.doc, .pdf, .numbers…) is refused by name, in the reader's language, listing these.
ACCEPTED_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods", ".parquet")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file of .xls (and .doc)
MAX_TITLE_LINES = 3  # one-cell lines above the header (a ledger's title) that are skipped
DEFAULT_MAX_MB = 10.0


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
    """Decided by content where it can be (an OpenDocument or OOXML zip, an OLE2 compound
    file, PAR1), else by the name; a type we do not read is refused naming those we do."""
    name = filename.lower()
    extension = os.path.splitext(name)[1]
    if extension and extension not in ACCEPTED_EXTENSIONS:
        raise UploadError("ingest_unsupported_format", name=filename, accepted=_accepted())
    if data.startswith(b"PK\x03\x04"):
        # An ODS names its type in its first member, stored uncompressed ("mimetype").
        if b"application/vnd.oasis.opendocument.spreadsheet" in data[:200]:
            return "ods"
        return "xlsx"
    if data.startswith(_OLE2):
        return "xls"
    if data.startswith(b"PAR1") or extension == ".parquet":
        return "parquet"
    if extension in (".xlsx", ".xlsm", ".xls", ".ods"):
        return "xlsx" if extension != ".ods" else "ods"  # damaged: calamine says so
    return "csv"


def _accepted() -> str:
    return "、".join(e for e in ACCEPTED_EXTENSIONS if e not in (".txt", ".tsv", ".xlsm"))


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
    if fmt in WORKBOOK_FORMATS:
        raw = _read_workbook(data, fmt, sheet)
    elif fmt == "parquet":
        raw = _read_parquet(data)
    else:
        raw = _read_csv(data)
    return _trim(raw)


# Our CSV exports put an apostrophe before text that Excel would run as a formula
# (metrics.export.neutralise); a CSV sent back is read without it: exactly one apostrophe
# is taken off a cell that is apostrophes then a tab or CR, or then any invisible
# characters and = + - @ (full-width too) ('=1 → =1, ''=1 → '=1, ' =1 → =1).
# Not in XLSX: there a typed '=1 is a text cell holding =1, and exports add nothing.
_QUOTED_FORMULA = rf"^'('*(?:[\t\r]|{export.SKIPPED_RE2}*[{re.escape(export.FORMULA_SIGNS)}]))"


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
    """The sheets of a workbook upload (XLSX, XLS, ODS), for choosing one ([] for any other
    file, and for one that is damaged or over the caps: validation says why)."""
    if not data.startswith((b"PK\x03\x04", _OLE2)):
        return []
    try:
        open_workbook(data)
        return list(CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception:  # damaged or refused: validation names the reason
        return []


def open_workbook(data: bytes) -> None:
    """What every path does before calamine opens a workbook: the caps of
    metrics.workbook_limits (inflated size and ratio, shared strings, cells, text)."""
    try:
        workbook_limits.check_workbook(data)
    except workbook_limits.WorkbookRefused as refused:
        raise UploadError(refused.key, **refused.params) from refused
    except workbook_limits.WorkbookDamaged as exc:
        raise UploadError("ingest_xlsx_damaged") from exc


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
    delimiter = _delimiter(head)
    _check_quotes_and_line_ends(body, delimiter.encode())
    skip, header, titles = _csv_header(head, delimiter)
    width = max(len(header), 1)
    bad_rows: list[int] = []
    blank_skipped = [0]
    blank_text = re.compile(rf'[\s"{re.escape(delimiter)}]*')

    def on_invalid(row: Any) -> str:
        # A blank row shorter than the header (",,," as some programs save one) is a blank
        # row like any other: skipped, its number kept out of the data rows' numbers.
        if blank_text.fullmatch(row.text or ""):
            blank_skipped[0] += 1
        else:
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
    numbers: Iterable[int] = range(skip + 1, skip + table.num_rows + blank_skipped[0] + 1)
    if blank_skipped[0]:
        skipped = set(_blank_short_rows(body, delimiter, width))
        numbers = [n for n in numbers if n not in skipped][: table.num_rows]
    rows = pa.array(numbers, pa.int64())
    raw = _with_header(table, rows, "csv", encoding=encoding)
    return _unquote_formulas(dataclasses.replace(raw, titles=titles + raw.titles))


def _delimiter(head: str) -> str:
    """A tab when the first line with more than one cell has tabs and no commas."""
    lines = [line for line in head.splitlines() if line.strip(" ,\t\r")]
    first = lines[0] if lines else ""
    for line in lines:
        if ("," in line or "\t" in line) and len(line.strip(" ,\t")) > 0:
            first = line
            if len([c for c in re.split("[,\t]", line) if c.strip()]) > 1:
                break
    return "\t" if "\t" in first and "," not in first else ","


def _csv_header(head: str, delimiter: str) -> tuple[int, list[str], tuple[tuple[int, str], ...]]:
    """Rows before the header, the header, and the title lines skipped.

    The header is the first row that is not blank and not a title: a row with one filled
    cell (青铜峡市11月台账) followed by a row with more. Rows count as Excel numbers them.
    """
    # newline="": a CR ends a line as Excel and Arrow read it, instead of failing the parse.
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
    try:
        records = list(itertools.islice(reader, 50))
    except csv.Error as exc:  # cannot happen after _check_quotes_and_line_ends; say so if it does
        raise UploadError("ingest_csv_unreadable", detail=str(exc)[:200]) from exc
    filled = [[c for c in r if c.strip()] for r in records]
    titles: list[tuple[int, str]] = []
    for i, cells in enumerate(filled):
        if not cells:
            continue
        later = next((c for c in filled[i + 1 :] if c), [])
        if len(cells) == 1 and len(later) > 1 and len(titles) < MAX_TITLE_LINES:
            titles.append((i + 1, cells[0].strip()))
            continue
        return i, records[i], tuple(titles)
    raise UploadError("ingest_empty_file")  # blank lines and commas only


# A run of quotes, or a CR that does not start a CRLF.
_QUOTES_OR_LONE_CR = re.compile(rb'"+|\r(?!\n)')


def _check_quotes_and_line_ends(body: bytes, delimiter: bytes) -> None:
    """Refuse, naming the row, a quote that is never closed (Arrow would read the rest of the
    file into one cell without a word) and a lone CR inside the rows of a file whose lines
    end in LF (Excel breaks the row there; a CR-only file, old Mac Excel's, is fine).

    Quotes as Arrow reads them: one at the start of a field opens a quoted field, where ""
    is a quote and a lone " closes it; anywhere else a quote is just a character."""
    line_end = b"\n" if b"\n" in body else b"\r"
    no_lone_cr = line_end == b"\r" or body.count(b"\r") == body.count(b"\r\n")
    if no_lone_cr and (b'"' not in body or _quotes_simply_paired(body, delimiter)):
        return  # the usual file: nothing to look at
    opened: int | None = None  # where the open quoted field started
    inside_breaks = 0  # line ends inside quoted fields so far: not row breaks
    lone_crs: list[tuple[int, int]] = []  # the first ones: position, inside_breaks there
    count = 0
    for match in _QUOTES_OR_LONE_CR.finditer(body):
        start, run = match.start(), match.end() - match.start()
        if body[start] == 13:  # a lone CR; at the very end of the file it ends the last line
            at_end = start + 64 >= len(body) and not body[start + 1 :].strip()
            if opened is None and line_end == b"\n" and not at_end:
                count += 1
                if len(lone_crs) < 10:
                    lone_crs.append((start, inside_breaks))
            continue
        if opened is not None:
            if run % 2:  # "" pairs are quotes; an odd one out closes the field
                inside_breaks += body.count(line_end, opened, start)
                opened = None
        elif run % 2 and (start == 0 or body[start - 1 : start] in (delimiter, b"\n", b"\r")):
            opened = start  # at a field's start the first opens; pairs after it are quotes
    if opened is not None:
        raise UploadError(
            "ingest_csv_open_quote",
            row=body.count(line_end, 0, opened) - inside_breaks + 1,
            snippet=_snippet(body, opened, 0, 24),
        )
    if lone_crs:
        # Rows as the file's author meant them: a lone CR breaks none (Excel would).
        rows = [body.count(b"\n", 0, at) - before + 1 for at, before in lone_crs]
        first = lone_crs[0][0]
        raise UploadError(
            "ingest_csv_bare_cr",
            row=rows[0],
            snippet=_snippet(body, first, 12, 13),
            count=count,
            rows="、".join(map(str, rows)) + ("……" if count > len(rows) else ""),
        )


def _quotes_simply_paired(body: bytes, delimiter: bytes) -> bool:
    """Whether every quote of the file is single (no "" inside) and they pair up as
    opening (at a field's start) and closing: then no quoted field is left open, which the
    loop above would find quote by quote (12 s at a million quoted rows; this takes 0.1 s).
    False means only that the loop must look."""
    data = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    if len(quotes) % 2 or (np.diff(quotes) == 1).any():
        return False
    openers = quotes[0::2]
    before = data[np.maximum(openers - 1, 0)]
    at_start = (openers == 0) | np.isin(before, (delimiter[0], ord("\n"), ord("\r")))
    return bool(at_start.all())


def _snippet(body: bytes, at: int, before: int, after: int) -> str:
    """The text of the file around `at`, on its line, a lone CR shown as ↵, for a message."""
    start = max(at - before, body.rfind(b"\n", 0, at) + 1)
    end = body.find(b"\n", at)
    end = min(at + after, len(body) if end < 0 else end)
    text = body[start:end].decode("utf-8", errors="ignore").replace("\r", "↵")
    return f"“{text}”"


def _records(body: bytes, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with its row number as Excel shows it (a quoted line break stays in
    its cell and row)."""
    text = io.StringIO(body.decode("utf-8"), newline="")
    return enumerate(csv.reader(text, delimiter=delimiter), start=1)


def _ragged_rows(body: bytes, delimiter: str, width: int) -> list[tuple[int, int]]:
    """(Excel row, fields) of each row whose field count differs from the header's."""
    return [
        (number, len(record))
        for number, record in _records(body, delimiter)
        if record and len(record) != width and any(c.strip() for c in record)
    ]


def _blank_short_rows(body: bytes, delimiter: str, width: int) -> list[int]:
    """The Excel rows of blank rows with fewer (or more) fields than the header."""
    return [
        number
        for number, record in _records(body, delimiter)
        if len(record) > 1 and len(record) != width and not any(c.strip() for c in record)
    ]


# -- XLSX ------------------------------------------------------------------------------
def _read_workbook(data: bytes, fmt: FileFormat, sheet: str | None) -> RawTable:
    open_workbook(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if sheet is not None and sheet not in book.sheet_names:
            raise UploadError(
                "ingest_no_such_sheet", sheet=sheet, sheets="、".join(book.sheet_names)
            )
        ws = book.get_sheet_by_name(sheet) if sheet is not None else book.get_sheet_by_index(0)
        # XLS is not a zip that workbook_limits could measure first: its cells are capped
        # here, from the sheet's extent, before any becomes a Python object.
        # (`end` is the last cell, from 0; the values are laid out from A1.)
        last_row, last_column = ws.end or (-1, -1)
        workbook_limits.check_extent(ws.name, last_row + 1, last_column + 1)
        values = ws.to_python(skip_empty_area=False)
        merged, name, sheets = ws.merged_cell_ranges or [], ws.name, tuple(book.sheet_names)
    except UploadError:
        raise
    except workbook_limits.WorkbookRefused as refused:
        raise UploadError(refused.key, **refused.params) from refused
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise UploadError("ingest_xlsx_damaged") from exc
    del ws, book  # calamine's copy of every cell: memory is the upload's tightest cap
    width = max((len(r) for r in values), default=0)
    if not values or width == 0:
        raise UploadError("ingest_empty_file")
    # Column by column, so only one column of text is in Python lists at a time.
    table = pa.table(
        {
            f"c{i}": pa.array([_cell_text(r[i]) if i < len(r) else "" for r in values], pa.string())
            for i in range(width)
        }
    )
    del values
    rows = pa.array(range(1, table.num_rows + 1), pa.int64())
    raw = _with_header(table, rows, fmt, sheet=name)
    raw = dataclasses.replace(raw, sheets=sheets)
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
