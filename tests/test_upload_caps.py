"""The caps every workbook passes before anything opens it (metrics/workbook_limits.py).

Found by an adversarial review: a 1.65 MB XLSX whose shared strings inflate to 649 MB took
the server from 408 MB to 2,550 MB through the upload page's sheet list, which opened it
with no cap at all. Each hostile workbook here is built in the test, tiny, and goes through
every path that opens a workbook: the sheet list (the upload page), validation (the page
and the CLI) and `ingest` on the command line. The memory test runs each in a fresh
process and asserts the process grew by at most 300 MB, the issue's target for any upload
within the size limit.
"""

from __future__ import annotations

import collections
import functools
import io
import struct
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
import xlsxwriter

from metrics import access, readers, workbook_limits
from metrics.access import Principal
from metrics.i18n import t
from metrics.store import Store
from tests.test_access import cli

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Principal("admin@qtx.gov.cn", "admin")
MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEADER = "编号 社区编码 网格编码 类型 类别 来源渠道 是否督办 受理日期 办结日期 状态 备注".split()  # noqa: SIM905
MEMORY_LIMIT_MB = 300


def workbook(
    sheet_rows: Iterable[bytes],
    shared: Iterable[bytes] = (),
    *,
    sheet_head: bytes = b"",
) -> bytes:
    """A minimal XLSX that calamine opens: one sheet (rows given as XML), shared strings."""
    content_types = (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
        b'/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        b'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        b'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        b'"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings'
        b'.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
        b'sharedStrings+xml"/></Types>'
    )
    rel = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr(
            "_rels/.rels",
            b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="' + rel + b"/"
            b'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            b'<?xml version="1.0"?><workbook ' + MAIN + b' xmlns:r="' + rel + b'"><sheets>'
            b'<sheet name="\xe5\x8f\xb0\xe8\xb4\xa6" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="' + rel + b'/worksheet"'
            b' Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="' + rel + b"/"
            b'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><worksheet ' + MAIN + b">" + sheet_head)
            member.write(b"<sheetData>")
            for row in sheet_rows:
                member.write(row)
            member.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><sst ' + MAIN + b">")
            for item in shared:
                member.write(item)
            member.write(b"</sst>")
    return out.getvalue()


