"""Office files as they come (issue 15): the project's own template saved by LibreOffice as
XLSX, XLS, ODS and GB18030 CSV ingests alike; other types are refused in Chinese; blank rows
shorter than the header are skipped; the template carries drop-downs, date formats,
comments and a frozen header; the preview shows the rows themselves."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from metrics import ingest, readers, templates, workbook_limits
from metrics.__main__ import main
from metrics.i18n import t
from metrics.store import Store
from tests.conftest import fixture_store
from tests.test_pages import data_dir  # noqa: F401  (a fixture)

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="libreoffice-calc not installed")
# case_id, grid, type, category, channel, supervised, reported, resolved, status, note.
# C07 is in the fixture store (tests/fixtures/cases.csv) with an empty note: changed.
ROWS = [
    line.split(",")
    for line in (
        "C07,QTX01-G01,矛盾纠纷,停车纠纷,板凳会,否,2025-11-02,2025-11-04,已化解,补记调解结果",
        "C20,QTX01-G02,急难愁盼,路灯维修,网格走访,是,2025-11-12,,办理中,",
        "C21,QTX01-G03,矛盾纠纷,物业纠纷,协商月,否,2025-11-15,2025-11-20,已化解,",
    )
]


def convert(source: Path, target: str, out: Path) -> Path:
    """`source` saved by LibreOffice as `target` (a format or a filter spec) into `out`,
    with a profile of its own so parallel runs do not share one."""
    out.mkdir(parents=True, exist_ok=True)
    profile = out / "profile"
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    ext = target.split(":")[0]
    return out / f"{source.stem}.{ext}"


def filled_template(path: Path) -> Path:
    """The cases template for QTX01, its example row replaced by ROWS (dates as dates)."""
    data = templates.template("cases", "xlsx", "zh", community_id="QTX01", grid_id="QTX01-G01")
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.worksheets[0]
    ws.delete_rows(2)
    for r, row in enumerate(ROWS, start=2):
        case_id, grid, *rest = row
        values = [case_id, "QTX01", grid, *rest]
        for c, value in enumerate(values, start=1):
            cell = ws.cell(r, c)
            if c in (8, 9) and value:
                cell.value = dt.date.fromisoformat(value)
                cell.number_format = "yyyy-mm-dd"
            else:
                cell.value = value or None
    book.save(path)
    return path


@needs_soffice
@pytest.mark.slow
def test_the_template_saved_by_libreoffice_ingests_alike_in_every_format(tmp_path: Path) -> None:
    source = filled_template(tmp_path / "cases.xlsx")
    files = {
        "xlsx": convert(source, "xlsx", tmp_path / "lo-xlsx"),
        "xls": convert(source, "xls", tmp_path / "lo-xls"),
        "ods": convert(source, "ods", tmp_path / "lo-ods"),
        # 44 = comma, 34 = double quote, 85 = GB18030 (LibreOffice's RTL_TEXTENCODING_GB_18030;
        # the name "GB18030" is not understood and gives UTF-8): a Chinese office's CSV.
        "csv": convert(source, "csv:Text - txt - csv (StarCalc):44,34,85", tmp_path / "lo-csv"),
    }
    assert files["csv"].read_bytes().decode("gb18030").startswith("编号,社区编码")
    results = {}
    for fmt, path in files.items():
        store = fixture_store(tmp_path / f"store-{fmt}")
        data = path.read_bytes()
        validation = ingest.validate(data, path.name, "cases", "QTX01", store)
        assert validation.ok, (fmt, [p.message("zh") for p in validation.problems])
        assert validation.file_format == fmt
        # Hand count: C07 exists (its note changes), C20 and C21 are new.
        diff = ingest.preview(store, validation)
        assert diff.counts() == {"new": 2, "changed": 1, "unchanged": 0, "deleted": 0}, fmt
        assert diff.changed.column("changed_fields").to_pylist() == [["note"]], fmt
        ingest.commit(store, validation, user="test")
        con = store.connect()
        rows = con.execute(
            "SELECT case_id, grid_id, channel, is_supervised, reported_on, resolved_on, status,"
            " note FROM cases WHERE case_id IN ('C07', 'C20', 'C21') ORDER BY case_id"
        ).fetchall()
        con.close()
        results[fmt] = rows
    day = [dt.date(2025, 11, d) for d in (2, 4, 12, 15, 20)]
    assert results["xlsx"] == [
        ("C07", "QTX01-G01", "板凳会", False, day[0], day[1], "已化解", "补记调解结果"),
        ("C20", "QTX01-G02", "网格走访", True, day[2], None, "办理中", None),
        ("C21", "QTX01-G03", "协商月", False, day[3], day[4], "已化解", None),
    ]
    assert results["xls"] == results["ods"] == results["csv"] == results["xlsx"]


@needs_soffice
def test_xls_and_ods_are_read_and_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,c\n1,x,2026-01-05\n2,y,2026-02-01\n", encoding="utf-8")
    xls = convert(csv, "xls", tmp_path / "xls").read_bytes()
    raw = readers.read_upload(xls, "t.xls")
    assert (raw.format, raw.headers, raw.row_numbers.to_pylist()) == (
        "xls",
        ["a", "b", "c"],
        [2, 3],
    )
    assert raw.cells.column(2).to_pylist() == ["2026-01-05", "2026-02-01"]
    assert readers.sheet_names(xls) == ["t"]
    # The sheet spans 3 rows × 3 columns = 9 cells: over a cap of 8, refused before reading.
    monkeypatch.setattr(workbook_limits, "MAX_CELLS", 8)
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(xls, "t.xls")
    assert refused.value.key == "ingest_too_many_cells" and refused.value.params["cells"] == "9"


def ods(content: str) -> bytes:
    """A minimal ODS: the stored mimetype first, then content.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
    return out.getvalue()


