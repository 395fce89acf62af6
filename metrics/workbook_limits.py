"""The caps every workbook passes before anything opens it: the sheet list, validation,
the preview and the CLI all read workbooks through `metrics.readers`, which calls
`check_workbook` first.

A workbook is a zip of XML, and its parser (calamine) believes what it says: a 1.65 MB
upload whose shared strings inflate to 649 MB took a server from 408 MB to 2.5 GB; one
value in cell XFD1048576 asks for 17 billion cells; 20,000 cells that use one 30 kB shared
string come back as 600 MB of text. So, streaming 64 kB at a time and keeping counters only:

- every member is inflated here, not taken at its word: a size in the zip's directory can
  lie, and a member whose real size differs from the declared one is refused;
- the workbook inflates to at most MAX_INFLATED_BYTES in all, and a member above
  RATIO_GRACE_BYTES to at most MAX_RATIO times its compressed size (Apache POI's rule);
- the shared-string table holds at most MAX_SHARED_STRINGS strings and MAX_SHARED_CHARS
  characters, and each other part calamine reads whole to open a workbook (OPENED_PARTS:
  the workbook, its relationships, the styles) inflates to at most MAX_PART_BYTES;
- a sheet is whatever member the workbook's relationships name, wherever it is;
- on each worksheet the cells that hold a value span at most MAX_CELLS (rows × columns, as
  the parser lays them out: empty cells take no room) and hold at most MAX_TEXT_CHARS
  characters, a shared string counted once for every cell that uses it.

The XML is read with expat, which reads attributes as XML defines them (a regex would be
fooled by `x=">" r="XFD1048576"`); a document type declaration (entity tricks) or
malformed XML is refused as damaged. The caps keep any upload under 300 MB of server
memory (tests/test_upload_caps.py measures it) and lie far above a community's ledger:
docs/decisions/0011-upload-caps.md.

ODS is a zip too: the same member, inflation and ratio caps, and its content.xml is read
for the same cell and text caps, rows and columns counted with their repeat attributes
(table:number-rows-repeated, table:number-columns-repeated). XLS (BIFF in an OLE2
compound file) is not a zip: its file size is capped here (MAX_XLS_BYTES) and its cells
by `check_extent`, from the sheet's extent calamine reports, before they become Python
objects.
"""

from __future__ import annotations

import copy
import hashlib
import io
import posixpath
import re
import zipfile
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from xml.parsers import expat

MAX_ZIP_MEMBERS = 10_000
MAX_INFLATED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_GRACE_BYTES = 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_CHARS = 16_000_000
# The other parts calamine reads whole when it opens a workbook (styles: some 3.4 bytes of
# memory per byte of XML). Real ones are kilobytes, a few megabytes at the most.
MAX_PART_BYTES = 16 * 1024 * 1024
OPENED_PARTS = (
    "[content_types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
)
MAX_CELLS = 1_000_000
MAX_TEXT_CHARS = 8_000_000
# BIFF8 holds at most 65,536 × 256 cells; a 16 MB .xls is far above any ledger.
MAX_XLS_BYTES = 16 * 1024 * 1024
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 64 * 1024
_WORKBOOK_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")  # which member is which sheet
# Where writers put sheets, whatever the relationships say (checked as sheets either way).
_SHEET_DIRS = re.compile(r"(work|macro|dialog)sheets/[^/]+\.xml$")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,7})\$?([0-9]{1,10})$")


