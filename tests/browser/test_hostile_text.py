"""In a real browser, text from uploads stays text: a Markdown/HTML payload as every name
and free-text field (tests/test_inert_text.build_hostile_store) makes no link, no image, no
script and no dialog on any page; it is on the page as the characters typed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import streamlit_server
from tests.browser.test_browser import wait_for_app
from tests.test_inert_text import build_hostile_store

PAGES = ["overview", "meeting", "cases", "wishes", "property", "registry"]


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    store = build_hostile_store(tmp_path_factory.mktemp("hostile") / "data")
    env = {**os.environ, "GOVDASH_DATA_DIR": str(store.root), "GOVDASH_LOCAL_MODE": "1"}
    no_secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    no_secrets.write_text("", encoding="utf-8")
    with streamlit_server(env, no_secrets, artifacts / "streamlit-hostile.log") as url:
        yield url


@pytest.mark.parametrize("name", PAGES)
def test_hostile_text_is_inert_in_the_browser(
    page: Any, hostile_url: str, artifacts: Path, name: str
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{hostile_url}/{name}?period=2025-09&community=QTX01")
    wait_for_app(page, charts=True)
    if name in ("overview", "cases", "registry"):  # the hostile name heads these pages
        page.get_by_text("[点我](javascript:alert(1))").first.wait_for(timeout=20_000)
    page.screenshot(path=str(artifacts / f"hostile-{name}.png"))
    live = page.evaluate(
        """() => ({
            links: [...document.querySelectorAll('a[href]')]
                .map(a => a.getAttribute('href'))
                .filter(h => !h.startsWith('#') && /javascript|evil/i.test(h)),
            images: document.querySelectorAll('img[src="x"], [onerror]').length,
            red: [...document.querySelectorAll('span')]
                .filter(s => s.textContent === '红' && s.style.color).length,
        })"""
    )
    assert live == {"links": [], "images": 0, "red": 0}, live
    assert not dialogs and not page.page_errors, (dialogs, page.page_errors)
    if name in ("overview", "cases", "registry"):
        text = page.locator("[data-testid='stMain']").inner_text()
        assert "[点我](javascript:alert(1))" in text, "shown as the characters typed"
