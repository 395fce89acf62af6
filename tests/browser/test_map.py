"""The grid map (网格地图) in a real Chromium on the demo: it draws from the demo's schematic
boundaries and says 示意, a click on a community's marker drills down to its grids, and no
request leaves 127.0.0.1 (no tile, style or topojson server). Screenshots in
tests/artifacts/map-*.png: look at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.test_browser import CHART_MARKS, screenshot, wait_for_app

# The map: the Plotly chart whose annotation says it is schematic (示意图…).
MAP = '.js-plotly-plot:has(g.annotation-text-g:has-text("示意图"))'


def map_labels(page: Any) -> list[str]:
    """The markers' texts (cue, name, figure) as drawn."""
    texts: list[str] = page.locator(f"{MAP} g.textpoint text").all_text_contents()
    return texts


def outside_requests(page: Any) -> list[str]:
    return [u for u in page.asked if urlsplit(u).hostname not in ("127.0.0.1", None)]


@pytest.mark.slow  # two page runs, a click and its rerun, photographed: 69 s on 2 busy cores
def test_map_draws_and_a_click_drills_down(page: Any, app_url: str, artifacts: Path) -> None:
    page.asked = []
    page.on("request", lambda request: page.asked.append(request.url))
    page.goto(f"{app_url}/", wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    chart = page.locator(MAP)
    chart.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({CHART_MARKS})().every(n => n > 0)")
    assert page.get_by_text("（示意）").first.is_visible(), "the title says 示意"
    labels = map_labels(page)
    # Twelve communities, each with its status cue where it has a figure.
    assert len(labels) == 12, labels
    assert any("北苑社区" in text for text in labels)
    assert all(text[:1] in "✅⚠❌" for text in labels), labels
    chart.screenshot(path=artifacts / "map-overview.png")
    screenshot(page, artifacts / "map-overview-page.png")

    # A click on 北苑社区's marker: the community filter becomes it, the map its grids.
    target = page.locator(f"{MAP} g.textpoint text", has_text="北苑社区").first
    target.scroll_into_view_if_needed()  # the full-page shot moved the view
    page.wait_for_timeout(500)
    box = target.bounding_box()
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*middle)  # Plotly clicks the point it hovers
    page.wait_for_timeout(500)
    page.mouse.click(*middle)
    page.wait_for_function("() => location.search.includes('community=QTX01')", timeout=30_000)
    wait_for_app(page, charts=True)
    page.locator(MAP).scroll_into_view_if_needed()
    page.locator(f"{MAP} g.textpoint text", has_text="第一网格").first.wait_for(timeout=30_000)
    grids = map_labels(page)
    assert len(grids) == 18, grids  # 北苑社区 has 18 grids in the demo
    assert page.get_by_text("网格地图").first.is_visible()
    page.locator(MAP).screenshot(path=artifacts / "map-grids.png")
    screenshot(page, artifacts / "map-grids-page.png")
    assert not page.page_errors, page.page_errors
    assert not outside_requests(page), outside_requests(page)


@pytest.mark.slow  # a whole area page with its map: 40 s on 2 busy cores
def test_an_area_page_maps_and_stays_local(page: Any, app_url: str, artifacts: Path) -> None:
    page.asked = []
    page.on("request", lambda request: page.asked.append(request.url))
    page.goto(f"{app_url}/cases?community=QTX02", wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    page.locator(MAP).scroll_into_view_if_needed()
    labels = map_labels(page)
    assert len(labels) == 16, labels  # 南苑社区's 16 grids
    page.locator(MAP).screenshot(path=artifacts / "map-cases-grids.png")
    assert not outside_requests(page), outside_requests(page)
