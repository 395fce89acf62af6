"""The grid map (网格地图) on the pages, under AppTest on the fixture store with boundaries
uploaded for QTX01 (tests/fixtures/geo/valid.geojson) and QTX02 (qtx02.geojson); QTX03 has
none. Colours and cues worked out by hand from tests/fixtures/cases.csv for August 2025,
the resolution rate as of 31 August (target: green ≥ 95 %, amber ≥ 90 %, else red):

    QTX01  received C01 C02; resolved by 08-31: C01           1/2 = 50.0 %   ❌ red
    QTX02  received C08;     resolved by 08-31: C08           1/1 = 100.0 %  ✅ green
    QTX01's grids: G01 (C01 resolved)  1/1 = 100.0 % ✅;  G02 (C02 in September)  0/1 = 0.0 % ❌;
                   G03 no case in August: no figure, grey
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from conftest import FIXTURES
from streamlit.testing.v1 import AppTest
from test_pages import run_page

from metrics import access
from metrics.access import Principal
from metrics.store import Store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
ADMIN = Principal("admin@qtx.gov.cn", "admin")
RED, GREEN, GREY = "rgba(198,40,40,0.6)", "rgba(27,127,59,0.6)", "rgba(207,212,218,0.6)"


def shown(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app shows `store`, in local mode (the operator: every right), caches empty."""
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def mapped(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    for cid, name in (("QTX01", "valid.geojson"), ("QTX02", "qtx02.geojson")):
        data = (FIXTURES / "geo" / name).read_bytes()
        checked = access.check_boundaries(store, data, name, cid, ADMIN)
        access.upload_boundaries(store, checked, ADMIN)
    shown(store, monkeypatch)
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


def the_map(at: AppTest) -> dict[str, Any]:
    """The map's figure: the one chart whose last trace carries unit ids (its markers)."""
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [f for f in figures if f["data"] and f["data"][-1].get("customdata")]
    assert len(found) == 1
    return found[0]


def labels_and_fills(figure: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{unit id: (marker text, fill colour)}: the fills are the outline traces, in the
    order of the markers (one shell per unit here)."""
    markers = figure["data"][-1]
    fills = [t["fillcolor"] for t in figure["data"][:-1]]
    return {
        u: (text, fill)
        for u, text, fill in zip(markers["customdata"], markers["text"], fills, strict=True)
    }


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_overview_map_colours_communities_by_status(mapped: Store) -> None:
    at = run_page("overview", period="2025-08")
    assert labels_and_fills(the_map(at)) == {
        "QTX01": ("❌ 北苑社区<br>50.0%", RED),
        "QTX02": ("✅ 南苑社区<br>100.0%", GREEN),
    }
    assert any("社区地图：化解率（2025年8月）" in m.value for m in at.markdown)
    # Its text alternative: the same figures and cues in words, folded under the map.
    tables = [e.table[0].value for e in at.expander if e.label == "以表格显示"]
    table = next(t for t in tables if "目标状态" in t.columns)
    assert table.to_dict("records") == [
        {"名称": "北苑社区", "化解率": r"50\.0%", "目标状态": "❌ 未达标"},  # Markdown-escaped
        {"名称": "南苑社区", "化解率": r"100\.0%", "目标状态": "✅ 达标"},
    ]
    assert "未上传边界：东湖社区（示例）" in captions(at)
    assert not any("示意" in m.value for m in at.markdown)  # real boundaries: no 示意


def test_area_page_maps_the_chosen_communitys_grids(mapped: Store) -> None:
    at = run_page("cases", period="2025-08", community="QTX01")
    assert labels_and_fills(the_map(at)) == {
        "QTX01-G01": ("✅ 第一网格<br>100.0%", GREEN),
        "QTX01-G02": ("❌ 第二网格<br>0.0%", RED),
        "QTX01-G03": ("第三网格<br>（微网格）<br>—", GREY),
    }
    # Another metric of the page's ranking, without a target: light to dark by value.
    at.selectbox(key="map_metric_page_cases").set_value("cases_received").run()
    shown = labels_and_fills(the_map(at))
    # Cases received in August: G01 C01 = 1, G02 C02 = 1, G03 none = 0; all equal: mid tone.
    assert [text for text, _ in shown.values()] == [
        "第一网格<br>1",
        "第二网格<br>1",
        "第三网格<br>（微网格）<br>0",
    ]


def test_without_boundaries_the_page_says_so(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    shown(store, monkeypatch)
    at = run_page("wishes", period="2025-08")
    assert any("还没有任何社区上传网格边界" in i.value for i in at.info)


def test_upload_page_checks_and_keeps_boundaries(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown(store, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/upload.py")
    at.session_state["upload_kind"] = "boundaries"
    at.run()
    assert any(d.label == "下载边界模板（GeoJSON）" for d in at.get("download_button"))
    bad = (FIXTURES / "geo" / "duplicate.geojson").read_bytes()
    at.file_uploader[0].set_value(("边界.geojson", bad, "application/geo+json")).run()
    assert at.error[0].value == "边界文件未通过检查，没有保存任何内容："
    said = [m.value for m in at.main.markdown]
    assert any("第 2 个要素的 grid\\_id“QTX01\\-G01”与第 1 个要素重复" in m for m in said), said
    assert access.boundary_versions(store, "QTX01", ADMIN) == []
    good = (FIXTURES / "geo" / "partial.geojson").read_bytes()
    at.file_uploader[0].set_value(("边界.geojson", good, "application/geo+json")).run()
    assert "检查通过：2 个网格的边界。" in [s.value for s in at.success]
    assert "QTX01\\-G03" in at.warning[0].value
    at.button(key="geo_commit").click().run()
    assert not at.exception
    assert [v.version for v in access.boundary_versions(store, "QTX01", ADMIN)] == [1]
    assert "已保存社区 QTX01 的网格边界第 1 版（2 个网格）。" in [s.value for s in at.success]
