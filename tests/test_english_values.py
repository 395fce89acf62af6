"""English readers (issue 15): every allowed value of the contract has an English label
(metrics/schemas.VALUE_EN, listed in docs/data-contract.md), shown on English pages and in
English reports; the stored values stay Chinese."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from metrics.i18n import value_label
from metrics.report import build_report
from metrics.schemas import DATASETS, VALUE_EN
from metrics.store import Store
from tests.test_pages import data_dir  # noqa: F401  (a fixture)

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CONTRACT = (Path(__file__).resolve().parent.parent / "docs" / "data-contract.md").read_text(
    encoding="utf-8"
)
ALLOWED = {(d.name, f.name): f for d in DATASETS.values() for f in d.fields if f.allowed}


def test_every_allowed_value_has_an_english_label_in_the_contract() -> None:
    section = CONTRACT.split("## 可选值的英文")[1].split("\n## ")[0]
    for (dataset, name), f in ALLOWED.items():
        labels = [f.value_label(v, "en") for v in f.allowed]
        assert all(v in VALUE_EN for v in f.allowed), (dataset, name)
        assert len(set(labels)) == len(labels), (dataset, name, "two values, one label")
        for value in f.allowed:
            assert f"| {value} | {VALUE_EN[value]} |" in section, value
            assert f"`{dataset}.{name}`" in section
            assert f.value_label(value, "zh") == value  # Chinese readers see the stored value
    assert value_label("民情督办单", "en") == "Supervision order"
    assert value_label("邻里纠纷", "en") == "邻里纠纷"  # free text is not translated


@pytest.mark.usefixtures("data_dir")  # the fixture store, in local mode
def test_the_english_cases_page_shows_types_and_channels_in_english(store: Store) -> None:
    # QTX01's September cases (tests/fixtures/cases.csv): C03 矛盾纠纷/协商月,
    # C04 矛盾纠纷/协商月, C05 急难愁盼/民情督办单.
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("pages/cases.py")
    for key, value in {"lang": "en", "period": "2025-09", "community": "QTX01"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    records = at.dataframe[-1].value
    assert sorted(records["Type"]) == ["Dispute", "Dispute", "Urgent problem"]
    assert sorted(records["Channel"]) == [
        "Consultation month",
        "Consultation month",
        "Supervision order",
    ]
    con = store.connect()
    stored = con.execute("SELECT channel FROM cases WHERE case_id = 'C05'").fetchone()
    con.close()
    assert stored == ("民情督办单",)  # stored in Chinese


def test_the_english_report_says_the_contract_values_in_english(store: Store) -> None:
    book = openpyxl.load_workbook(io.BytesIO(build_report(store, "2025-10", "xlsx", lang="en")))
    texts = [
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    ]
    chinese = {v for f in ALLOWED.values() for v in f.allowed if len(v) > 1}
    leaks = [s for s in texts if any(v in s for v in chinese)]
    assert not leaks, leaks[:5]
    # C05 (QTX01, 急难愁盼 · 供暖供水, under a supervision order, open since 2025-09-25).
    assert any(s.startswith("Urgent problem · 供暖供水") for s in texts), texts
    chinese_book = openpyxl.load_workbook(io.BytesIO(build_report(store, "2025-10", "xlsx")))
    zh = [
        str(v)
        for ws in chinese_book.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if v
    ]
    assert any(s.startswith("急难愁盼·供暖供水") for s in zh)