@functools.cache
def shared_strings_bomb(strings: int = 10_000_000) -> bytes:
    """The review's bomb, smaller: 10 million one-letter shared strings, 160 MB inflated in a
    zip of about 400 kB (calamine alone took some 600 MB for it)."""
    chunk = b"<si><t>x</t></si>" * 10_000
    header = b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    return workbook([header], (chunk for _ in range(strings // 10_000)))


def far_cell() -> bytes:
    """One value in the sheet's last cell: 1,048,576 rows × 16,384 columns to lay out."""
    return workbook([b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'])


def long_text_used_everywhere() -> bytes:
    """20,000 cells using one 30,000-character shared string: 600 million characters."""
    rows = (b"<row>" + b'<c t="s"><v>0</v></c>' * 10 + b"</row>" for _ in range(2_000))
    return workbook(rows, [b"<si><t>" + b"y" * 30_000 + b"</t></si>"])


def styles_bomb(formats: int = 2_000_000) -> bytes:
    """Two million number formats in styles.xml, 100 MB inflated in a 10 MB file: calamine
    reads them all to open the workbook (+336 MB for this one)."""
    styles = (
        b'<?xml version="1.0"?><styleSheet ' + MAIN + b"><numFmts>"
        + b"".join(b'<numFmt numFmtId="%d" formatCode="0.%d"/>' % (200 + i, i) for i in range(formats))  # noqa: E501
        + b'</numFmts><cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>'
    )  # fmt: skip
    source = zipfile.ZipFile(io.BytesIO(workbook([b'<row r="1"><c r="A1"><v>7</v></c></row>'])))
    out = io.BytesIO()
    relationship = (
        b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/styles" Target="styles.xml"/></Relationships>'
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", relationship)
            target.writestr(info.filename, content)
        target.writestr("xl/styles.xml", styles)
    return out.getvalue()


def message(key: str) -> str:
    return t(key, "zh").split("{", 1)[0]


# -- each cap, through the reader -------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "key"),
    [
        (shared_strings_bomb, "ingest_too_many_strings"),
        (far_cell, "ingest_too_many_cells"),
        (long_text_used_everywhere, "ingest_too_much_text"),
    ],
)
def test_a_hostile_workbook_is_refused_before_it_is_opened(
    make: Callable[[], bytes], key: str
) -> None:
    data = make()
    assert len(data) < 2 * 1024 * 1024
    assert readers.sheet_names(data) == []  # the upload page's sheet list
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(data, "台账.xlsx")
    assert refused.value.key == key
    text = t(key, "zh", **refused.value.params)
    assert "已拒绝" in text and "{" not in text


def test_cells_without_a_reference_are_laid_out_as_calamine_does() -> None:
    # A cell without `r` goes in its <row>'s row, one column after the cell before; a <row>
    # without `r` comes after the <row> before. So the second <row> here is row 1,000,001
    # (not row 2, after the cell A1), and its one cell makes the sheet 1,000,001 × 1 cells,
    # over the cap of 1,000,000 (calamine would lay out all of them).
    data = workbook(
        [b'<row r="1000000"><c r="A1"><v>1</v></c></row>', b"<row><c><v>1</v></c></row>"]
    )
    with pytest.raises(workbook_limits.WorkbookRefused) as refused:
        workbook_limits.check_workbook(data)
    assert refused.value.key == "ingest_too_many_cells"
    assert (refused.value.params["rows"], refused.value.params["columns"]) == ("1,000,001", "1")
    # One row fewer, and the same cells pass.
    workbook_limits.check_workbook(
        workbook([b'<row r="999999"><c r="A1"><v>1</v></c></row>', b"<row><c><v>1</v></c></row>"])
    )


@pytest.mark.parametrize(
    "cell",
    [
        b'<c x=">" r="XFD1048576"><v>1</v></c>',  # a quoted ">" before the reference
        b"<c r='XFD1048576'><v>1</v></c>",  # single quotes
        b'<c r = "XFD1048576" ><v>1</v></c>',
        b'<c r="XFD1048576"><is><t>x</t></is></c>',  # an inline string is a value too
    ],
)
def test_the_scan_reads_attributes_as_xml_does(cell: bytes) -> None:
    data = workbook([b'<row r="1048576">' + cell + b"</row>"])
    with pytest.raises(workbook_limits.WorkbookRefused) as refused:
        workbook_limits.check_workbook(data)
    assert refused.value.key == "ingest_too_many_cells"


def test_a_namespace_prefix_changes_nothing() -> None:
    main = MAIN.replace(b"xmlns=", b"xmlns:x=")
    sheet = (
        b'<?xml version="1.0"?><x:worksheet ' + main + b"><x:sheetData>"
        b'<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'
        b"</x:sheetData></x:worksheet>"
    )
    data = replace_member(workbook([]), "xl/worksheets/sheet1.xml", sheet)
    with pytest.raises(workbook_limits.WorkbookRefused):
        workbook_limits.check_workbook(data)


@pytest.mark.parametrize(
    ("member", "target"),
    [("xl/data/x.xml", "data/x.xml"), ("xl/../x.xml", "../x.xml"), ("x.xml", "/x.xml")],
)
def test_a_sheet_is_found_wherever_the_workbook_says_it_is(member: str, target: str) -> None:
    # calamine reads a sheet from whatever member the relationship names; so does the scan.
    far = workbook([b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'])
    source = zipfile.ZipFile(io.BytesIO(far))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as moved:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"worksheets/sheet1.xml", target.encode())
            moved.writestr(
                member if info.filename == "xl/worksheets/sheet1.xml" else info.filename, data
            )
    with pytest.raises(workbook_limits.WorkbookRefused) as refused:
        workbook_limits.check_workbook(out.getvalue())
    assert refused.value.key == "ingest_too_many_cells" and refused.value.params["sheet"] == "台账"


def test_empty_styled_cells_far_away_take_no_room() -> None:
    # Formatting down to the last row is common in templates: calamine lays out values only.
    data = workbook(
        [
            b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>',
            b'<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>',
            b'<row r="1048576"><c r="XFD1048576" s="1"/></row>',
        ],
        [
            b"<si><t>\xe7\xbc\x96\xe5\x8f\xb7</t></si>",
            b"<si><t>b</t></si>",
            b"<si><t>1</t></si>",
            b"<si><t>2</t></si>",
        ],
    )
    raw = readers.read_upload(data, "a.xlsx")
    assert raw.headers == ["编号", "b"] and raw.cells.to_pylist() == [{"c0": "1", "c1": "2"}]
    assert readers.sheet_names(data) == ["台账"]


def test_the_parts_calamine_reads_to_open_a_workbook_are_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The mechanism, with small caps: the real ones are 16 MB of styles and 16 million
    # characters of shared text (the memory test below has the real styles bomb).
    monkeypatch.setattr(workbook_limits, "_VERDICTS", collections.OrderedDict())
    monkeypatch.setattr(workbook_limits, "MAX_PART_BYTES", 100_000)
    with pytest.raises(workbook_limits.WorkbookRefused) as refused:
        workbook_limits.check_workbook(styles_bomb(5_000))  # 200 kB of styles
    assert (refused.value.key, refused.value.params["member"]) == (
        "ingest_part_too_large",
        "xl/styles.xml",
    )
    monkeypatch.setattr(workbook_limits, "MAX_SHARED_CHARS", 100_000)
    text = (b"<si><t>%d</t></si>" % i for i in range(100_000, 130_000))  # 180,000 characters
    with pytest.raises(workbook_limits.WorkbookRefused) as refused:
        workbook_limits.check_workbook(workbook([], text))
    assert refused.value.key == "ingest_too_much_shared_text"


def test_a_document_type_declaration_is_refused_as_damage() -> None:
    # The billion laughs: entities that expand to gigabytes. No real workbook has a DTD.
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<sst " + MAIN + b"><si><t>&b;</t></si></sst>"
    )
    data = replace_member(workbook([]), "xl/sharedStrings.xml", laughs)
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(data, "a.xlsx")
    assert refused.value.key == "ingest_xlsx_damaged"


def test_a_size_that_lies_is_refused() -> None:
    # The zip says the sheet inflates to 100 bytes; it inflates to more. Nothing trusts it.
    sheet = b'<?xml version="1.0"?><worksheet ' + MAIN + b"><sheetData>" + b"<row/>" * 50
    data = bytearray(
        replace_member(
            workbook([]), "xl/worksheets/sheet1.xml", sheet + b"</sheetData></worksheet>"
        )
    )
    patched = 0
    for at in find_all(bytes(data), b"xl/worksheets/sheet1.xml"):
        if data[at - 46 : at - 42] == b"PK\x01\x02":  # central directory: the size at +24
            struct.pack_into("<I", data, at - 46 + 24, 100)
            patched += 1
        elif data[at - 30 : at - 26] == b"PK\x03\x04":  # local header: the size at +22
            struct.pack_into("<I", data, at - 30 + 22, 100)
            patched += 1
    assert patched == 2
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(bytes(data), "a.xlsx")
    assert refused.value.key == "ingest_zip_lies"


def test_a_member_compressed_beyond_a_hundred_times_is_a_bomb() -> None:
    rows = (b"<row/>" for _ in range(400_000))  # 2.4 MB of one repeated tag
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(workbook(rows), "a.xlsx")
    assert refused.value.key == "ingest_zip_bomb"
    assert refused.value.params["member"] == "xl/worksheets/sheet1.xml"


def test_a_real_ledger_passes_the_caps() -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, HEADER)
    for r in range(1, 2001):
        sheet.write_row(r, 0, [f"N{r:05d}", "QTX01", "QTX01-G01", "矛盾纠纷", "邻里纠纷"])
    sheet.write(5000, 20, "", book.add_format({"bold": True}))  # formatting far away
    book.close()
    workbook_limits.check_workbook(buffer.getvalue())  # no exception
    raw = readers.read_upload(buffer.getvalue(), "a.xlsx")
    assert raw.cells.num_rows == 2000


# -- every path that opens a workbook ---------------------------------------------------------
def test_the_upload_page_and_the_cli_refuse_a_bomb_in_chinese(store: Store, tmp_path: Path) -> None:
    bomb = shared_strings_bomb()
    assert access.upload_sheets(bomb, ADMIN) == []
    validation = access.validate_upload(store, bomb, "台账.xlsx", "cases", "QTX01", ADMIN)
    assert [p.key for p in validation.problems] == ["ingest_too_many_strings"]
    assert validation.raw is None and not validation.ok
    path = tmp_path / "台账.xlsx"
    path.write_bytes(bomb)
    done = cli(store, "ingest", str(path), "--dataset", "cases", "--community", "QTX01")
    assert done.returncode == 2, done.stderr
    assert message("ingest_too_many_strings") in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


# -- the memory target --------------------------------------------------------------------------
# The peak is measured from here: Linux resets a process's high-water mark (VmHWM) when
# "5" is written to /proc/self/clear_refs, so imports and reading the file do not count.
PROBE = textwrap.dedent(
    """
    import sys
    from metrics import readers

    def kb(key):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(key))

    data = open(sys.argv[1], "rb").read()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = kb("VmRSS:")
    names = readers.sheet_names(data)
    try:
        readers.read_upload(data, "upload.xlsx")
        outcome = "read"
    except readers.UploadError as refused:
        outcome = refused.key
    print(outcome, len(names), (kb("VmHWM:") - before) // 1024)
    """
)


def grown_mb(data: bytes, tmp_path: Path) -> tuple[str, int]:
    """Sheet list, then reading, in a fresh process: the outcome and its peak growth in MB."""
    path = tmp_path / "upload.xlsx"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]  # a crash is a failure too
    outcome, _sheets, grown = done.stdout.split()
    return outcome, int(grown)


@pytest.mark.slow
def test_no_upload_raises_memory_by_more_than_300_mb(tmp_path: Path) -> None:
    """The four bombs, and an honest workbook at the caps: 90,908 rows × 11 columns
    (999,988 cells) of 7-character Chinese texts drawn from 5,000 shared strings, so
    6,999,916 characters (under 8 million): each at most 300 MB more than before it came
    (216 MB for the last on the machine this was written on)."""
    pool = ["".join(chr(0x4E00 + (i * 7 + k * 131) % 3000) for k in range(7)) for i in range(5000)]
    at_cap = io.BytesIO()
    book = xlsxwriter.Workbook(at_cap)
    sheet = book.add_worksheet("台账")
    sheet.write_row(0, 0, HEADER)
    for r in range(1, 90_909):
        sheet.write_row(r, 0, [pool[(r * 11 + c) % 5000] for c in range(11)])
    book.close()
    for name, data, expected in [
        ("shared strings", shared_strings_bomb(), "ingest_too_many_strings"),
        ("far cell", far_cell(), "ingest_too_many_cells"),
        ("long text", long_text_used_everywhere(), "ingest_too_much_text"),
        ("styles", styles_bomb(), "ingest_part_too_large"),
        ("at the caps", at_cap.getvalue(), "read"),
    ]:
        assert len(data) <= readers.max_upload_bytes(), name
        outcome, grown = grown_mb(data, tmp_path)
        assert outcome == expected, name
        assert grown <= MEMORY_LIMIT_MB, f"{name}: +{grown} MB"


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return out.getvalue()


def find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found