class WorkbookRefused(Exception):
    """A workbook over a cap; `key` and `params` make the message (messages.yaml)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


class WorkbookDamaged(Exception):
    """Not a zip, or XML that is malformed or declares a document type."""


# The verdict on the last few workbooks, by SHA-256: the upload page lists a workbook's
# sheets and then validates it, and a 100,000-row workbook takes seconds to scan.
_VERDICTS: OrderedDict[bytes, WorkbookRefused | WorkbookDamaged | None] = OrderedDict()
_VERDICTS_KEPT = 16
_UNSEEN = WorkbookDamaged("not checked yet")


def check_workbook(data: bytes) -> None:
    """Raise WorkbookRefused if opening this XLSX could cost more than the caps allow, and
    WorkbookDamaged if it cannot be read."""
    digest = hashlib.sha256(data).digest()
    verdict = _VERDICTS.get(digest, _UNSEEN)
    if verdict is _UNSEEN:
        try:
            _check(data)
            verdict = None
        except (WorkbookRefused, WorkbookDamaged) as exc:
            verdict = exc
        _VERDICTS[digest] = verdict
        while len(_VERDICTS) > _VERDICTS_KEPT:
            _VERDICTS.popitem(last=False)
    if verdict is not None:
        raise verdict


def check_extent(sheet: str, rows: int, columns: int) -> None:
    """Refuse a sheet whose cells span more than MAX_CELLS (rows × columns)."""
    if rows * columns > MAX_CELLS:
        raise WorkbookRefused(
            "ingest_too_many_cells",
            sheet=sheet,
            rows=f"{rows:,}",
            columns=f"{columns:,}",
            cells=f"{rows * columns:,}",
            limit=f"{MAX_CELLS:,}",
        )


def _check(data: bytes) -> None:
    """Each member inflated once, shared strings first (a sheet's text counts their lengths)."""
    if data.startswith(_OLE2):
        if len(data) > MAX_XLS_BYTES:
            raise WorkbookRefused(
                "ingest_xls_too_large", size_mb=_mb(len(data)), limit_mb=_mb(MAX_XLS_BYTES)
            )
        return  # cells: check_extent, once calamine has read the sheet's dimensions
    is_ods = _ODS_MIME in data[:200]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                count, limit = f"{len(members):,}", f"{MAX_ZIP_MEMBERS:,}"
                raise WorkbookRefused("ingest_zip_members", count=count, limit=limit)
            budget = [0]
            strings, names = _SharedStrings(), _SheetNames()
            for member in sorted(members, key=_reading_order):
                name = member.filename
                if _is_shared_strings(name):
                    _inflate(archive, member, budget, strings.parser)
                elif name.lower() in _WORKBOOK_PARTS:
                    _inflate(archive, member, budget, names.parser())
                elif is_ods and name == "content.xml":
                    _inflate(archive, member, budget, _OdsContent().parser)
                elif names.is_sheet(name):
                    sheet = _Sheet(names.of(name), strings.lengths)
                    _inflate(archive, member, budget, sheet.parser)
                else:
                    _inflate(archive, member, budget, None)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, expat.ExpatError) as exc:
        raise WorkbookDamaged(str(exc)) from exc
    except (NotImplementedError, RuntimeError) as exc:  # a method or encryption zipfile lacks
        raise WorkbookDamaged(str(exc)) from exc


def _reading_order(member: zipfile.ZipInfo) -> int:
    """Shared strings first (a sheet's text counts their lengths), then the sheets' names."""
    name = member.filename.lower()
    return 0 if _is_shared_strings(name) else 1 if name in _WORKBOOK_PARTS else 2


def _is_shared_strings(name: str) -> bool:
    return name.lower().endswith("sharedstrings.xml")


def _inflate(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    budget: list[int],
    parser: Any | None,
) -> None:
    """Inflate `member` in chunks, counting what really comes out, into `parser` if any."""
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WorkbookDamaged(f"compression method {member.compress_type}")
    # zipfile stops at the declared size; told a larger one, it reads the stream to its real
    # end (and checks the CRC there), so an understated size is measured, not trusted.
    unbounded = copy.copy(member)
    unbounded.file_size = MAX_INFLATED_BYTES + 1
    size, malformed = 0, None
    with archive.open(unbounded) as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            size += len(chunk)
            budget[0] += len(chunk)
            ratio = size // max(member.compress_size, 1)
            if size > MAX_PART_BYTES and member.filename.lower() in OPENED_PARTS:
                raise WorkbookRefused(
                    "ingest_part_too_large", member=member.filename, size_mb=_mb(MAX_PART_BYTES)
                )
            if budget[0] > MAX_INFLATED_BYTES or (size > RATIO_GRACE_BYTES and ratio > MAX_RATIO):
                mb = _mb(min(budget[0], MAX_INFLATED_BYTES))
                raise WorkbookRefused(
                    "ingest_zip_bomb", size_mb=mb, member=member.filename, ratio=f"{ratio:,}"
                )
            # Malformed XML is damage; a bomb is still measured to the end and named as one.
            if parser is not None and malformed is None:
                malformed = _parse(parser, chunk)
    if parser is not None and malformed is None:
        malformed = _parse(parser, b"", final=True)
    if size != member.file_size:
        raise WorkbookRefused("ingest_zip_lies")
    if malformed is not None:
        raise WorkbookDamaged(f"{member.filename}: {malformed}")


def _parse(parser: Any, chunk: bytes, final: bool = False) -> str | None:
    """Feed `parser`; the error if the XML is malformed (the caps' refusals go through)."""
    try:
        parser.Parse(chunk, final)
    except expat.ExpatError as exc:
        return str(exc)
    return None


