"""Every page at a phone's 390 px, a narrow window's 800 px and a laptop's 1440 px, in both
languages, in a real Chromium (issue 15.1): the page never scrolls sideways, on a phone the
sidebar starts collapsed, the KPI cards stand one a row and the charts take the full width,
and a table wider than the screen scrolls inside itself with its first column pinned.

One browser context per width serves all its pages (a page load is a new Streamlit session
all the same). Screenshots go to tests/artifacts/screens/ (look at them: a test cannot see
everything).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.test_browser import DASHBOARDS, LANGS, PAGES, screenshot, url, wait_for_app

WIDTHS = (390, 800, 1440)
PHONE = 390
# Every page's wide tables keep their first column in view.
UNPINNED_PAGES: set[str] = set()

# Anything in the main column that reaches past the screen's edges, unless a box between
# it and the main column clips it (a table's own scroller, a chart's clip path): that part
# scrolls inside its box, not the page.
OUTSIDE = """() => {
    const vw = window.innerWidth;
    const main = document.querySelector('[data-testid="stMain"]');
    const clipped = el => {
        for (let box = el.parentElement; box && box !== main; box = box.parentElement) {
            if (getComputedStyle(box).overflowX === 'visible') continue;
            const r = box.getBoundingClientRect();
            if (r.left >= -1 && r.right <= vw + 1) return true;
        }
        return false;
    };
    const out = [];
    for (const el of main.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || (r.right <= vw + 1 && r.left >= -1)) continue;
        if (clipped(el)) continue;
        const id = el.getAttribute('data-testid') || el.className.toString().slice(0, 40);
        const at = `${Math.round(r.left)}..${Math.round(r.right)}px`;
        out.push(`${el.tagName.toLowerCase()} ${id} at ${at}`);
    }
    return out.slice(0, 10);
}"""

PAGE_WIDTH = """() => ({
    scroll: document.documentElement.scrollWidth,
    view: window.innerWidth,
    main: document.querySelector('[data-testid="stMain"]').scrollWidth,
    mainView: document.querySelector('[data-testid="stMain"]').clientWidth,
})"""

# The sidebar as the reader finds it: collapsed (Streamlit's data-collapsed) and off screen.
SIDEBAR = """() => {
    const bar = document.querySelector('[data-testid="stSidebar"]');
    if (!bar) return {collapsed: true, right: 0};
    return {collapsed: bar.dataset.collapsed === 'true',
            right: Math.round(bar.getBoundingClientRect().right)};
}"""

# The width the main column gives its content, and the boxes of the cards and charts in it.
BOXES = """() => {
    const block = document.querySelector('[data-testid="stMainBlockContainer"]');
    const style = getComputedStyle(block);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const inner = block.clientWidth - padding;
    const box = el => { const r = el.getBoundingClientRect();
                        return {left: Math.round(r.left), width: Math.round(r.width)}; };
    return {
        inner: Math.round(inner),
        cards: [...document.querySelectorAll('[data-testid="stMain"] [class*="st-key-kpi_"]')]
            .map(box),
        charts: [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(box),
    };
}"""

# Every table that scrolls sideways is scrolled to its right end; which of them then no
# longer draws its first column (Streamlit mirrors the canvas grid's visible cells in an
# accessible table: a column scrolled out of view leaves it, a pinned one stays).
SCROLL_TABLES_RIGHT = """() => {
    const wide = [];
    document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]').forEach(
        (table, i) => {
            const scroller = table.querySelector('.dvn-scroller');
            if (!scroller || scroller.scrollWidth <= scroller.clientWidth + 1) return;
            scroller.scrollLeft = scroller.scrollWidth;
            table.setAttribute('data-screens-wide', String(i));
            wide.push(i);
        });
    return wide.length;
}"""
FIRST_COLUMN_GONE = """() => [...document.querySelectorAll('[data-screens-wide]')]
    .filter(table => table.querySelector('th[aria-colindex="1"]') === null)
    .map(table => {
        const keyed = table.closest('[class*="st-key-"]');
        const key = keyed ? [...keyed.classList].find(c => c.startsWith('st-key-')) : '';
        const heads = [...table.querySelectorAll('th')].map(th => th.textContent.trim());
        return `table ${table.dataset.screensWide} ${key} (shows ${heads.join(', ')})`;
    })"""


@pytest.fixture(scope="module")
def tab_at(browser: Any) -> Iterator[Callable[[int], Any]]:
    """One browser tab per width, kept for the module."""
    made: dict[int, tuple[Any, Any]] = {}

    def tab(width: int) -> Any:
        if width not in made:
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.page_errors = []
            page.on("pageerror", lambda error: page.page_errors.append(str(error)))
            made[width] = (context, page)
        page = made[width][1]
        page.page_errors.clear()
        return page

    yield tab
    for context, _ in made.values():
        context.close()


def width_problems(page: Any) -> list[str]:
    """The page scrolling sideways, or something in it reaching past the screen."""
    sizes = page.evaluate(PAGE_WIDTH)
    problems = []
    if sizes["scroll"] > sizes["view"]:
        problems.append(f"the page scrolls sideways: {sizes['scroll']}px > {sizes['view']}px")
    if sizes["main"] > sizes["mainView"] + 1:
        problems.append(f"the main column scrolls sideways: {sizes['main']}px")
    problems += [f"past the screen's edge: {o}" for o in page.evaluate(OUTSIDE)]
    return problems


def phone_problems(page: Any, name: str) -> list[str]:
    """At 390 px: the sidebar collapsed, one card a row, each chart the column's width."""
    problems = []
    bar = page.evaluate(SIDEBAR)
    if not bar["collapsed"] or bar["right"] > 0:
        problems.append(f"the sidebar is open on a phone: {bar}")
    boxes = page.evaluate(BOXES)
    inner = boxes["inner"]
    cards = boxes["cards"]
    if name in DASHBOARDS - {"meeting"} and not cards:
        problems.append("no KPI card")
    if len({c["left"] for c in cards}) > 1:
        problems.append(f"more than one card a row: lefts {sorted({c['left'] for c in cards})}")
    problems += [
        f"a card {c['width']}px wide of {inner}px" for c in cards if c["width"] < 0.95 * inner
    ]
    problems += [
        f"a chart {c['width']}px wide of {inner}px"
        for c in boxes["charts"]
        if c["width"] < 0.95 * inner
    ]
    return problems


