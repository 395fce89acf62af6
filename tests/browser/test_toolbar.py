"""Tables offer no "Download as CSV" of their own: Streamlit's toolbar export does not
neutralise cells that Excel would run as formulas (our download buttons do).

pages/_style.py hides it; app.py injects that style sheet on every run.
"""

from __future__ import annotations

from typing import Any

from .test_browser import PAGES, url, wait_for_app

TOOLBAR = '[data-testid="stElementToolbarButton"]'
DOWNLOAD = f'{TOOLBAR}:has(button[aria-label^="Download as CSV"])'
SEARCH = f'{TOOLBAR}:has(button[aria-label^="Search"])'


def test_tables_have_no_toolbar_csv_download(app_url: str, page: Any) -> None:
    page.goto(url(app_url, PAGES["cases"][0], "zh"), wait_until="domcontentloaded")
    wait_for_app(page, charts=True)
    # The ranking and, last, the records: on a slow machine the records table can arrive
    # after the charts, so wait for both rather than count once.
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length >= 2",
        timeout=30_000,
    )
    tables = page.locator('[data-testid="stElementContainer"]:has([data-testid="stDataFrame"])')
    assert tables.count() >= 2
    for i in range(tables.count()):
        table = tables.nth(i)
        table.scroll_into_view_if_needed()
        table.hover()
        # The toolbar shows on hover (its search button) ...
        table.locator(SEARCH).wait_for(state="visible", timeout=10_000)
        # ... and its CSV download is there but hidden.
        assert table.locator(DOWNLOAD).count() == 1, i
        assert not table.locator(DOWNLOAD).is_visible(), i
    assert page.page_errors == []
