"""The pages' side of meeting-grade figures (issue 12), under AppTest on the fixture store
(tests/fixtures): the placement rate, the property companies' league, grids without
employment figures, 本年累计 and 全部 periods, the fulfilment rate's 未到期 companion and
the notes that say the rules. Values worked out by hand from the fixture CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from metrics.i18n import t
from tests.test_pages import cards, data_dir, run_page

__all__ = ["data_dir"]  # the fixture, used by name below


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_employment_page_has_the_placement_rate(data_dir: Path) -> None:
    # September: QTX01 (2 stable + 7 flexible) of 12 seekers, QTX02 (0 + 3) of 6; QTX03
    # sent no report. The city (2 + 7 + 0 + 3) / 18 = 66.7 %.
    at = run_page("employment", period="2025-09")
    assert cards(at)["就业安置率"] == "66.7%"
    ranking = at.dataframe[0].value
    assert list(ranking["社区"]) == ["北苑社区", "南苑社区", "东湖社区（示例）"]
    assert list(ranking["就业安置率"][:2]) == [75.0, 50.0]  # 9/12 | 3/6, in percent
    assert pd.isna(ranking["就业安置率"].iloc[2]) and pd.isna(ranking["灵活就业"].iloc[2])
    assert t("note_placement_rate") in captions(at)


def test_grids_show_no_employment_figure_and_say_why(data_dir: Path) -> None:
    # The overview drilled into QTX01 ranks its grids; employment, ratings and staffing are
    # reported per community: "—" in a grid's row, never 0, and a note says so.
    at = run_page("overview", period="2025-09", community="QTX01")
    ranking = at.dataframe[0].value
    assert set(ranking["网格"]) >= {"第一网格", "第二网格"}
    assert ranking["灵活就业"].isna().all()
    assert ranking["物业平均星级"].isna().all()
    note = t("not_by_grid_note", metrics="灵活就业、物业平均星级、每万人社区工作者")
    assert note in captions(at)


def test_property_page_ranks_the_companies(data_dir: Path) -> None:
    # 2025Q3: 宁安物业 5★ (北苑 春华苑), 金域物业 4★ (北苑 夏华苑), 塞上物业 2★ (南苑 秋华苑,
    # 约谈整改).
    at = run_page("property", kind="quarter", period="2025Q3")
    league = at.dataframe[1].value
    assert list(league["物业企业"]) == ["宁安物业", "金域物业", "塞上物业"]
    assert list(league["排名"]) == ["1", "2", "3"]
    assert list(league["平均星级"]) == [5.0, 4.0, 2.0]
    assert list(league["整改处理"]) == [0, 0, 1]
    assert list(league["最低星级季度"]) == ["2025Q3"] * 3
    assert t("company_league_rule") in captions(at)
    # The year 2025 (ratings of Q2, Q3, Q4): 宁安 5 5, 金域 4 3, 塞上 3 2 1 (two
    # sanctions), its worst 1★ in 2025Q4.
    year = run_page("property", kind="year", period="2025").dataframe[1].value
    rows = year.set_index("物业企业")
    assert rows.loc["塞上物业", ["平均星级", "最低星级", "最低星级季度", "整改处理"]].tolist() == [
        2.0,
        1,
        "2025Q4",
        2,
    ]
    assert rows.loc["金域物业", "平均星级"] == 3.5


def test_year_to_date_and_all_from_the_url(data_dir: Path) -> None:
    # January to October 2025: cases C01–C06 and C08–C11 received (10); resolved by
    # 31 October: C01 C02 C03 C06 C08 C10 (6): 60.0 %. No 2024 data: 同比 "—".
    at = run_page("cases", kind="ytd", period="2025-10YTD")
    assert any(m.value == "##### 全市 · 2025年1—10月（本年累计）" for m in at.markdown)
    values = cards(at)
    assert values["受理事项"] == "10件" and values["化解率"] == "60.0%"
    assert any(c.endswith("同比 —") for c in captions(at))
    assert t("note_as_of_cases") in captions(at)
    # 全部: from the data's first month (August 2025) to November: every case; 环比 and
    # 同比 would be before the data: "—", no delta on the card.
    at = run_page("cases", kind="all", period="2025-08..2025-11ALL")
    assert any("全部（2025年8月—2025年11月）" in m.value for m in at.markdown)
    received = next(m for m in at.metric if m.label == "受理事项")
    assert received.value == "12件" and not received.delta
    assert "环比：—（—）" in received.help and "同比：—（—）" in received.help


def test_wishes_page_shows_the_wishes_not_yet_due(data_dir: Path) -> None:
    at = run_page("wishes", period="2025-09")
    values = cards(at)
    # September's W03 and W04 were judged long ago: neither fulfilled in time; none 未到期.
    assert values["心愿实现率"] == "0.0%" and values["未到期心愿"] == "0个"
    assert t("note_as_of_wishes") in captions(at)
