"""No control covers a chart's legend, on a phone (390 px), a narrow window (800 px) and a
desktop (1440 px): Plotly's toolbar comes over the chart's top right while the pointer is
on it (after a tap on a phone), so the legend sits at the chart's foot, clear of the
axis labels too (pages/_charts.py style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_browser import screenshot, url, wait_for_app

WIDTHS = (390, 800, 1440)
# Pages whose trend has several lines, so a legend: the overview (3), cases (4).
PAGES = {"overview": "/", "cases": "/cases"}

# Per chart with a legend: the boxes of the legend, of what may come over it (Plotly's
# toolbar, Streamlit's element toolbar) and of the axis labels it must not run into.
BOXES = """(plot) => {
    const box = el => {
        const r = el.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    };
    const legend = plot.querySelector('g.legend');
    const element = plot.closest('[data-testid="stElementContainer"]');
    const controls = [...plot.querySelectorAll('.modebar'),
        ...(element ? element.querySelectorAll('[data-testid="stElementToolbar"]') : [])]
        .filter(el => getComputedStyle(el).opacity !== '0' && el.getClientRects().length);
    const labels = [...plot.querySelectorAll('g.xtick text, g.ytick text, .xtitle, .ytitle')];
    return {
        legend: legend && box(legend),
        plot: box(plot),
        controls: controls.map(box),
        labels: labels.map(el => ({text: el.textContent, ...box(el)})),
    };
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"] - 1
        and b["left"] < a["right"] - 1
        and a["top"] < b["bottom"] - 1
        and b["top"] < a["bottom"] - 1
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_control_covers_a_legend(
    page: Any, app_url: str, artifacts: Path, name: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url(app_url, PAGES[name], "zh"), wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    plots = page.locator(".js-plotly-plot")
    problems, legends = [], 0
    for i in range(plots.count()):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        plot.hover()  # the toolbars show while the pointer is on the chart
        page.wait_for_timeout(400)
        boxes = plot.evaluate(BOXES)
        if boxes["legend"] is None:
            continue
        legends += 1
        if not boxes["controls"]:
            problems.append(f"chart {i}: no toolbar showed on hover (the test saw nothing)")
        legend = boxes["legend"]
        problems += [f"chart {i}: a toolbar {c} covers the legend {legend}"
                     for c in boxes["controls"] if overlap(c, legend)]  # fmt: skip
        problems += [f"chart {i}: the legend runs into the label {label['text']!r}"
                     for label in boxes["labels"] if overlap(label, legend)]  # fmt: skip
        if legend["bottom"] > boxes["plot"]["bottom"] + 1 or legend["left"] < boxes["plot"]["left"]:
            problems.append(f"chart {i}: the legend {legend} leaves the chart {boxes['plot']}")
        if i == 0:
            page.screenshot(path=artifacts / f"legend-{name}-{width}px.png")
    screenshot(page, artifacts / f"charts-{name}-{width}px.png")
    assert legends, "no chart with a legend: the test checked nothing"
    assert not problems, "\n".join(problems)