def _mb(size: int) -> str:
    return f"{size / 1048576:,.0f}"


def _expat(start: Callable[[str, dict[str, str]], None]) -> Any:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _no_doctype
    return parser


def _no_doctype(*_: Any) -> None:
    raise WorkbookDamaged("a document type declaration")


def _local(name: str) -> str:
    return name.rpartition(":")[2]


class _SharedStrings:
    """The shared-string table: how many, and each one's length in characters."""

    def __init__(self) -> None:
        self.lengths: array[int] = array("q")
        self.chars = 0
        self.parser = _expat(self._start)
        self.parser.CharacterDataHandler = self._text

    def _start(self, name: str, _attributes: dict[str, str]) -> None:
        if _local(name) == "si":
            if len(self.lengths) >= MAX_SHARED_STRINGS:
                limit = f"{MAX_SHARED_STRINGS:,}"
                raise WorkbookRefused("ingest_too_many_strings", count=f"> {limit}", limit=limit)
            self.lengths.append(0)

    def _text(self, text: str) -> None:
        if self.lengths:
            self.lengths[-1] += len(text)
            self.chars += len(text)
            if self.chars > MAX_SHARED_CHARS:
                limit = f"{MAX_SHARED_CHARS:,}"
                raise WorkbookRefused(
                    "ingest_too_much_shared_text", chars=f"> {limit}", limit=limit
                )