ODS_CONTENT = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
    '<office:spreadsheet><table:table table:name="S">{rows}</table:table>'
    "</office:spreadsheet></office:body></office:document-content>"
)


def test_an_ods_is_measured_with_its_repeats_before_it_is_opened() -> None:
    cell = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'
    # One value repeated over 600,000 rows and 2 columns: 1,200,000 cells > 1,000,000.
    wide = cell.replace(
        "<table:table-cell ", '<table:table-cell table:number-columns-repeated="2" '
    )
    bomb = f'<table:table-row table:number-rows-repeated="600000">{wide}</table:table-row>'
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(ods(ODS_CONTENT.format(rows=bomb)), "bomb.ods")
    assert refused.value.key == "ingest_too_many_cells"
    assert refused.value.params["rows"] == "600,000" and refused.value.params["columns"] == "2"
    # Empty rows repeated to the sheet's end (as LibreOffice writes them) cost nothing.
    tail = (
        '<table:table-row table:number-rows-repeated="1048570">'
        "<table:table-cell/></table:table-row>"
    )
    small = f"<table:table-row>{cell}{cell}</table:table-row>" * 2 + tail
    workbook_limits.check_workbook(ods(ODS_CONTENT.format(rows=small)))


def test_other_types_are_refused_in_chinese_naming_the_accepted_ones(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("台账.doc", "台账.pdf"):
        with pytest.raises(readers.UploadError) as refused:
            readers.read_upload(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 whatever", name)
        message = t(refused.value.key, "zh", **refused.value.params)
        assert message.startswith(f"不支持该文件类型（{name}）")
        assert ".csv、.xlsx、.xls、.ods" in message
    path = tmp_path / "台账.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 a Word file")
    args = ["--data-dir", str(store.root), "ingest", str(path), "--dataset", "cases"]
    assert main([*args, "--community", "QTX01"]) == 2
    assert "不支持该文件类型（台账.doc）" in capsys.readouterr().err


HEADER = "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"


def test_blank_rows_shorter_than_the_header_are_skipped() -> None:
    body = (
        HEADER
        + "C20,QTX01,QTX01-G02,急难愁盼,路灯维修,网格走访,是,2025-11-12,,办理中,\n"  # row 2
        + ",,,\n"  # row 3: a blank row of 4 fields, as some programs save one
        + "\n"  # row 4: an empty line
        + ", , ,,,,\n"  # row 5: spaces only
        + "C21,QTX01,QTX01-G03,矛盾纠纷,物业纠纷,协商月,否,2025-11-15,2025-11-20,已化解,\n"  # 6
        + ",,,,,,,,,,,,,\n"  # row 7: longer than the header, blank
    )
    raw = readers.read_upload(body.encode("utf-8"), "t.csv")
    assert raw.cells.column(0).to_pylist() == ["C20", "C21"]
    assert raw.row_numbers.to_pylist() == [2, 6]  # as Excel numbers them


def test_a_short_row_is_named_by_its_excel_row() -> None:
    body = (
        HEADER
        + ",,,\n"  # row 2: blank, skipped
        + "C20,QTX01,QTX01-G02,急难愁盼\n"  # row 3: 4 fields
        + "C21,QTX01,QTX01-G03,矛盾纠纷,物业纠纷,协商月,否,2025-11-15,2025-11-20,已化解,\n"
        + '"C22\n续",QTX01\n'  # row 5 (a line break inside quotes stays in its row): 2 fields
    )
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(body.encode("utf-8"), "t.csv")
    message = t(refused.value.key, "zh", **refused.value.params)
    assert message.startswith("第 3 行有 4 列，表头有 11 列（共 2 行列数不符：第 3、5 行）")


def test_the_template_has_lists_date_formats_comments_and_a_frozen_header() -> None:
    data = templates.template("cases", "xlsx", "zh", community_id="QTX01", grid_id="QTX01-G01")
    ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.freeze_panes == "A2"
    lists = {str(v.sqref): v.formula1 for v in ws.data_validations.dataValidation}
    # 类型 D, 来源渠道 F, 是否督办 G, 状态 J: the columns with allowed values (and yes/no).
    assert lists == {
        "D2:D1001": '"矛盾纠纷,急难愁盼"',
        "F2:F1001": '"板凳会,红色议事园,敲门队,网格走访,协商月,民情督办单,其他"',
        "G2:G1001": '"是,否"',
        "J2:J1001": '"办理中,已化解,未化解"',
    }
    assert ws["H2"].value == dt.datetime(2025, 10, 8) and ws["H2"].number_format == "yyyy-mm-dd"
    assert ws["I2"].number_format == "yyyy-mm-dd"
    comments = {cell.column_letter: cell.comment.text for cell in ws[1]}
    assert set(comments) == set("ABCDEFGHIJK")
    assert "可选值：矛盾纠纷、急难愁盼" in comments["D"]
    assert "格式：日期" in comments["I"] and "受理日期" in comments["I"]  # not before it


def preview_store(tmp_path: Path) -> tuple[Store, ingest.Validation]:
    """QTX01 sends 25 new cases (N01..N25) and changes 3 stored ones (C03, C06, C07)."""
    store = fixture_store(tmp_path / "data")
    changed = (
        "C03,QTX01,QTX01-G01,矛盾纠纷,噪音扰民,协商月,否,2025-09-03,2025-09-08,已化解,回访满意\n"
        "C06,QTX01,QTX01-G02,急难愁盼,养老服务,板凳会,否,2025-10-10,2025-10-14,已化解,\n"
        "C07,QTX01,QTX01-G01,矛盾纠纷,停车纠纷,板凳会,否,2025-11-02,2025-11-05,已化解,\n"
    )
    new = "".join(
        f"N{i:02d},QTX01,QTX01-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-{i:02d},,办理中,\n"
        for i in range(1, 26)
    )
    data = (HEADER + changed + new).encode("utf-8")
    return store, ingest.validate(data, "11月.csv", "cases", "QTX01", store)


def test_the_preview_has_the_first_20_new_rows_and_the_changes_marked(tmp_path: Path) -> None:
    store, validation = preview_store(tmp_path)
    diff = ingest.preview(store, validation)
    assert diff.counts()["new"] == 25 and diff.counts()["changed"] == 3
    assert diff.new_rows is not None
    assert diff.new_rows.column("case_id").to_pylist() == [f"N{i:02d}" for i in range(1, 21)]
    marked = diff.marked_changes()
    assert list(marked["case_id"]) == ["C03", "C06", "C07"]
    assert marked.loc[0, "note"] == "— → 回访满意"  # empty before
    assert marked.loc[1, "channel"] == "敲门队 → 板凳会"
    assert marked.loc[2, "resolved_on"] == "2025-11-04 → 2025-11-05"
    assert marked.loc[2, "channel"] == "板凳会"  # unchanged cells as they are


def run_upload(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("pages/upload.py")
    at.query_params["lang"] = "zh"
    at.run()
    at.file_uploader[0].set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("data_dir")  # the fixture store, in local mode
def test_the_upload_page_refuses_a_word_file_in_chinese() -> None:
    at = run_upload("台账.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 a Word file")
    errors = [e.value for e in at.error]
    assert any(e.startswith("不支持该文件类型（台账.doc）") and ".xls、.ods" in e for e in errors)


@pytest.mark.usefixtures("data_dir")  # the fixture store, in local mode
def test_the_upload_page_shows_the_new_and_changed_rows() -> None:
    changed = "C07,QTX01,QTX01-G01,矛盾纠纷,停车纠纷,板凳会,否,2025-11-02,2025-11-05,已化解,\n"
    new = "".join(
        f"N{i:02d},QTX01,QTX01-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-11-{i:02d},,办理中,\n"
        for i in range(1, 26)
    )
    at = run_upload("11月.csv", (HEADER + changed + new).encode("utf-8"))
    frames = [d.value for d in at.dataframe]
    shown_new = next(f for f in frames if "编号" in f and list(f["编号"])[:1] == ["N01"])
    assert list(shown_new["编号"]) == [f"N{i:02d}" for i in range(1, 21)]
    shown_changed = next(f for f in frames if "变动字段" in f)
    assert list(shown_changed["编号"]) == ["C07"]
    assert shown_changed["办结日期"][0] == "2025-11-04 → 2025-11-05"
    assert shown_changed["变动字段"][0] == "办结日期"


def test_a_changed_yes_no_cell_reads_as_a_change_not_a_mixed_column(tmp_path: Path) -> None:
    store = fixture_store(tmp_path / "data")
    # C07 is stored not supervised (false); now 是: one change, in 是否督办.
    body = (
        HEADER + "C07,QTX01,QTX01-G01,矛盾纠纷,停车纠纷,板凳会,是,2025-11-02,2025-11-04,已化解,\n"
    )
    validation = ingest.validate(body.encode("utf-8"), "t.csv", "cases", "QTX01", store)
    marked = ingest.preview(store, validation).marked_changes()
    assert marked.loc[0, "is_supervised"] == "✗ → ✓"
