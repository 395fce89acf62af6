"""Every page in both languages, in a real Chromium: it draws, it says what it is, it fits.

A page is loaded, left to finish its script run, photographed to tests/artifacts/ (look at
them: a test cannot see everything), and then checked. Each test collects every problem it
finds before failing, so one run reports all that is wrong with a page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from metrics.i18n import t

ROOT = Path(__file__).resolve().parents[2]
PAGES = {  # name in pages/: (URL path, title key in messages.yaml)
    "overview": ("/", "page_overview"),
    "meeting": ("/meeting", "page_meeting"),
    "followups": ("/followups", "page_followups"),
    "warnings": ("/warnings", "page_warnings"),
    "cases": ("/cases", "page_cases"),
    "wishes": ("/wishes", "page_wishes"),
    "employment": ("/employment", "page_employment"),
    "property": ("/property", "page_property"),
    "registry": ("/registry", "page_registry"),
    "upload": ("/upload", "page_upload"),
    "admin": ("/admin", "page_admin"),
}
# Pages that show figures: each must have KPI cards, drawn charts and the demo badge.
DASHBOARDS = {"overview", "meeting", "cases", "wishes", "employment", "property", "registry"}
LANGS = ("zh", "en")
RUN_SECONDS = 90  # the first page view also builds the demo store

# Done: connected, the script has stopped and the "Running..." widget is gone.
APP_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null
        && app.dataset.testConnectionState === 'CONNECTED'
        && app.dataset.testScriptState === 'notRunning'
        && document.querySelector('[data-testid="stStatusWidget"]') === null;
}"""

# Per Plotly chart on the page, how many marks it drew (bar, line, marker and slice paths).
CHART_MARKS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot =>
    [...plot.querySelectorAll('g.trace path')].filter(p => {
        const d = p.getAttribute('d') || '';
        return d.length > 4 && d !== 'M0,0Z';
    }).length
)"""

# Widths that would make the reader scroll sideways, for the page and the main column.
OVERFLOW = """() => {
    const over = [];
    const root = document.documentElement;
    if (root.scrollWidth > window.innerWidth + 1) over.push(`page ${root.scrollWidth}px`);
    for (const id of ['stMain', 'stMainBlockContainer', 'stSidebarContent']) {
        const el = document.querySelector(`[data-testid="${id}"]`);
        if (el && el.scrollWidth > el.clientWidth + 1)
            over.push(`${id} ${el.scrollWidth}px > ${el.clientWidth}px`);
    }
    return over;
}"""

# KPI values cut short with an ellipsis: the card is too narrow for the number and its unit.
TRUNCATED_KPIS = """() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
    .filter(value => [value, ...value.querySelectorAll('*')]
        .some(el => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1))
    .map(value => value.textContent.trim())"""

# KPI titles cut short the same way (they wrap instead; the full text is also the tooltip).
TRUNCATED_TITLES = TRUNCATED_KPIS.replace("stMetricValue", "stMetricLabel")

# The visible text on screen, HTML and SVG (chart axes and legends) alike.
VISIBLE_TEXTS = """() => {
    // Streamlit's own file-uploader chrome ("Upload", "200MB per file") has no Chinese; a
    // command set in code (`python -m metrics init`) is typed as it stands, in any language.
    const SKIP = 'script, style, code, .modebar-container, [data-testid="stFileUploaderDropzone"]';
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const text = node.textContent.trim();
        const el = node.parentElement;
        if (!text || !el || el.closest(SKIP)) continue;
        const box = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        // 1px boxes are screen-reader-only text, such as Streamlit's "Skip to main content".
        if (box.width <= 1 || box.height <= 1 || style.visibility === 'hidden') continue;
        // Icons are ligatures: the text "upload_file" draws a glyph, not words.
        if (style.fontFamily.includes('Material')) continue;
        out.push(text);
    }
    return out;
}"""


# English that may stand in the Chinese UI: the language switch offers it by name.
ALLOWED_ENGLISH = {"English", "Language", "语言 / Language"}
ENGLISH = re.compile(
    r"[A-Za-z]{3,}(?:[ -][A-Za-z]{2,})+"  # two or more words: a phrase, not a code or unit
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"  # Plotly's default dates
    r"|[a-z0-9]+_[a-z0-9_]+|\w+@-?\d"  # identifiers from the code: metric_id, table@version
)
# A table header with a lowercase word in it is a column name from the code, not a label.
CODE_HEADER = re.compile(r"[a-z]{3,}|_")

# Column headers of every st.dataframe: drawn on a canvas, but mirrored in an accessible table.
TABLE_HEADERS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"] th')]
    .map(th => th.textContent.trim()).filter(text => text)"""
TABLE_CELLS = """() => [...document.querySelectorAll('[data-testid="stDataFrame"] td')]
    .map(td => td.textContent.trim()).filter(text => text)"""
# What a missing value looks like when it leaks through as text.
NOT_A_VALUE = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT|<NA>|undefined)(?![A-Za-z])")


