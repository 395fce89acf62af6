"""Every page opens on the latest closed period, says which period it shows, and marks the
periods not yet closed 未截止 (AppTest, the tiny store of test_review).

The clock reads 2025-11-03 14:20 (GOVDASH_NOW): October's ledgers are due on 5 November,
so September is the latest closed month, 2025Q3 the latest closed quarter, 2025H1 the
latest closed half-year and 2024 the latest closed year. A clerk has already sent a case of
November (K10): the month appears, marked 未截止, but nobody is moved onto it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics.store import Store
from tests.test_review import build_store, upload

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NOVEMBER_CASE = "K10,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-11-02,,办理中\n"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    store: Store = build_store(tmp_path / "data")
    upload(store, "cases", NOVEMBER_CASE, "A01", "2025-11")
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-03T14:20")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store.root
    st.cache_resource.clear()
    st.cache_data.clear()


def run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page(f"pages/{page}.py")
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def period_box(at: AppTest) -> Any:
    return next(s for s in at.sidebar.selectbox if s.label == "统计期")


def test_the_overview_opens_on_the_latest_closed_month(data_dir: Path) -> None:
    at = run("overview")
    box = period_box(at)
    assert box.value == "2025-09"  # not November (K10)
    # The choices as shown, the latest first.
    assert box.options[:3] == ["2025年11月（未截止）", "2025年10月（未截止）", "2025年9月"]
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert any(
        c.startswith("显示最近已截止的统计期：2025年9月（报送截止 2025年10月5日）")
        for c in captions
    ), captions


def test_an_open_month_can_be_picked_and_says_so(data_dir: Path) -> None:
    at = run("cases", period="2025-11")
    assert period_box(at).value == "2025-11"
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert "2025年11月未截止：台账报送截止 2025年12月5日，数字可能不完整，还会变化。" in warnings


@pytest.mark.parametrize(
    ("kind", "default"), [("quarter", "2025Q3"), ("half", "2025H1"), ("year", "2024")]
)
def test_longer_periods_close_with_their_last_month(
    data_dir: Path, kind: str, default: str
) -> None:
    at = run("overview", kind=kind)
    assert period_box(at).value == default


def test_the_meeting_opens_on_the_latest_closed_month(data_dir: Path) -> None:
    at = run("meeting")
    assert period_box(at).value == "2025-09"
    assert any("2025年9月" in m.value for m in at.markdown if m.value.startswith("#####"))
