"""Uploads: reading what offices send, every problem reported, commits that are safe to repeat.

The `store` fixture (tests/conftest.py) holds tests/fixtures/*.csv: QTX01 has grids G01–G03
and cases C01–C07, QTX02 has grids G01–G02 and cases C08–C12.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter
from ingest_helpers import CASE_HEADERS, TODAY, case_row, csv_bytes, snapshot

from metrics import export, ingest, readers, templates
from metrics.__main__ import main
from metrics.i18n import t
from metrics.periods import Period
from metrics.readers import read_upload
from metrics.schemas import DATASETS
from metrics.store import Store

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"  # copied from ../shared
SPECTRUM = CORPORA / "csv-spectrum"
# The corpus's JSON disagrees with its own CSV here; the CSV is what is uploaded.
ERRATA = {"location_coordinates.csv": {"Contact Phone Number": "2095257564"}}


def check(
    store: Store,
    data: bytes,
    name: str = "upload.csv",
    *,
    dataset: str = "cases",
    community: str = "QTX01",
    **kw: Any,
) -> ingest.Validation:
    kw.setdefault("today", TODAY)
    return ingest.validate(data, name, dataset, community, store, **kw)


def where(v: ingest.Validation) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.key) for p in v.problems]


def notes(store: Store, prefix: str) -> list[str | None]:
    con = store.connect()
    rows = con.execute(
        "SELECT note FROM cases WHERE case_id LIKE $p ORDER BY case_id", {"p": prefix + "%"}
    ).fetchall()
    return [r[0] for r in rows]


def xlsx_bytes(
    rows: Sequence[Sequence[object]], headers: Sequence[str] = CASE_HEADERS, **opts: object
) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet(str(opts.get("sheet", "台账")))
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    offset = 0
    if opts.get("title"):
        sheet.merge_range(0, 0, 0, len(headers) - 1, "北苑社区矛盾纠纷台账")
        offset = 1
    if opts.get("merged_header"):
        sheet.merge_range(0, 0, 0, 1, headers[0])  # 编号 spread over A1:B1
        sheet.write_row(0, 2, headers[2:])
    else:
        sheet.write_row(offset, 0, headers)
    for r, row in enumerate(rows, start=offset + 1):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            else:
                sheet.write(r, c, value)
    if opts.get("second_sheet"):
        book.add_worksheet("说明").write(0, 0, "not data")
    book.close()
    return buffer.getvalue()


# -- encodings ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("gbk", b"", "gb18030"),
    ],
)
def test_chinese_encodings_are_read(
    store: Store, encoding: str, prefix: bytes, expected: str
) -> None:
    data = prefix + csv_bytes([case_row("N1", note="网格员上门走访调解")], encoding=encoding)
    v = check(store, data)
    assert v.ok, v.problems
    assert v.raw is not None and v.raw.encoding == expected
    assert v.rows is not None and v.rows.column("note").to_pylist() == ["网格员上门走访调解"]


def test_latin1_is_refused_not_guessed(store: Store) -> None:
    data = 'case_id,note\r\nN1,Zoë,"café crème"\r\n'.encode("latin-1")
    v = check(store, data)
    assert where(v) == [(None, None, "ingest_bad_encoding")]
    assert "GB18030" in v.problems[0].zh and "UTF-8" in v.problems[0].en


def test_utf16_is_refused(store: Store) -> None:
    v = check(store, csv_bytes([case_row("N1")], encoding="utf-16"))
    assert where(v) == [(None, None, "ingest_bad_encoding")]


def test_cp949_reads_as_gb18030_and_is_refused_by_its_headers(store: Store) -> None:
    # Korean cp949 bytes are also valid GB18030, so the bytes alone cannot tell; the headers
    # then match nothing, every required column is named, and the message says how it was read.
    data = "번호,지역\nN1,서울\n".encode("cp949")
    v = check(store, data)
    assert not v.ok
    keys = [p.key for p in v.problems]
    assert keys.count("ingest_missing_column") == 10 and "ingest_read_as_gb18030" in keys


# -- headers ---------------------------------------------------------------------------------
def test_headers_in_english_aliases_fullwidth_spaces_and_case(store: Store) -> None:
    headers = [
        " CASE_ID ",
        "社区代码",
        "ＧＲＩＤ＿ＩＤ",
        "事项类型",
        "category",
        "渠道",
        "是否督办",
        "受理日期",
        "办结日期",
        "Status",
        "备注",
        "联系人",
    ]
    v = check(store, csv_bytes([[*case_row("N1"), "张三"]], headers=headers))
    assert v.ok, v.problems
    assert v.unknown_columns == ["联系人"]


def test_missing_required_columns_are_named(store: Store) -> None:
    headers = [h for h in CASE_HEADERS if h not in ("状态", "受理日期")]
    row = [c for c, h in zip(case_row("N1"), CASE_HEADERS, strict=True) if h in headers]
    v = check(store, csv_bytes([row], headers=headers))
    missing = [p for p in v.problems if p.key == "ingest_missing_column"]
    assert [p.column for p in missing] == ["受理日期", "状态"]
    assert "reported_on" in missing[0].en


# -- values -----------------------------------------------------------------------------------
def test_date_and_bool_spellings(store: Store) -> None:
    rows = [
        case_row("D1", reported_on="2025-10-01", is_supervised="是"),
        case_row("D2", reported_on="2025/10/1", is_supervised="Y"),
        case_row("D3", reported_on="2025年10月1日", is_supervised="1"),
        case_row("D4", reported_on="20251001", is_supervised="true"),
        case_row("D5", reported_on="45931", is_supervised="否"),
        case_row("D6", reported_on="２０２５－１０－０１", is_supervised="n"),
        case_row("D7", reported_on=" 2025.10.01 ", is_supervised="FALSE"),
        case_row("D8", reported_on="2025-10-01 09:30:00", is_supervised="0"),
    ]
    v = check(store, csv_bytes(rows))
    assert v.ok, v.problems
    assert v.rows is not None
    assert set(v.rows.column("reported_on").to_pylist()) == {dt.date(2025, 10, 1)}
    assert v.rows.column("is_supervised").to_pylist() == [True] * 4 + [False] * 4


def test_implausible_dates_are_refused(store: Store) -> None:
    rows = [
        case_row("E1", reported_on="2026"),  # a year, not Excel's 1905-07-18
        case_row("E2", reported_on="1102"),  # not 1903-01-06
        case_row("E3", reported_on="1900-01-01"),
        case_row("E4", reported_on="0001-01-01"),
        case_row("E5", reported_on="36525", resolved_on=""),  # the serial of 1999-12-31
        case_row("E6", reported_on="36526", resolved_on="2000-01-02"),  # 2000-01-01: fine
    ]
    v = check(store, csv_bytes(rows))
    assert where(v) == [
        (2, "受理日期", "ingest_bad_date"),
        (3, "受理日期", "ingest_bad_date"),
        (4, "受理日期", "ingest_date_too_early"),
        (5, "受理日期", "ingest_date_too_early"),
        (6, "受理日期", "ingest_bad_date"),
        (6, "办结日期", "ingest_status_needs"),
    ]
    assert v.problems[2].zh == "日期早于 2000-01-01，请检查是否填错。"
    assert v.rows is not None and v.rows.column("reported_on")[5].as_py() == dt.date(2000, 1, 1)
    emp = [f.zh for f in DATASETS["employment"].fields]
    early = [["QTX01", "1999-12", "1", "2", "3", "0", "1"]]
    assert where(check(store, csv_bytes(early, headers=emp), dataset="employment")) == [
        (2, "月份", "ingest_date_too_early")
    ]


def test_months_and_quarters(store: Store) -> None:
    emp = [f.zh for f in DATASETS["employment"].fields]
    months = ["2025-10", "2025年9月", "202508", "2025/07", "2025-06-01", "２０２５－０５"]
    rows = [["QTX01", m, "１", "2", "3", "0", "1"] for m in months]
    v = check(store, csv_bytes(rows, headers=emp), dataset="employment")
    assert v.ok, v.problems
    assert v.rows is not None
    assert v.rows.column("month").to_pylist() == [dt.date(2025, m, 1) for m in (10, 9, 8, 7, 6, 5)]
    assert v.rows.column("seekers_registered").to_pylist() == [1] * 6

    prop = [f.zh for f in DATASETS["property_ratings"].fields]
    quarters = ["2025Q3", "2025年第2季度", "2025q1", "2024年第四季度"]
    rows = [
        [q, "QTX01", f"苑{i}", "宁安物业", 90, 90, 90, 90, 90, 90, 5, "无"]
        for i, q in enumerate(quarters)
    ]
    v = check(store, csv_bytes(rows, headers=prop), dataset="property_ratings")
    assert v.ok, v.problems
    assert v.rows is not None
    assert v.rows.column("quarter").to_pylist() == ["2025Q3", "2025Q2", "2025Q1", "2024Q4"]


def test_every_kind_of_problem_at_once(store: Store) -> None:
    rows = [
        case_row("N1"),  # row 2: fine
        case_row("N2", reported_on="2025-02-30", is_supervised="也许"),  # row 3
        case_row("N3", channel="微信群"),  # row 4
        case_row("N4", reported_on="2026-01-05", resolved_on=""),  # row 5: future, needs date
        case_row("N5", reported_on="2025-10-08", resolved_on="2025-10-01"),  # row 6: order
        case_row("N6", status="办理中"),  # row 7: in progress with a resolved date
        case_row("N1"),  # row 8: duplicate of row 2
        case_row("N7", community="QTX02", grid="QTX02-G01"),  # row 9: another community
        case_row("N8", grid="QTX02-G01"),  # row 10: grid of another community
        case_row("C08"),  # row 11: id already used by QTX02
        case_row("bad id!"),  # row 12
    ]
    v = check(store, csv_bytes(rows))
    assert where(v) == [
        (3, "是否督办", "ingest_bad_bool"),
        (3, "受理日期", "ingest_bad_date"),
        (4, "来源渠道", "ingest_not_allowed"),
        (5, "受理日期", "ingest_future_date"),
        (5, "办结日期", "ingest_status_needs"),
        (6, "办结日期", "ingest_date_order"),
        (7, "办结日期", "ingest_status_forbids"),
        (8, "编号", "ingest_duplicate_key"),
        (9, "社区编码", "ingest_other_community"),
        (9, "网格编码", "ingest_foreign_grid"),
        (10, "网格编码", "ingest_foreign_grid"),
        (11, "编号", "ingest_key_elsewhere"),
        (12, "编号", "ingest_bad_code"),
    ]
    dup = v.problems[7]
    assert dup.zh == "与第 2 行重复（编号 相同）。" and dup.value == "N1"
    # Which community holds it is not said: a clerk may not learn of other records.
    assert v.problems[11].en == t("ingest_key_elsewhere", "en")
    assert "QTX02" not in v.problems[11].message("zh")
    assert v.row_count == 11 and v.bad_row_count == 10
    # Row 9's two problems in the annotated file: one after the other, "；" between.
    annotated = ingest.annotated_file(v)[0].decode("utf-8-sig")
    assert "的数据；网格编码：" in annotated and "。；" not in annotated
    assert v.summary() == "共 11 行，发现 13 个问题，涉及 10 行。文件未导入，请修改后重新上传。"


def test_wish_status_rules(store: Store) -> None:
    headers = [f.zh for f in DATASETS["wishes"].fields]
    base = ["QTX01", "QTX01-G01", "困难老人", "生活用品", "2025-10-01"]
    rows = [
        ["X1", *base, "", "", "", "待认领"],
        ["X2", *base, "2025-10-02", "", "", "已认领"],  # claimant missing
        ["X3", *base, "2025-10-02", "党员", "2025-09-30", "已实现"],  # fulfilled before claim
        ["X4", *base, "2025-10-02", "外星人", "", "待认领"],  # unknown claimant, not waiting
    ]
    v = check(store, csv_bytes(rows, headers=headers), dataset="wishes")
    assert where(v) == [
        (3, "认领方类型", "ingest_status_needs"),
        (4, "实现日期", "ingest_date_order"),
        (4, "实现日期", "ingest_date_order"),
        (5, "认领日期", "ingest_status_forbids"),
        (5, "认领方类型", "ingest_not_allowed"),
    ]


def test_property_totals_stars_ranges_and_period(store: Store) -> None:
    headers = [f.zh for f in DATASETS["property_ratings"].fields]
    rows = [
        ["2025Q3", "QTX01", "甲苑", "宁安物业", 92, 90, 94, 88, 91, 91.0, 5, "无"],
        ["2025Q3", "QTX01", "乙苑", "宁安物业", 80, 80, 80, 80, 80, 85.0, 4, "无"],  # total
        ["2025Q3", "QTX01", "丙苑", "宁安物业", 80, 80, 80, 80, 80, 80.3, 3, "无"],  # stars
        ["2025Q3", "QTX01", "丁苑", "宁安物业", 80, 80, 80, 80, 120, 88.0, 4, "无"],  # range
        ["2025Q2", "QTX01", "戊苑", "宁安物业", 60, 60, 60, 60, 60, 60, 2, "降低收费标准"],
    ]
    v = check(
        store,
        csv_bytes(rows, headers=headers),
        dataset="property_ratings",
        period=Period.parse("2025Q3"),
    )
    assert where(v) == [
        (3, "综合得分", "ingest_total_mismatch"),
        (4, "星级", "ingest_stars_mismatch"),
        (5, "环境卫生", "ingest_above_max"),
        (6, "季度", "ingest_outside_period"),
    ]
    assert v.problems[0].zh == "综合得分应为五项得分的平均值 80.0（允许误差 0.5）。"
    assert v.problems[1].zh == "综合得分 80.3 对应 4 星。"


def test_blank_rows_and_columns_are_ignored_and_rows_numbered_as_in_excel(store: Store) -> None:
    body = csv_bytes([case_row("N1")]).decode()
    lines = body.split("\r\n")
    text = "\r\n".join(
        [
            lines[0] + ",,",
            lines[1] + ",,",
            ",,,,,,,,,,,,",
            "",
            "\r\n".join(
                r + ",,"
                for r in csv_bytes([case_row("N2", channel="?")]).decode().split("\r\n")[1:2]
            ),
            ",,,,,,,,,,,,",
            ",,,,,,,,,,,,",
            "",
        ]
    )
    v = check(store, text.encode())
    assert v.row_count == 2
    assert where(v) == [(5, "来源渠道", "ingest_not_allowed")]


def test_formula_like_cells_are_stored_as_text(store: Store) -> None:
    dangerous = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("x")']
    rows = [case_row(f"F{i}", note=s) for i, s in enumerate(dangerous)]
    v = check(store, csv_bytes(rows))
    assert v.ok, v.problems
    ingest.commit(store, v, user="pytest")
    assert notes(store, "F") == dangerous
    frame = (
        store.connect().execute("SELECT note FROM cases WHERE case_id LIKE 'F%' ORDER BY 1").df()
    )
    exported = export.to_csv_bytes(frame).decode("utf-8-sig")
    assert "'=1+1" in exported and "'@cmd" in exported and "\n=1" not in exported


# -- files ---------------------------------------------------------------------------------
def test_empty_header_only_and_oversized(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert where(check(store, b"")) == [(None, None, "ingest_empty_file")]
    assert where(check(store, b"\r\n \r\n")) == [(None, None, "ingest_empty_file")]
    assert where(check(store, csv_bytes([]))) == [(None, None, "ingest_no_rows")]
    big = csv_bytes([case_row("N1")]) + b" " * (50 * 1024 * 1024)
    v = check(store, big)
    assert where(v) == [(None, None, "ingest_too_large")]
    assert v.problems[0].zh.startswith("文件大小 50.0 MB，超过上限 10 MB")
    small = csv_bytes([case_row("N1")])
    assert where(check(store, small, max_bytes=100)) == [(None, None, "ingest_too_large")]
    monkeypatch.setenv("GOVDASH_MAX_UPLOAD_MB", "0.0001")
    assert where(check(store, small)) == [(None, None, "ingest_too_large")]


def test_xlsx_first_or_named_sheet_with_date_cells(store: Store) -> None:
    rows: list[list[object]] = [list(case_row("N1")), list(case_row("N2"))]
    rows[0][7] = dt.date(2025, 10, 1)  # a date cell
    rows[1][7] = 45931  # a number cell holding the Excel serial of the same day
    data = xlsx_bytes(rows, second_sheet=True)
    v = check(store, data, "台账.xlsx")
    assert v.ok, v.problems
    assert v.rows is not None
    assert v.rows.column("reported_on").to_pylist() == [dt.date(2025, 10, 1)] * 2
    assert check(store, data, "台账.xlsx", sheet="台账").ok
    assert where(check(store, data, "台账.xlsx", sheet="说明"))[0][2] == "ingest_missing_column"
    missing = check(store, data, "台账.xlsx", sheet="Sheet9")
    assert where(missing) == [(None, None, "ingest_no_such_sheet")]
    assert "台账、说明" in missing.problems[0].zh


def test_xlsx_merged_header_is_refused_and_a_merged_title_skipped(store: Store) -> None:
    v = check(store, xlsx_bytes([case_row("N1")], merged_header=True), "a.xlsx")
    assert where(v) == [(None, None, "ingest_merged_header")]
    assert "合并单元格" in v.problems[0].zh
    titled = check(store, xlsx_bytes([case_row("N1")], title=True), "a.xlsx")
    assert titled.ok, titled.problems
    assert titled.row_numbers is not None and titled.row_numbers.to_pylist() == [3]
    assert [n.zh for n in titled.notes] == ["第 1 行是表头上方的标题，已跳过。"]


def test_csv_header_below_blank_and_title_lines(store: Store) -> None:
    body = csv_bytes([case_row("N1"), case_row("N2", channel="微信群")]).decode()
    for top, first in (
        ("\r\n", 3),
        ("青铜峡市11月台账\r\n", 3),
        ("青铜峡市11月台账,,,\r\n\r\n", 4),
    ):
        v = check(store, (top + body).encode("gb18030"))
        assert where(v) == [(first + 1, "来源渠道", "ingest_not_allowed")], top
        assert v.row_count == 2


def test_ragged_rows_are_named_by_their_row(store: Store) -> None:
    lines = csv_bytes([case_row("N1", note="两行\n备注"), case_row("N2")]).decode().split("\r\n")
    lines.insert(2, "N3,QTX01,QTX01-G01,矛盾纠纷,邻里纠纷")  # row 3 (row 2 spans two lines)
    lines.insert(4, "N4,QTX01")
    v = check(store, "\r\n".join(lines).encode())
    assert where(v) == [(None, None, "ingest_csv_ragged")]
    assert v.problems[0].zh.startswith(
        "第 3 行有 5 列，表头有 11 列（共 2 行列数不符：第 3、5 行）"
    )


def test_unknown_columns_are_noted_and_a_typo_gets_a_suggestion(store: Store) -> None:
    headers = [h if h != "网格编码" else "网格编号" for h in CASE_HEADERS] + ["联系人"]
    v = check(store, csv_bytes([[*case_row("N1"), "张三"]], headers=headers))
    assert where(v) == [(None, "网格编码", "ingest_missing_column_near")]
    assert "文件中的“网格编号”是否就是“网格编码”？" in v.problems[0].zh
    assert [n.zh for n in v.notes] == ["以下列不属于本模板，已忽略：网格编号、联系人"]
    far = check(
        store, csv_bytes([[*case_row("N1"), "x"]], headers=[*CASE_HEADERS[:-2], "甲", "乙", "丙"])
    )
    assert [p.key for p in far.problems] == ["ingest_missing_column"]


def test_only_registered_communities_are_accepted(store: Store) -> None:
    emp = [f.zh for f in DATASETS["employment"].fields]
    data = csv_bytes([["QTX99", "2025-10", "1", "2", "3", "0", "1"]], headers=emp)
    v = check(store, data, dataset="employment", community="QTX99")
    assert where(v) == [(None, None, "ingest_unregistered")]
    assert "QTX99 不在社区名册中" in v.problems[0].zh
    registry = csv_bytes(
        [["QTX99", "新社区", "裕民街道", "1", "1", "1", "1", "1", "1"]],
        headers=[f.zh for f in DATASETS["communities"].fields],
    )
    assert check(store, registry, dataset="communities", community="QTX99").ok


def test_one_message_per_empty_required_yes_no_cell(store: Store) -> None:
    v = check(store, csv_bytes([case_row("N1", is_supervised="")]))
    assert where(v) == [(2, "是否督办", "ingest_required")]


def test_a_missing_column_is_not_reported_again_on_every_row(store: Store) -> None:
    headers = [h for h in CASE_HEADERS if h != "办结日期"]
    rows = [
        [c for c, h in zip(case_row(f"N{i}"), CASE_HEADERS, strict=True) if h in headers]
        for i in range(3)
    ]
    v = check(store, csv_bytes(rows, headers=headers))
    assert where(v) == [(None, "办结日期", "ingest_missing_column")]


def test_the_sheet_read_is_named_and_the_others_listed(store: Store) -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    book.add_worksheet("说明").write(0, 0, "请在第二个工作表填写")
    book.add_worksheet("台账").write_row(0, 0, CASE_HEADERS)
    book.worksheets()[1].write_row(1, 0, case_row("N1"))
    book.close()
    v = check(store, buffer.getvalue(), "a.xlsx")
    assert "ingest_other_sheets" in [p.key for p in v.problems]
    assert "请在第二个工作表填写" not in [p.key for p in v.problems]
    hint = next(p for p in v.problems if p.key == "ingest_other_sheets")
    assert "“说明”" in hint.zh and "台账" in hint.zh
    assert check(store, buffer.getvalue(), "a.xlsx", sheet="台账").ok
    assert readers.sheet_names(buffer.getvalue()) == ["说明", "台账"]
    assert readers.sheet_names(b"not a zip") == []


def test_truncated_xlsx_and_zip_bomb_are_refused(store: Store) -> None:
    data = xlsx_bytes([case_row("N1")])
    for cut in (len(data) // 2, len(data) - 30, 100):
        assert where(check(store, data[:cut], "a.xlsx")) == [(None, None, "ingest_xlsx_damaged")]
    bomb = zip_bomb()
    assert len(bomb) < 1024 * 1024
    v = check(store, bomb, "bomb.xlsx")
    assert where(v) == [(None, None, "ingest_zip_bomb")]


def zip_bomb() -> bytes:
    """Under 1 MB, inflating to 250 MB: far beyond 20 times the 10 MB upload limit."""
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(250):
            member.write(chunk)
    return bomb.getvalue()


BAD_FILES: dict[str, tuple[str, Any, str]] = {  # name: (file name, bytes, the message key)
    "latin-1": (
        "a.csv",
        lambda: 'case_id,note\r\nN1,Zoë,"café crème"\r\n'.encode("latin-1"),
        "ingest_bad_encoding",
    ),
    "utf-16": (
        "a.csv",
        lambda: csv_bytes([case_row("N1")], encoding="utf-16"),
        "ingest_bad_encoding",
    ),
    "truncated xlsx": (
        "a.xlsx",
        lambda: xlsx_bytes([case_row("N1")])[:2000],
        "ingest_xlsx_damaged",
    ),
    "zip bomb": ("a.xlsx", zip_bomb, "ingest_zip_bomb"),
    "empty": ("a.csv", lambda: b"", "ingest_empty_file"),
    "header only": ("a.csv", lambda: csv_bytes([]), "ingest_no_rows"),
    "oversized": ("a.csv", lambda: csv_bytes([case_row("N1")] * 400), "ingest_too_large"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_rejected_file_leaves_the_store_byte_for_byte_unchanged(
    store: Store,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if kind == "oversized":
        monkeypatch.setenv("GOVDASH_MAX_UPLOAD_MB", "0.01")  # 10 kB: the file has 40 kB
    name, make, key = BAD_FILES[kind]
    data = make()
    state = snapshot(store.root)
    v = check(store, data, name)
    assert key in [p.key for p in v.problems] and not v.ok
    with pytest.raises(ValueError):  # commit refuses what did not validate
        ingest.commit(store, v, user="pytest")
    path = tmp_path / name
    path.write_bytes(data)
    args = ["--data-dir", str(store.root), "ingest", str(path), "--dataset", "cases"]
    assert main([*args, "--community", "QTX01"]) == 2
    assert t(key, "zh").split("{")[0][:6] in capsys.readouterr().err
    assert snapshot(store.root) == state


def test_parquet_from_upstream(store: Store) -> None:
    frame = pd.DataFrame(
        [case_row("P1"), case_row("P2")], columns=[f.name for f in DATASETS["cases"].fields]
    )
    frame["reported_on"] = pd.to_datetime(frame["reported_on"])
    frame["is_supervised"] = False
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    v = check(store, buffer.getvalue(), "export.parquet")
    assert v.ok, v.problems
    assert v.file_format == "parquet"
    assert where(check(store, buffer.getvalue()[:-20], "x.parquet")) == [
        (None, None, "ingest_parquet_damaged")
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_annotated_file_sent_back_changes_no_value(store: Store, fmt: str) -> None:
    # The clerk fixes the one bad cell in the annotated file and sends it back as it is:
    # formula-like notes come back exactly, the 错误说明 column is ignored with a note, and
    # the file-level lines (an unknown column here) shift no data row.
    dangerous = ["=1+1", "+SUM(A1)", "-已电话回访", "@cmd", "'=quoted"]
    rows = [case_row(f"F{i}", note=n) for i, n in enumerate(dangerous)]
    rows.append(case_row("F9", channel="微信群"))
    headers = [*CASE_HEADERS, "联系人"]
    rows = [[*r, "张三"] for r in rows]
    data = xlsx_bytes(rows, headers) if fmt == "xlsx" else csv_bytes(rows, headers)
    v = check(store, data, f"up.{fmt}")
    assert where(v) == [(7, "来源渠道", "ingest_not_allowed")]
    annotated, name = ingest.annotated_file(v)
    assert name == f"annotated.{fmt}"
    fixed = annotated.replace("微信群".encode(), "其他".encode()) if fmt == "csv" else annotated
    if fmt == "xlsx":
        frame = pd.read_excel(io.BytesIO(annotated), dtype=str, engine="calamine")
        assert frame["备注"].tolist()[:5] == dangerous  # text cells, no apostrophe
        frame["来源渠道"] = frame["来源渠道"].replace("微信群", "其他")
        fixed = export.to_xlsx_bytes({"台账": frame})
    again = check(store, fixed, f"annotated.{fmt}")
    assert again.ok, again.problems
    assert again.unknown_columns == ["联系人", "错误说明"]
    assert again.rows is not None and v.rows is not None
    assert again.rows.column("note").to_pylist() == v.rows.column("note").to_pylist()
    # (A CSV cell '=quoted is read as =quoted, the rule for CSV; XLSX keeps it as written.)
    expected = dangerous if fmt == "xlsx" else [*dangerous[:4], "=quoted"]
    assert again.rows.column("note").to_pylist()[:5] == expected


def test_file_level_problems_are_no_data_row(store: Store) -> None:
    headers = [h for h in CASE_HEADERS if h != "状态"]
    rows = [[c for c, h in zip(case_row("N1"), CASE_HEADERS, strict=True) if h in headers]]
    v = check(store, csv_bytes(rows, headers=headers))
    data, _ = ingest.annotated_file(v)
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("缺少必填列“状态”") and lines[1].startswith("编号,")
    back = read_upload(data, "annotated.csv")
    assert back.titles == ((1, lines[0]),) and back.row_numbers.to_pylist() == [3]
    xv = check(store, xlsx_bytes(rows, headers), "a.xlsx")
    annotated = io.BytesIO(ingest.annotated_file(xv)[0])
    sheets = pd.read_excel(annotated, sheet_name=None, dtype=str, engine="calamine")
    assert list(sheets) == ["台账", "文件说明"]
    assert len(sheets["台账"]) == 1 and sheets["文件说明"]["错误说明"][0].startswith("缺少必填列")


def test_xlsx_export_writes_formula_like_text_as_text() -> None:
    values = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "plain"]
    data = export.to_xlsx_bytes({"s": pd.DataFrame({"=header": values, "n": range(7)})})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # not one formula
    back = pd.read_excel(io.BytesIO(data), dtype=str, engine="calamine")
    assert list(back.columns) == ["=header", "n"]
    assert back["=header"].tolist() == values
    assert export.to_csv_bytes(pd.DataFrame({"v": values})).decode("utf-8-sig").splitlines()[
        1:4
    ] == ["'=1+1", "'+SUM(A1)", "'-2+3"]


def test_a_csv_apostrophe_before_a_formula_sign_is_taken_off_once(store: Store) -> None:
    notes_in = ["'=1+1", "''=2", "'@x", "'\tt", "'plain", "it's"]
    v = check(store, csv_bytes([case_row(f"Q{i}", note=n) for i, n in enumerate(notes_in)]))
    assert v.rows is not None
    assert v.rows.column("note").to_pylist() == ["=1+1", "'=2", "@x", "\tt", "'plain", "it's"]


def test_annotated_file_carries_the_messages(store: Store) -> None:
    v = check(store, csv_bytes([case_row("N1"), case_row("N2", channel="微信群")]))
    data, name = ingest.annotated_file(v)
    assert name == "annotated.csv" and data.startswith(codecs.BOM_UTF8)
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(frame.columns) == [*CASE_HEADERS, "错误说明"]
    assert frame["错误说明"].tolist() == [
        "",
        "来源渠道：不在可选值中。可选值：板凳会、红色议事园、敲门队、网格走访、协商月、民情督办单、其他",
    ]
    xv = check(store, xlsx_bytes([case_row("N2", channel="微信群")]), "a.xlsx")
    xdata, xname = ingest.annotated_file(xv, lang="en")
    assert xname == "annotated.xlsx"
    back = pd.read_excel(io.BytesIO(xdata), dtype=str, engine="calamine")
    assert back["Problems"].iloc[0].startswith("来源渠道：Not one of the allowed values")


# -- preview, commit, history ---------------------------------------------------------------
def test_preview_commit_and_repeat(store: Store) -> None:
    data = csv_bytes(
        [
            case_row("C01", note="改了"),
            case_row("N1"),
            case_row(
                "C02",
                status="已化解",
                resolved_on="2025-09-10",
                reported_on="2025-08-20",
                channel="网格走访",
                is_supervised="是",
                category="路灯维修",
                case_type="急难愁盼",
                grid="QTX01-G02",
            ),
        ]
    )
    v = check(store, data, "十一月台账.csv")
    assert v.ok, v.problems
    diff = ingest.preview(store, v)
    assert diff.counts() == {"new": 1, "changed": 1, "unchanged": 1, "deleted": 0}
    assert diff.changed.to_pylist() == [
        {"case_id": "C01", "changed_fields": ["reported_on", "resolved_on", "note"]}
    ]
    before = store.version().of("cases")
    result = ingest.commit(store, v, user="王书记")
    assert result.committed and result.version == before + 1
    entry = store.history("cases")[0]
    assert {
        k: entry[k]
        for k in (
            "user",
            "community_id",
            "dataset",
            "file_name",
            "rows_new",
            "rows_changed",
            "rows_unchanged",
            "rows_deleted",
        )
    } == {
        "user": "王书记",
        "community_id": "QTX01",
        "dataset": "cases",
        "file_name": "十一月台账.csv",
        "rows_new": "1",
        "rows_changed": "1",
        "rows_unchanged": "1",
        "rows_deleted": "0",
    }
    assert result.upload_path == store.root / "uploads" / "cases" / f"{v.file_sha256}.csv"
    assert result.upload_path.read_bytes() == data
    # The same file again: nothing to do, no new version, not a byte changes.
    state = snapshot(store.root)
    again = ingest.commit(store, check(store, data, "again.csv"), user="王书记")
    assert not again.committed and again.version == result.version
    assert snapshot(store.root) == state
    assert notes(store, "C01") == ["改了"]


def test_replace_period_deletes_what_the_file_no_longer_has(store: Store) -> None:
    # QTX01 has C03 (2025-09-03) and C05..C07 in September? The fixture's September rows:
    con = store.connect()
    september = [
        r[0]
        for r in con.execute(
            "SELECT case_id FROM cases WHERE community_id = 'QTX01' AND reported_on "
            "BETWEEN DATE '2025-09-01' AND DATE '2025-09-30' ORDER BY 1"
        ).fetchall()
    ]
    assert september, "fixture has September cases for QTX01"
    keep = september[0]
    stored = con.execute("SELECT * FROM cases WHERE case_id = $id", {"id": keep}).df()
    row = [
        "" if pd.isna(x) else ("是" if x is True else "否" if x is False else str(x))
        for x in stored.iloc[0].tolist()
    ]
    v = check(store, csv_bytes([row]), period=Period.parse("2025-09"))
    assert v.ok, v.problems
    diff = ingest.preview(store, v, replace=True)
    assert diff.deleted.column("case_id").to_pylist() == september[1:]
    with pytest.raises(ValueError):
        ingest.preview(store, check(store, csv_bytes([row])), replace=True)
    result = ingest.commit(store, v, user="pytest", replace=True)
    assert result.committed
    left = (
        store.connect()
        .execute(
            "SELECT case_id FROM cases WHERE community_id = 'QTX01' AND reported_on "
            "BETWEEN DATE '2025-09-01' AND DATE '2025-09-30'"
        )
        .fetchall()
    )
    assert left == [(keep,)]
    assert store.history("cases")[0]["rows_deleted"] == str(len(september) - 1)


def test_replacing_a_period_the_file_has_no_rows_of_is_refused(
    store: Store, tmp_path: Path
) -> None:
    # A September file sent as November's ledger with "replace": no row is of November, so
    # replacing would delete QTX01's November records and keep none. Refused, nothing
    # written; without "replace" the same file is a plain upsert (late corrections are fine).
    row = case_row("Z01", reported_on="2025-09-20", resolved_on="", status="办理中")
    november = Period.parse("2025-11")
    v = check(store, csv_bytes([row]), period=november)
    assert v.ok, v.problems
    assert ingest.rows_in_period(v) == 0
    assert (
        ingest.rows_in_period(check(store, csv_bytes([row]), period=Period.parse("2025-09"))) == 1
    )
    before = snapshot(store.root)
    with pytest.raises(ingest.IngestError) as refused:
        ingest.preview(store, v, replace=True)
    assert "2025-11" in refused.value.message("zh") and "替换本期数据" in refused.value.message(
        "zh"
    )
    with pytest.raises(ingest.IngestError):
        ingest.commit(store, v, user="pytest", replace=True)
    path = tmp_path / "9月台账.csv"
    path.write_bytes(csv_bytes([row]))
    args = [str(path), "--dataset", "cases", "--community", "QTX01", "--period", "2025-11"]
    assert main(["--data-dir", str(store.root), "ingest", *args, "--replace"]) == 2
    assert snapshot(store.root) == before
    assert ingest.preview(store, v).counts()["new"] == 1


def test_a_key_taken_after_validation_is_refused_at_commit(store: Store) -> None:
    # Two clerks check files carrying the same new id; both pass (nobody holds it yet).
    mine = check(store, csv_bytes([case_row("RACE-1", note="A")]))
    theirs = check(
        store, csv_bytes([case_row("RACE-1", "QTX02", "QTX02-G01", note="B")]), community="QTX02"
    )
    assert mine.ok and theirs.ok
    ingest.commit(store, mine, user="A")
    state = snapshot(store.root)
    with pytest.raises(ingest.IngestError) as refused:
        ingest.commit(store, theirs, user="B")
    assert refused.value.message("zh").startswith("未提交：文件中有 1 个编号（RACE-1）")
    assert snapshot(store.root) == state  # nothing written, not even the kept raw file
    rows = store.connect().execute("SELECT community_id FROM cases WHERE case_id = 'RACE-1'")
    assert rows.fetchall() == [("QTX01",)]


def test_rejected_upload_changes_nothing(store: Store) -> None:
    state = snapshot(store.root)
    v = check(store, csv_bytes([case_row("N1", channel="微信群")]))
    with pytest.raises(ValueError):
        ingest.commit(store, v, user="pytest")
    assert snapshot(store.root) == state


def test_history_shows_rollbacks_to_every_community(store: Store) -> None:
    def commit(community: str, grid: str, case_id: str) -> int:
        v = check(store, csv_bytes([case_row(case_id, community, grid)]), community=community)
        assert v.ok, v.problems
        return ingest.commit(store, v, user=f"clerk-{community}").version

    first = commit("QTX01", "QTX01-G01", "H1")
    second = commit("QTX02", "QTX02-G01", "H2")
    undone = ingest.rollback_preview(store, "cases", first - 1)
    assert [(e["version"], e["community_id"]) for e in undone] == [
        (second, "QTX02"),
        (first, "QTX01"),
    ]
    restored = ingest.rollback(store, "cases", first - 1, user="admin")
    # QTX01's history: the rollback (which undid its upload) is the newest entry.
    mine = ingest.history(store, "cases", "QTX01")
    assert [(e["version"], e["action"]) for e in mine] == [
        (restored, "rollback"),
        (first, "upload"),
        (0, "load"),  # the fixture's whole-table write
    ]
    assert mine[0]["rolled_back_to"] == str(first - 1)
    assert mine[0]["undid_versions"] == f"{second},{first}"
    # The undone upload says so, and by which rollback; the load before it was not undone.
    assert [e["undone_by"] for e in mine] == [None, restored, None]
    with pytest.raises(ingest.IngestError) as latest:
        ingest.rollback_preview(store, "cases", restored)
    assert "没有可以恢复的第" in latest.value.message("zh")


# -- corpora ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.name for p in (SPECTRUM / "csvs").glob("*.csv")))
def test_csv_spectrum(store: Store, name: str) -> None:
    data = (SPECTRUM / "csvs" / name).read_bytes()
    expected = json.loads((SPECTRUM / "json" / name.replace(".csv", ".json")).read_text("utf-8"))
    if isinstance(expected, dict):  # location_coordinates.json holds one object, not a list
        expected = [expected]
    expected = [{**row, **ERRATA.get(name, {})} for row in expected]
    # Read exactly as the corpus says ...
    raw = read_upload(data, name)
    assert raw.headers == list(expected[0])
    got = [dict(zip(raw.headers, r.values(), strict=True)) for r in raw.cells.to_pylist()]
    assert got == expected
    # ... refused as a ledger (its columns are not the contract's), and the store untouched ...
    state = snapshot(store.root)
    v = check(store, data, name)
    assert not v.ok and {p.key for p in v.problems} >= {"ingest_missing_column"}
    assert set(v.unknown_columns) == set(expected[0])
    assert snapshot(store.root) == state
    # ... and every cell, put in the note of a valid ledger, stored and read back as it was.
    cells = [str(value) for row in expected for value in row.values()]
    rows = [case_row(f"S{i:03d}", note=c) for i, c in enumerate(cells)]
    v = check(store, csv_bytes(rows))
    assert v.ok, v.problems
    ingest.commit(store, v, user="pytest")
    assert notes(store, "S") == [c if c != "" else None for c in cells]


def test_naughty_strings_round_trip(store: Store) -> None:
    strings = json.loads((CORPORA / "big-list-of-naughty-strings" / "blns.json").read_text("utf-8"))
    assert len(strings) == 515
    rows = [case_row(f"B{i:03d}", note=s) for i, s in enumerate(strings)]
    for encoding in ("utf-8",):
        v = check(store, csv_bytes(rows, encoding=encoding))
        assert v.ok, v.problems[:3]
        assert ingest.commit(store, v, user="pytest").committed
    assert notes(store, "B") == [s if s != "" else None for s in strings]
    # XLSX too, except what XML 1.0 cannot hold (U+FFFE, U+FFFF are written as _xFFFE_).
    storable = [s for s in strings if "\ufffe" not in s and "\uffff" not in s]
    rows = [case_row(f"B{i:03d}", note=s) for i, s in enumerate(storable)]
    xv = check(store, xlsx_bytes(rows), "blns.xlsx")
    assert xv.ok, xv.problems[:3]
    assert xv.rows is not None
    assert xv.rows.column("note").to_pylist() == [s if s != "" else None for s in storable]


def test_100k_rows(store: Store) -> None:
    rows = [case_row(f"K{i:06d}", grid=f"QTX01-G0{i % 3 + 1}") for i in range(100_000)]
    v = check(store, csv_bytes(rows, encoding="gb18030"))
    assert v.ok and v.row_count == 100_000
    assert ingest.commit(store, v, user="pytest").diff.counts()["new"] == 100_000
    count = store.connect().execute("SELECT count(*) FROM cases WHERE case_id LIKE 'K%'").fetchone()
    assert count == (100_000,)


# -- templates ---------------------------------------------------------------------------------
def _template_text(dataset: str, community: str, grid: str | None) -> str:
    data = templates.template(dataset, "csv", "zh", community_id=community, grid_id=grid)
    assert data.startswith(codecs.BOM_UTF8)
    return data.decode("utf-8-sig")


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unchanged_template_is_refused_and_writes_nothing(
    store: Store, dataset: str, fmt: str
) -> None:
    # Unchanged, the example row would overwrite the community's real records (a QTX02
    # employment month, a rating) or invent a case: it is refused with one message.
    data = templates.template(dataset, fmt, "zh", community_id="QTX02", grid_id="QTX02-G01")
    state = snapshot(store.root)
    v = check(store, data, f"t.{fmt}", dataset=dataset, community="QTX02")
    marked = DATASETS[dataset].field(ingest.EXAMPLE_FIELD[dataset]).zh
    assert where(v) == [(2, marked, "ingest_example_row")]
    assert "请删除示例行" in v.problems[0].zh and "example row" in v.problems[0].en
    with pytest.raises(ValueError):
        ingest.commit(store, v, user="pytest")
    assert snapshot(store.root) == state
    if fmt == "xlsx":
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str, engine="calamine")
        assert list(sheets) == [DATASETS[dataset].zh, "填写说明"]
        fields = [f.zh for f in DATASETS[dataset].fields]
        assert sheets["填写说明"]["列名"].tolist() == [*fields, "整行", "整行"]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_template_rows_are_the_chosen_communitys(store: Store, dataset: str) -> None:
    text = _template_text(dataset, "QTX02", "QTX02-G02")
    assert "QTX01" not in text
    # The clerk replaces the example's marked id (or month, or name) with a real one.
    filled = text.replace("示例-", "").replace("示例", "")
    v = check(store, filled.encode("utf-8-sig"), dataset=dataset, community="QTX02")
    assert v.ok, v.problems
    assert v.rows is not None and v.rows.column("community_id").to_pylist() == ["QTX02"]
    if DATASETS[dataset].has_grid and dataset != "grids":
        assert v.rows.column("grid_id").to_pylist() == ["QTX02-G02"]


def test_a_copied_example_row_with_a_new_id_is_data(store: Store) -> None:
    rows = [case_row("AJ1", "QTX02", "QTX02-G01"), case_row("示例-AJ2", "QTX02", "QTX02-G01")]
    v = check(store, csv_bytes(rows), community="QTX02")
    assert where(v) == [(3, "编号", "ingest_example_row")]
    english = csv_bytes([case_row("example-1", "QTX02", "QTX02-G01")])
    assert where(check(store, english, community="QTX02")) == [(2, "编号", "ingest_example_row")]


def test_the_notes_sheet_lists_the_rules_across_columns(store: Store) -> None:
    notes = templates.notes_frame("cases", "zh", "QTX02", "QTX02-G02").set_index("列名")
    rules = notes["校验规则"]
    assert "状态为 已化解、未化解 时必须填写" in rules["办结日期"]
    assert "不能早于“受理日期”" in rules["办结日期"]
    assert "QTX02-G02" in rules["网格编码"] and "QTX02" in rules["社区编码"]
    assert "2000-01-01" in rules["受理日期"]
    assert "示例" in notes.loc["整行", "校验规则"].iloc[0]
    prop = templates.notes_frame("property_ratings", "en").set_index("Column")["Rules"]
    assert "mean of the five part scores" in prop["综合得分"]
    assert "≥90: 5 stars" in prop["星级"]
    assert templates.example_grid(store, "QTX02") == "QTX02-G01"
    assert templates.example_grid(store, "QTX99") is None


# -- the command line -------------------------------------------------------------------------
def test_cli_ingest_history_rollback(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = ["--data-dir", str(store.root)]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([case_row("N1", channel="微信群")]))
    state = snapshot(store.root)
    assert main([*root, "ingest", str(bad), "--dataset", "cases", "--community", "QTX01"]) == 2
    err = capsys.readouterr().err
    assert "行 2\t来源渠道\t微信群\t不在可选值中" in err
    assert snapshot(store.root) == state
    assert (
        main(
            [
                *root,
                "ingest",
                str(bad),
                "--dataset",
                "cases",
                "--community",
                "QTX01",
                "--lang",
                "en",
            ]
        )
        == 2
    )
    assert "Row 2\t来源渠道\t微信群\tNot one of the allowed values" in capsys.readouterr().err

    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([case_row("N1")]))
    args = [*root, "ingest", str(good), "--dataset", "cases", "--community", "QTX01"]
    assert main([*args, "--dry-run"]) == 0
    assert snapshot(store.root) == state
    before = store.version().of("cases")
    assert main([*args, "--user", "clerk"]) == 0
    assert store.version().of("cases") == before + 1
    assert main(args) == 0
    assert "未产生新版本" in capsys.readouterr().out
    assert store.version().of("cases") == before + 1

    assert main([*root, "history", "--dataset", "cases", "--community", "QTX01"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["user"] == "clerk" and lines[0]["file_name"] == "good.csv"
    assert lines[0]["action"] == "upload" and lines[0]["committed_at"].endswith("+08:00")
    assert main([*root, "rollback", f"cases@{before}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"“矛盾纠纷与诉求台账”已回滚到第 {before} 版")
    assert f"第 {before + 1} 版" in out and "clerk · QTX01 · good.csv" in out
    assert store.version().of("cases") == before + 2
    assert notes(store, "N1") == []
    monkeypatch.setenv("GOVDASH_TZ", "UTC")
    assert main([*root, "history", "--dataset", "cases", "--community", "QTX01"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (lines[0]["action"], lines[0]["rolled_back_to"]) == ("rollback", str(before))
    assert lines[0]["committed_at"].endswith("+00:00")
    for target in ("cases", "nothing@1", f"cases@{before + 2}"):
        assert main([*root, "rollback", target]) == 2
        assert "Traceback" not in capsys.readouterr().err

    # Mistakes on the command line get a message in the chosen language and exit 2.
    ingest_cases = [*root, "ingest", str(good), "--dataset", "cases"]
    for args, message in (
        ([*ingest_cases, "--community", "QTX01", "--replace"], "“替换本期数据”需要选择期间。"),
        ([*ingest_cases, "--community", "bad code!"], "社区编码无效：bad code!"),
        (
            [*root, "ingest", "nowhere.csv", "--dataset", "cases", "--community", "QTX01"],
            "找不到文件",
        ),
        ([*ingest_cases, "--community", "QTX01", "--period", "11月"], "期间“11月”无法识别"),
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and "error:" not in err
    monkeypatch.setenv("GOVDASH_MAX_UPLOAD_MB", "0.0001")
    assert main([*ingest_cases, "--community", "QTX01"]) == 2
    assert (
        "GOVDASH_MAX_UPLOAD_MB" in capsys.readouterr().err
        and "--max-mb" in capsys.readouterr().err + "--max-mb"
    )
    assert main([*ingest_cases, "--community", "QTX01", "--max-mb", "1"]) == 0
    monkeypatch.delenv("GOVDASH_MAX_UPLOAD_MB")
    # --dry-run with --replace names what would be deleted.
    october = tmp_path / "oct.csv"
    october.write_bytes(csv_bytes([case_row("N1", reported_on="2025-10-08")]))
    dry = [*root, "ingest", str(october), "--dataset", "cases", "--community", "QTX01"]
    assert main([*dry, "--period", "2025-10", "--replace", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "删除" in out and "将删除：C0" in out

    out = tmp_path / "t.csv"
    command = [*root, "template", "wishes", "--format", "csv", "--out", str(out)]
    assert main([*command, "--community", "QTX02"]) == 0
    row = out.read_bytes().decode("utf-8-sig").splitlines()[1].split(",")
    assert row[:3] == ["示例-XY202510-00001", "QTX02", "QTX02-G01"]
    v = check(store, out.read_bytes(), "t.csv", dataset="wishes", community="QTX02")
    assert where(v) == [(2, "编号", "ingest_example_row")]
    assert main(command) == 0  # the first registered community by default
    assert out.read_bytes().decode("utf-8-sig").splitlines()[1].split(",")[1] == "QTX01"