def url(app_url: str, path: str, lang: str) -> str:
    return f"{app_url}{path}" + ("?lang=en" if lang == "en" else "")


def wait_for_app(page: Any, charts: bool = False) -> None:
    """Until the script run is over and stays over: a query-parameter rerun may follow.

    With `charts`, also until at least one Plotly chart is on the page and every chart has
    its marks: Streamlit loads the Plotly component lazily and Plotly draws after the run
    ends, so on a slow machine the first chart can appear seconds after the script stops.
    """
    for _ in range(2):
        page.wait_for_function(APP_IDLE, timeout=RUN_SECONDS * 1000)
        page.wait_for_timeout(500)
    drawn = f"() => {{ const m = ({CHART_MARKS})(); return m.length > 0 && m.every(n => n > 0); }}"
    try:
        page.wait_for_function(
            drawn if charts else f"() => ({CHART_MARKS})().every(n => n > 0)",
            timeout=20_000 if charts else 5_000,
            polling=200,
        )
    except PlaywrightTimeout:  # a missing or empty chart is reported by the test, with the rest
        return


def screenshot(page: Any, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main column, not the document, so the
    viewport is made as tall as the content for the shot."""
    height = page.evaluate(
        """() => Math.max(...['stMain', 'stMainBlockContainer', 'stSidebarContent']
            .map(id => document.querySelector(`[data-testid="${id}"]`))
            .filter(el => el).map(el => el.scrollHeight), window.innerHeight)"""
    )
    viewport = page.viewport_size
    page.set_viewport_size({"width": viewport["width"], "height": min(int(height), 12_000)})
    page.wait_for_timeout(300)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(viewport)


def english_texts(page: Any) -> list[str]:
    texts = page.evaluate(VISIBLE_TEXTS)
    leaks = {s for s in texts if s not in ALLOWED_ENGLISH and ENGLISH.search(s)}
    leaks |= {f"table header {h}" for h in page.evaluate(TABLE_HEADERS) if CODE_HEADER.search(h)}
    return sorted(leaks)


def open_page(page: Any, app_url: str, artifacts: Path, name: str, lang: str) -> None:
    page.goto(url(app_url, PAGES[name][0], lang), wait_until="domcontentloaded")
    wait_for_app(page, charts=name in DASHBOARDS)
    screenshot(page, artifacts / f"{name}-{lang}.png")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(page: Any, app_url: str, artifacts: Path, name: str, lang: str) -> None:
    open_page(page, app_url, artifacts, name, lang)
    main = page.locator('[data-testid="stMain"]')
    problems = []

    title = t(PAGES[name][1], lang)
    if not main.locator("h1", has_text=title).first.is_visible():
        problems.append(f"title {title!r} not visible")
    if (n := page.locator('[data-testid="stException"]').count()) > 0:
        problems.append(f"{n} exception box(es)")
    if "Traceback" in page.locator("body").inner_text():
        problems.append("a Traceback is shown")
    if name in DASHBOARDS:
        badge = t("demo_badge", lang)
        if not main.get_by_text(badge).first.is_visible():
            problems.append(f"demo badge {badge!r} not visible")
        if page.locator('[data-testid="stMetric"]').count() == 0:
            problems.append("no KPI card")
        marks = page.evaluate(CHART_MARKS)
        if not marks:
            problems.append("no Plotly chart")
        elif 0 in marks:
            problems.append(f"empty chart(s): marks per chart {marks}")
    problems += layout_problems(page)
    if lang == "zh":
        problems += [f"English in the Chinese UI: {text!r}" for text in english_texts(page)]

    shot = f"tests/artifacts/{name}-{lang}.png"
    assert not problems, f"{name} ({lang}), see {shot}:\n" + "\n".join(problems)


def layout_problems(page: Any) -> list[str]:
    """What every page must avoid at any width: KPI figures or titles cut short, sideways
    scrolling, script errors, and a missing value shown as 'nan' or 'None'."""
    problems = [f"KPI value cut off: {v!r}" for v in page.evaluate(TRUNCATED_KPIS)]
    problems += [f"KPI title cut off: {v!r}" for v in page.evaluate(TRUNCATED_TITLES)]
    problems += [f"horizontal overflow: {o}" for o in page.evaluate(OVERFLOW)]
    problems += [f"JavaScript error: {e}" for e in page.page_errors]
    shown = page.evaluate(VISIBLE_TEXTS) + page.evaluate(TABLE_CELLS)
    problems += [f"a missing value as text: {s!r}" for s in shown if NOT_A_VALUE.search(s)]
    return problems


NARROW = 800  # px: a laptop window with the sidebar open leaves the page about 470 px


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(DASHBOARDS - {"meeting"}))
def test_dashboard_fits_a_narrow_window(
    page: Any, app_url: str, artifacts: Path, name: str, lang: str
) -> None:
    """At 800 px the KPI cards wrap two a row, the charts stack, and nothing is cut short."""
    page.set_viewport_size({"width": NARROW, "height": 900})
    page.goto(url(app_url, PAGES[name][0], lang), wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    shot = artifacts / f"{name}-{lang}-{NARROW}px.png"
    screenshot(page, shot)
    problems = layout_problems(page)
    cards = page.locator('[data-testid="stMetric"]')
    lefts = {round(cards.nth(i).bounding_box()["x"]) for i in range(cards.count())}
    if len(lefts) > 2:
        problems.append(f"{len(lefts)} cards a row at {NARROW} px")
    assert not problems, f"{name} ({lang}), see {shot}:\n" + "\n".join(problems)


def test_filters_follow_the_reader_and_a_ranking_row_drills_down(
    page: Any, app_url: str, artifacts: Path
) -> None:
    """The sidebar's page links keep the filters; selecting a row of the ranking opens that
    community."""
    page.goto(f"{app_url}/?kind=quarter&period=2025Q3&community=QTX01")
    wait_for_app(page, charts=True)
    page.locator('[data-testid="stSidebarNav"] a', has_text=t("page_wishes", "zh")).click()
    wait_for_app(page, charts=True)
    scope = page.locator('[data-testid="stMain"] h5').first.inner_text()
    assert scope == "北苑社区 · 2025年第3季度", scope
    assert "community=QTX01" in page.url and "period=2025Q3" in page.url, page.url

    page.goto(f"{app_url}/cases?period=2025-12")
    wait_for_app(page, charts=True)
    ranking = page.locator('[data-testid="stDataFrame"]').first
    ranking.scroll_into_view_if_needed()
    box = ranking.bounding_box()
    first_row = (box["x"] + 20, box["y"] + 35 + 18)  # the row's selection box, under the header
    page.mouse.move(*first_row)
    page.mouse.click(*first_row)
    wait_for_app(page, charts=True)
    screenshot(page, artifacts / "cases-drilled.png")
    scope = page.locator('[data-testid="stMain"] h5').first.inner_text()
    assert scope.startswith("西园社区"), f"the first of December's ranking, not {scope!r}"
    assert "community=QTX04" in page.url, page.url


def test_every_page_is_driven_in_the_browser() -> None:
    in_app = {p.stem for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")}
    assert in_app == set(PAGES), "add the page to PAGES (and DASHBOARDS if it shows figures)"
    assert set(DASHBOARDS) <= set(PAGES)


CJK_FONT = re.compile(r"CJK|Han |Hei|Song|Kai|Ming|YaHei|PingFang|WenQuanYi|Fallback", re.I)


def test_chinese_renders_in_a_cjk_font(page: Any, app_url: str, artifacts: Path) -> None:
    """Tofu boxes look like text to every DOM check; ask Chromium which font drew the glyphs."""
    open_page(page, app_url, artifacts, "overview", "zh")
    title = t("page_overview", "zh")
    probe = page.evaluate(
        """(title) => {
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                if (walker.currentNode.textContent.trim() === title) {
                    walker.currentNode.parentElement.setAttribute('data-cjk-probe', '');
                    return true;
                }
            }
            return false;
        }""",
        title,
    )
    assert probe, f"no text node {title!r} on the page"
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-cjk-probe]"})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    used = {f["familyName"]: f["glyphCount"] for f in fonts}
    cjk_glyphs = sum(count for family, count in used.items() if CJK_FONT.search(family))
    assert cjk_glyphs >= len(title), f"{title!r} drawn with {used}: install fonts-noto-cjk"


@pytest.mark.parametrize("lang", LANGS)
def test_overview_opens_at_its_own_address(page: Any, app_url: str, lang: str) -> None:
    """/overview is the overview (links and bookmarks use it), not a "Page not found" dialog
    over it; "/" stays the overview too."""
    page.goto(url(app_url, "/overview", lang), wait_until="domcontentloaded")
    wait_for_app(page)
    body = page.locator("body").inner_text()
    assert "Page not found" not in body and "not found" not in body.lower(), body[:300]
    title = t("page_overview", lang)
    assert page.locator('[data-testid="stMain"] h1', has_text=title).first.is_visible()


def test_an_english_records_download_has_the_contract_values_in_english(
    page: Any, app_url: str, tmp_path: Path
) -> None:
    """The CSV an English reader downloads says Bench meeting, not 板凳会 (the demo's cases
    use every channel); the stored values stay Chinese."""
    from metrics.schemas import CHANNELS, VALUE_EN

    page.goto(url(app_url, "/cases", "en"), wait_until="domcontentloaded")
    wait_for_app(page)
    with page.expect_download(timeout=60_000) as download:
        page.locator(".st-key-csv_rec_cases button").click()
    path = tmp_path / "cases.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    assert "Channel" in header.split(","), header
    assert any(VALUE_EN[c] in text for c in CHANNELS), text[:500]
    assert not any(f",{c}," in text for c in CHANNELS), "a channel left in Chinese"
