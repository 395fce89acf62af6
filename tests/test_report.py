"""The meeting report files: the PDF opens with the Chinese font embedded, the XLSX reads back
with numbers and frozen headers, and a report rebuilt at its version token is the same."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
import streamlit as st
from fpdf import FPDF

from metrics.__main__ import main
from metrics.periods import local_tz
from metrics.report import (
    FONT,
    FONT_FACE_SC,
    FONT_FILES,
    build_report,
    render_pdf,
    render_xlsx,
    wrap_lines,
)
from metrics.report.pdf_layout import _heading_lines
from metrics.review import review
from metrics.store import Store
from tests.test_review import OCTOBER, build_store, upload

WHEN = dt.datetime(2025, 11, 6, 9, 30, tzinfo=local_tz())
APP = str(Path(__file__).resolve().parent.parent / "app.py")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (make setup) not installed"
)


@pytest.fixture
def tiny(tmp_path: Path) -> Store:
    return build_store(tmp_path / "data")


def xlsx_values(data: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


@needs_poppler
def test_pdf_opens_with_title_figures_and_an_embedded_cjk_font(tiny: Store, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(build_report(tiny, OCTOBER, "pdf", generated_at=WHEN))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "月度例会报告" in text
    assert "2025年10月全市受理矛盾纠纷4起" in text
    assert "80.0%" in text  # the city resolution rate
    assert "+30.0个百分点" in text.replace(" ", "")  # its 环比 in the headline table
    assert "2025-11-06 09:30" in text  # time of generation
    assert review(tiny, OCTOBER).token in text  # the data version, in the page footer
    assert "第1页/共4页" in text.replace(" ", "")
    # Submissions: each cell the status with its upload time and version, or the deadline.
    flat = text.replace(" ", "")
    assert "×缺报" in flat and "截止2025-11-05" in flat  # 丙社区's wishes ledger
    assert "·第2版" in flat  # 丙社区's cases came in with cases version 2
    assert "缺报×" in flat  # its wish metrics in the league table
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout
    cjk = [line for line in fonts.splitlines() if "NotoSansCJK" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk)  # the "emb" column


def test_xlsx_has_a_sheet_per_section_with_numbers_and_frozen_headers(tiny: Store) -> None:
    data = build_report(tiny, OCTOBER, "xlsx", generated_at=WHEN)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        "综述",
        "主要指标",
        "社区考核排名",
        "考核得分明细",
        "需督办事项",
        "上期督办事项",  # issue 14: the last meeting's tracked items
        "台账报送情况",
        "图表",
    ]
    head = book["主要指标"]
    assert head.freeze_panes == "B2"
    rows = {r[0].value: r for r in head.iter_rows(min_row=2)}
    rate = rows["化解率"]
    assert rate[1].value == pytest.approx(0.8) and rate[1].number_format == "0.0%"
    assert rate[7].value == "❌ 未达标"
    assert rows["排查处理矛盾纠纷"][3].value == pytest.approx(3.0)  # 环比 +300 %
    assert rate[3].value == pytest.approx(30.0)  # 50 % -> 80 %: +30.0 percentage points
    assert rate[3].number_format == '+0.0"个百分点";-0.0"个百分点";0.0"个百分点"'
    league = book["社区考核排名"]
    assert league.freeze_panes == "F2"
    assert [(r[0], r[4], r[5]) for r in league.iter_rows(min_row=2, values_only=True)] == [
        (1, "甲社区", 100.0),
        (2, "丙社区", 59.0),
        # Read at WHEN (6 November) the fulfilment rate judges October's wishes registered
        # by 6 October (their 30 days are over): 乙社区's W2 (5 Oct, fulfilled in 10 days) is
        # 100 % 达标, W3 (20 Oct) 未到期. Rate 50 % 0×30, overdue 1 60×20, median 20 60×15,
        # fulfilment 100×20, unclaimed 1 60×15 -> (1200+900+2000+900)/100 = 50.0
        (3, "乙社区", 50.0),
    ]
    follow = book["需督办事项"]
    assert follow.freeze_panes == "A2"
    assert follow["I2"].value == 60 and follow["E2"].value == "K5"
    # 起始: a real date where it is a day (cases, wishes), the period code otherwise.
    assert follow["H2"].value == dt.datetime(2025, 9, 1) and follow["H2"].number_format == (
        "yyyy-mm-dd"
    )
    assert follow["H4"].value == "2025Q4"
    # 乙社区 first (8 items): K5, W4, 塞上物业, then its metrics in weight order: 化解率
    # 未达标, 超期未办结 接近. Every item's status says why it is listed.
    assert [follow[f"G{i}"].value for i in (2, 3, 4, 5, 6)] == [
        "⏳ 超期未办结",
        "⏳ 超期未认领",
        "❌ 评星不合格或受处理",
        "❌ 未达标",
        "⚠️ 接近",
    ]
    # Every item (none cut to a cap), with its age band: K5 60 days (30–60), W4 77 (60–180).
    assert (follow["J2"].value, follow["J3"].value) == ("30–60天", "60–180天")
    assert follow.max_row == 1 + len(review(tiny, OCTOBER, as_of=WHEN).follow_ups)
    # Columns as wide as their text: 类别 holds 物业企业评星不合格或受处理 (13 characters).
    assert follow.column_dimensions["A"].width >= 2 * 13
    assert (league["N3"].value, league["P3"].value) == ("❌ 缺报", "❌ 缺报")  # 丙社区's wishes
    assert book["综述"].auto_filter.ref is None  # sentences, not a list to filter
    with zipfile.ZipFile(io.BytesIO(data)) as parts:  # Excel's own charts on 图表
        charts = [n for n in parts.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert "<c:lineChart>" in parts.read("xl/charts/chart2.xml").decode()


def test_a_report_rebuilt_at_its_version_has_the_same_figures(tiny: Store) -> None:
    token = review(tiny, OCTOBER).token
    first = build_report(tiny, OCTOBER, "xlsx", generated_at=WHEN)
    # After the meeting, A02 closes K4: the October figures change from then on.
    resolved = "K4,A02,A02-G1,矛盾纠纷,噪音扰民,敲门队,false,2025-10-08,2025-10-30,已化解\n"
    upload(tiny, "cases", resolved, "A02", "2025-10")
    now = build_report(tiny, OCTOBER, "xlsx", generated_at=WHEN)
    again = build_report(tiny, OCTOBER, "xlsx", version=token, generated_at=WHEN)
    assert xlsx_values(again) == xlsx_values(first)
    assert xlsx_values(now)["主要指标"] != xlsx_values(first)["主要指标"]


def test_cli_writes_the_report(
    tiny: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.xlsx"
    args = ["--data-dir", str(tiny.root), "report", "--period", "2025Q4", "--format", "xlsx"]
    assert main([*args, "--out", str(out), "--lang", "en"]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "Summary"
    printed = json.loads(capsys.readouterr().out)
    token = review(tiny, OCTOBER).token
    assert printed["version"] == token  # the version it was built from, as README says
    assert printed["period"] == "2025Q4"
    generated = dt.datetime.fromisoformat(printed["generated_at"])
    assert abs(dt.datetime.now(tz=local_tz()) - generated) < dt.timedelta(minutes=5)
    # Rebuilt at the printed token after an upload: the same figures.
    resolved = "K4,A02,A02-G1,矛盾纠纷,噪音扰民,敲门队,false,2025-10-08,2025-10-30,已化解\n"
    upload(tiny, "cases", resolved, "A02", "2025-10")
    again = tmp_path / "again.xlsx"
    assert main([*args, "--out", str(again), "--lang", "en", "--version", token]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == token
    assert (
        xlsx_values(again.read_bytes())["Headline figures"]
        == xlsx_values(out.read_bytes())["Headline figures"]
    )


def test_cli_refuses_unknown_and_partial_versions(
    tiny: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.pdf"
    args = ["--data-dir", str(tiny.root), "report", "--period", "2025-10", "--out", str(out)]
    token = review(tiny, OCTOBER).token
    assert main([*args, "--version", "cases@zz"]) == 2
    assert main([*args, "--version", token.replace("cases@2", "cases@99")]) == 2
    assert "没有这个版本：cases@99" in capsys.readouterr().err
    assert main([*args, "--version", "cases@1"]) == 2
    assert "缺少这些表" in capsys.readouterr().err
    assert not out.exists()


def test_chinese_lines_and_headings_break_only_where_they_may() -> None:
    pdf = FPDF()
    pdf.add_font(FONT, "", str(FONT_FILES[""]), collection_font_number=FONT_FACE_SC)
    pdf.set_font(FONT, "", 10)
    char = pdf.get_string_width("字")
    # Room for five characters: "，" may not start a line, so "五" goes down with it.
    assert wrap_lines(pdf, "一二三四五，六七", 5 * char + 0.01) == ["一二三四", "五，六七"]
    # An opening bracket does not end a line.
    assert wrap_lines(pdf, "一二三四（五六）", 5 * char + 0.01) == ["一二三四", "（五六）"]
    # At the space where the name after it fits a line, never inside 第十四网格.
    assert wrap_lines(pdf, "滨河社区 第十四网格", 7 * char) == ["滨河社区", "第十四网格"]
    # A run of letters and digits stays whole.
    assert wrap_lines(pdf, "事项AJ2025-01612", 6 * char) == ["事项", "AJ2025-01612"]
    assert _heading_lines("办结天数中位数") == ["办结天数", "中位数"]
    assert _heading_lines("超30天未认领") == ["超30天", "未认领"]
    assert _heading_lines("名次变化") == ["名次", "变化"]
    assert _heading_lines("化解率") == ["化解率"]  # nowhere sensible: one line
    assert _heading_lines("Median days to resolve") == ["Median", "days", "to", "resolve"]


def pdf_text(data: bytes, tmp_path: Path, *options: str) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", *options, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_pdf_follow_ups_say_why_each_item_is_listed(tiny: Store, tmp_path: Path) -> None:
    text = pdf_text(build_report(tiny, OCTOBER, "pdf", generated_at=WHEN), tmp_path)
    flat = re.sub(r"\s", "", text)  # a cell's lines in reading order, run together
    # The 状态 column of an overdue case, an unclaimed wish and a failing company, with the
    # marks the PDF's font has (△ 接近 colour, × red): never blank.
    assert "△超期未办结" in flat  # K5, open 60 days
    assert "△超期未认领" in flat  # W4, unclaimed 77 days
    assert "×评星不合格或受处理" in flat  # 塞上物业, 2 stars
    # Grouped: 乙社区 has one case (30–60 days), one wish (60–180) and a company.
    assert "按社区和类别汇总" in flat


@needs_poppler
def test_the_data_stamp_is_the_same_on_the_page_the_pdf_and_the_xlsx(
    tiny: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    data = review(tiny, OCTOBER)
    stamp = data.stamp  # 数据截至 <the last commit's local time>（版本 <8 hex of the token>）
    assert re.fullmatch(r"数据截至 \d{4}-\d\d-\d\d \d\d:\d\d（版本 [0-9a-f]{8}）", stamp)
    assert stamp.endswith(f"（版本 {hashlib.sha256(data.token.encode()).hexdigest()[:8]}）")
    pdf = build_report(tiny, OCTOBER, "pdf", generated_at=WHEN)
    text = pdf_text(pdf, tmp_path)
    pages = text.split("\f")[:-1]
    # In every page's footer, in words; the technical token only on the last page.
    assert all(stamp in page for page in pages)
    assert [data.token in page for page in pages] == [False] * (len(pages) - 1) + [True]
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(rf"^Keywords:\s+{re.escape(data.token)}$", info, re.M)  # the properties
    book = openpyxl.load_workbook(
        io.BytesIO(build_report(tiny, OCTOBER, "xlsx", generated_at=WHEN))
    )
    summary = [r for r in book["综述"].iter_rows(values_only=True)]
    assert ("数据版本", stamp) in summary
    assert ("完整版本标识（按此标识可重建本报告）", data.token) in summary
    assert book.properties.keywords == data.token
    # The meeting page says the same words.
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(tiny.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/meeting.py")
    at.query_params["period"] = "2025-10"
    at.run()
    assert not at.exception
    shown = [c.value.replace("\\", "") for c in at.caption]
    assert any(line.endswith(stamp) for line in shown), shown
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_shared_rank_reads_3_equals_in_the_pdf_and_the_xlsx(tiny: Store, tmp_path: Path) -> None:
    data = review(tiny, OCTOBER)
    # As if 甲 and 丙 had the same score: both 1=, then 3 (see test_submissions for ties
    # coming out of the scores).
    league = data.league.assign(rank=[1, 1, 3], tied=[True, True, False])
    tied = replace(data, league=league.astype({"rank": "Int64"}))
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(tied, WHEN)))
    ranks = [row[0] for row in book["社区考核排名"].iter_rows(min_row=2)]
    assert [(c.value, c.number_format) for c in ranks] == [(1, '0"="'), (1, '0"="'), (3, "0")]
    if shutil.which("pdftotext"):
        lines = pdf_text(render_pdf(tied, WHEN), tmp_path, "-layout").splitlines()
        league_rows = [line.split() for line in lines if "社区" in line and "=" in line]
        assert [row[0] for row in league_rows[:2]] == ["1=", "1="]


def test_cli_report_defaults_to_the_latest_closed_month(
    tiny: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3 November: October's ledgers are due on the 5th, so September is the latest closed.
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-03T14:20")
    out = tmp_path / "r.xlsx"
    args = ["--data-dir", str(tiny.root), "report", "--format", "xlsx", "--out", str(out)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["period"] == "2025-09"