class _SheetNames:
    """Which members are sheets, and their names for the message: xl/workbook.xml names each
    sheet and its relationship id, xl/_rels/workbook.xml.rels gives that id's member, which
    calamine reads wherever it is (xl/data/x.xml, "/x.xml", "xl/../x.xml" as one name)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # relationship id → sheet name
        self._targets: dict[str, str] = {}  # relationship id → target, as written
        self._found: dict[str, str] | None = None  # once both parts are read: _members

    def parser(self) -> Any:
        self._found = None
        return _expat(self._start)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "sheet":
            rid = next((v for k, v in attributes.items() if _local(k) == "id"), "")
            self._names[rid] = attributes.get("name", "")
        elif tag == "Relationship":
            self._targets[attributes.get("Id", "")] = attributes.get("Target", "")

    def _members(self) -> dict[str, str]:
        """Member name (lower case) → sheet name, for every way a target may be meant."""
        if self._found is not None:
            return self._found
        out = {}
        for rid, sheet in self._names.items():
            target = self._targets.get(rid, "")
            for member in (target.lstrip("/"), f"xl/{target}", posixpath.normpath(f"xl/{target}")):
                out[member.lower()] = sheet
        self._found = out
        return out

    def is_sheet(self, member: str) -> bool:
        lower = member.lower()
        return lower in self._members() or bool(_SHEET_DIRS.search(lower))

    def of(self, member: str) -> str:
        return self._members().get(member.lower()) or member.rsplit("/", 1)[-1].removesuffix(".xml")


class _Sheet:
    """A worksheet's extent and text, laid out as calamine does: a <row> without `r` comes
    after the <row> before it; a cell without `r` goes in its <row>'s row, one column after
    the cell before it; a cell without a value takes no room. Text and end tags are
    listened to inside a value only (<v>, <is>): a sheet is mostly tags."""

    def __init__(self, name: str, shared: array[int]) -> None:
        self.name = name
        self.shared = shared
        self.rows = self.columns = self.text = 0
        self._row_element = 0  # the current <row>'s row
        self._row = self._column = 0  # the current cell's
        self._shared_cell = False
        self._value: tuple[str, list[str]] | None = None  # the open <v>/<is>, its text
        self._tags: dict[str, str] = {}  # qualified name → local name
        self._letters: dict[str, int] = {}  # column letters → number
        self.parser = _expat(self._start)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        # A million cells pass here: plain comparisons, and column letters looked up once.
        tag = self._tags.get(name) or self._tags.setdefault(name, _local(name))
        if tag == "c":
            ref = attributes.get("r", "")
            letters = ref.rstrip("0123456789")
            column = self._letters.get(letters)
            if column and len(letters) < len(ref) < len(letters) + 8:  # "AB12": the usual
                self._column = column
                self._row = int(ref[len(letters) :])
            else:
                self._cell_ref(ref)
            self._shared_cell = attributes.get("t") == "s"
        elif tag == "row":
            r = attributes.get("r", "")
            self._row_element = int(r) if r.isdigit() else self._row_element + 1
            self._column = 0
        elif (tag == "v" or tag == "is") and self._value is None:  # the cell has a value
            if self._row > self.rows or self._column > self.columns:
                self.rows = max(self.rows, self._row)
                self.columns = max(self.columns, self._column)
                if self.rows * self.columns > MAX_CELLS:
                    raise self._refusal("ingest_too_many_cells")
            self._value = (name, [])
            self.parser.CharacterDataHandler = self._value[1].append
            self.parser.EndElementHandler = self._end

    def _cell_ref(self, ref: str) -> None:
        """A cell reference the fast path did not know: parsed in full, or none at all."""
        match = _CELL_REF.match(ref)
        if match:
            letters = match.group(1)
            self._column = self._letters.setdefault(letters, _column_number(letters))
            self._row = int(match.group(2))
        else:
            self._column += 1
            self._row = self._row_element

    def _end(self, name: str) -> None:
        if self._value is None or name != self._value[0]:
            return  # the end of an element inside <is> (a run, its text)
        text = "".join(self._value[1])
        self._value = None
        self.parser.CharacterDataHandler = None
        self.parser.EndElementHandler = None
        if self._shared_cell and self._tags[name] == "v":
            index = text.strip()
            if index.isdigit() and int(index) < len(self.shared):
                self._count(self.shared[int(index)])
        else:
            self._count(len(text))

    def _count(self, chars: int) -> None:
        self.text += chars
        if self.text > MAX_TEXT_CHARS:
            raise self._refusal("ingest_too_much_text")

    def _refusal(self, key: str) -> WorkbookRefused:
        return WorkbookRefused(
            key,
            sheet=self.name,
            rows=f"{self.rows:,}",
            columns=f"{self.columns:,}",
            cells=f"{self.rows * self.columns:,}",
            limit=f"{MAX_CELLS:,}",
            chars=f"> {MAX_TEXT_CHARS:,}",
            limit_chars=f"{MAX_TEXT_CHARS:,}",
        )


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


class _OdsContent:
    """An ODS content.xml: each table's extent of cells holding a value and their text, with
    rows and cells repeated as their attributes say (a value repeated over a million rows
    is a million rows to calamine)."""

    def __init__(self) -> None:
        self.name = ""
        self.rows = self.columns = self.text = 0
        self._row = self._column = 0  # rows and columns before the current one
        self._row_repeat = self._cell_repeat = 1
        self._cell: list[int] | None = None  # the open cell's characters, and whether valued
        self._depth = 0  # elements open inside the cell
        self.parser = _expat(self._start)
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._chars

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        if self._cell is not None:
            self._depth += 1
            return
        tag = _local(name)
        if tag == "table":
            self.name = next((v for k, v in attributes.items() if _local(k) == "name"), "")
            self.rows = self.columns = self.text = self._row = 0
        elif tag == "table-row":
            self._row_repeat = _repeat_any(attributes, "number-rows-repeated")
            self._column = 0
        elif tag in ("table-cell", "covered-table-cell"):
            self._cell_repeat = _repeat_any(attributes, "number-columns-repeated")
            valued = any(_local(k) == "value-type" for k in attributes)
            self._cell = [0, int(valued)]
            self._depth = 0

    def _chars(self, text: str) -> None:
        if self._cell is not None:
            self._cell[0] += len(text)

    def _end(self, name: str) -> None:
        if self._cell is not None and self._depth:
            self._depth -= 1
            return
        tag = _local(name)
        if self._cell is not None:  # the cell's own end
            chars, valued = self._cell
            self._cell = None
            first = self._column + 1
            self._column += self._cell_repeat
            if valued or chars:
                self.rows = max(self.rows, self._row + self._row_repeat)
                self.columns = max(self.columns, first + self._cell_repeat - 1)
                check_extent(self.name, self.rows, self.columns)
                self.text += chars * self._cell_repeat * self._row_repeat
                if self.text > MAX_TEXT_CHARS:
                    raise WorkbookRefused(
                        "ingest_too_much_text",
                        sheet=self.name,
                        chars=f"> {MAX_TEXT_CHARS:,}",
                        limit_chars=f"{MAX_TEXT_CHARS:,}",
                    )
        elif tag == "table-row":
            self._row += self._row_repeat


def _repeat_any(attributes: dict[str, str], local: str) -> int:
    """A repeat attribute, whatever prefix the document gave its namespace."""
    for key, value in attributes.items():
        if _local(key) == local:
            return int(value) if value.isdigit() else 1
    return 1