def pinned_problems(page: Any) -> list[str]:
    if not page.evaluate(SCROLL_TABLES_RIGHT):
        return []
    with contextlib.suppress(PlaywrightTimeout):  # the grid redraws after the scroll event
        page.wait_for_function(f"() => ({FIRST_COLUMN_GONE})().length === 0", timeout=3_000)
    return [f"first column not pinned: {t}" for t in page.evaluate(FIRST_COLUMN_GONE)]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(PAGES))
@pytest.mark.parametrize("width", WIDTHS)
def test_page_fits_the_screen(
    tab_at: Callable[[int], Any], app_url: str, artifacts: Path, width: int, name: str, lang: str
) -> None:
    page = tab_at(width)
    page.goto(url(app_url, PAGES[name][0], lang), wait_until="domcontentloaded")
    wait_for_app(page, charts=name in DASHBOARDS)
    problems = width_problems(page)
    if width == PHONE:
        problems += phone_problems(page, name)
    shot = artifacts / "screens" / f"{name}-{lang}-{width}px.png"
    shot.parent.mkdir(exist_ok=True)
    screenshot(page, shot)  # before the tables are scrolled sideways
    if name not in UNPINNED_PAGES:
        problems += pinned_problems(page)
        problems += width_problems(page)  # a scrolled table still scrolls inside itself
    problems += [f"JavaScript error: {e}" for e in page.page_errors]
    assert not problems, f"{name} ({lang}) at {width}px, see {shot}:\n" + "\n".join(problems)


def test_a_warnings_reason_is_read_whole(
    tab_at: Callable[[int], Any], app_url: str, artifacts: Path
) -> None:
    """The reason, the warnings' one long column, wraps over three lines instead of ending
    in "…": Streamlit wraps a cell's text only in rows taller than 4rem (64 px), so every
    row of the table is (the table's scroll area is as tall as all its rows)."""
    page = tab_at(1440)
    page.goto(url(app_url, "/warnings", "zh"), wait_until="domcontentloaded")
    wait_for_app(page)
    count = page.locator('[data-testid="stMain"] strong', has_text="预警").first.inner_text()
    warnings = sum(int(n) for n in re.findall(r"\d+", count))  # 红色 n 条，黄色 m 条
    assert warnings > 0, count
    table = '[data-testid="stMain"] [data-testid="stDataFrame"]'  # the page's one table
    scroller = page.locator(f"{table} .dvn-scroller").first
    height = scroller.evaluate("el => el.scrollHeight")
    # the header row (35 px) and `warnings` rows of at least 65 px
    assert height >= 35 + 65 * warnings, f"{height}px for {warnings} warnings: rows are cut short"
    page.screenshot(path=artifacts / "screens" / "warnings-reasons.png")
