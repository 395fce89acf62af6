"""Meeting mode, one section a screen (issue 15.6), in a real Chromium at a projector's
1920x1080 and a laptop's 1440x900, in both languages: every section (and every view of a
section that has several) is drawn, measured, and must fit the screen: the page does not
scroll, the section starts right under a one-line heading (not under the page's ~430 px
title block), and its content fits the room left without a scroll of its own; only a table
longer than the screen (the follow-up items) may scroll inside itself, under its header.
Screenshots of the screen as shown go to tests/artifacts/meeting/.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metrics.i18n import t
from tests.browser.test_browser import LANGS, ROOT, url, wait_for_app

SCREENS = ((1920, 1080), (1440, 900))
# The page's own list (importing a page would run it): SECTIONS = (...) in pages/meeting.py.
SECTIONS: tuple[str, ...] = next(
    ast.literal_eval(node.value)
    for node in ast.parse((ROOT / "pages" / "meeting.py").read_text(encoding="utf-8")).body
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SECTIONS"
)
# The views of a section too tall for one screen (pages/meeting.py `_heading`).
VIEWS = {"league": ("table", "chart", "breakdown"), "followups": ("groups", "list")}
HEADING_PX = 200  # the section starts above this: the heading and the chooser only
# Sections whose tables may be longer than the screen and then scroll inside themselves.
TABLES_MAY_SCROLL = {("followups", "list"), ("followups", "groups")}

MEASURE = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const body = document.querySelector('.st-key-meeting_body');
    const box = body.getBoundingClientRect();
    const tables = [...body.querySelectorAll('[data-testid="stTable"]')]
        .filter(t => t.offsetParent !== null && t.clientHeight > 0);  // not folded away
    return {
        pageHeight: main.scrollHeight, screen: window.innerHeight,
        top: Math.round(box.top), bottom: Math.round(box.bottom),
        content: body.scrollHeight, room: body.clientHeight,
        // how tall the section's own content is (the box itself fills the screen's rest)
        used: Math.round(Math.max(box.top, ...[...body.children]
            .map(c => c.getBoundingClientRect().bottom)) - box.top),
        scrollingTables: tables.filter(t => t.scrollHeight > t.clientHeight + 1).length,
        tableBottoms: tables.map(t => Math.round(t.getBoundingClientRect().bottom)),
    };
}"""


@pytest.fixture
def projector(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()


def choose(page: Any, container: str, label: str) -> None:
    """Press the segmented-control button of that exact label, and wait for the rerun."""
    exact = re.compile(f"^{re.escape(label)}$")
    page.locator(f".st-key-{container} button").filter(has_text=exact).first.click()
    wait_for_app(page)


def fit_problems(page: Any, what: str, sizes: dict[str, Any], may_scroll: bool) -> list[str]:
    problems = []
    if sizes["pageHeight"] > sizes["screen"] + 1:
        problems.append(f"{what}: the page is {sizes['pageHeight']}px tall on {sizes['screen']}")
    if sizes["top"] > HEADING_PX:
        problems.append(f"{what}: starts {sizes['top']}px down, under a tall heading")
    if sizes["bottom"] > sizes["screen"] + 1:
        problems.append(f"{what}: ends at {sizes['bottom']}px, below the screen")
    if sizes["content"] > sizes["room"] + 1:
        problems.append(f"{what}: {sizes['content']}px of content in {sizes['room']}px")
    if sizes["scrollingTables"] and not may_scroll:
        problems.append(f"{what}: a table scrolls inside itself")
    return problems


@pytest.mark.slow  # 25-60 s each: ten views, each a rerun measured and photographed
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("projector", SCREENS, indirect=True, ids=lambda s: f"{s[0]}x{s[1]}")
def test_each_meeting_section_fits_one_screen(
    projector: Any, app_url: str, artifacts: Path, lang: str
) -> None:
    page = projector
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    page.goto(url(app_url, "/meeting", lang), wait_until="domcontentloaded")
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(t("meeting_mode", lang)).click()
    wait_for_app(page)
    folder = artifacts / "meeting"
    folder.mkdir(exist_ok=True)
    problems: list[str] = []
    heights: list[str] = []
    for section in SECTIONS:
        choose(page, "meeting_section", t(f"sec_{section}", lang))
        for view in VIEWS.get(section, ("",)):
            if view:
                choose(page, f"{section}_view", t(f"meeting_view_{view}", lang))
            if view == "chart":
                wait_for_app(page, charts=True)
            what = f"{section}{'/' + view if view else ''}"
            sizes = page.evaluate(MEASURE)
            heights.append(f"{what} {sizes['top']}+{sizes['used']}px")
            may_scroll = (section, view) in TABLES_MAY_SCROLL
            problems += fit_problems(page, what, sizes, may_scroll)
            name = f"{section}{'-' + view if view else ''}-{lang}-{width}x{height}.png"
            page.screenshot(path=folder / name)  # the screen as the room sees it
    problems += [f"JavaScript error: {e}" for e in page.page_errors]
    print(f"{width}x{height} {lang}: " + ", ".join(heights))
    assert not problems, f"meeting mode at {width}x{height} ({lang}), see {folder}:\n" + "\n".join(
        problems
    )
