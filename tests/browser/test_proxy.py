"""The reverse proxy of deploy/nginx/, run for real: Debian's nginx on loopback, with the
site file as shipped (only its addresses, ports and certificate swapped for the test's),
in front of the demo server of conftest.py, and Chromium through it.

What it must do (docs/deploy.md): answer /_stcore/metrics and the agent API with 404,
redirect plain HTTP to HTTPS, refuse an upload body over the limit before Streamlit sees
it, add the security headers, and still carry the page and its websocket, with nothing
fetched from anywhere else (the Content-Security-Policy would block it, and the test
records every request).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from metrics.i18n import t

from .nginx_helpers import fetch, running_nginx
from .test_browser import APP_IDLE, screenshot


@pytest.fixture(scope="module")
def proxy(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """nginx with the shipped site in front of the demo server: its HTTP and HTTPS URLs."""
    with running_nginx(tmp_path_factory.mktemp("nginx"), [urlsplit(app_url).netloc]) as urls:
        yield urls


def test_the_proxy_closes_what_streamlit_leaves_open(proxy: tuple[str, str], app_url: str) -> None:
    http, https = proxy
    assert fetch(f"{app_url}/_stcore/metrics")[0] == 200, "Streamlit serves it: the proxy must not"
    assert fetch(f"{https}/_stcore/metrics")[0] == 404
    assert fetch(f"{https}/_stcore/metrics?families=session_events")[0] == 404
    assert fetch(f"{https}/_stcore/agent/openapi.json")[0] == 404
    assert fetch(f"{https}/_stcore/health")[0] == 200  # the page needs it
    status, headers = fetch(f"{http}/cases?period=2025-09")
    assert status == 301 and headers["Location"].startswith("https://")
    status, headers = fetch(f"{https}/")
    assert status == 200
    assert headers["Server"] == "nginx", "the version is told"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    # The upload limit: a body over 11 MB never reaches Streamlit; one within it does
    # (Streamlit then refuses it itself: no session, no XSRF token; but not with 413).
    assert fetch(f"{https}/_stcore/upload_file/s/f", b"x" * (12 * 1024 * 1024))[0] == 413
    assert fetch(f"{https}/_stcore/upload_file/s/f", b"x" * (1024 * 1024))[0] not in (0, 413)


def test_a_page_works_through_the_proxy_and_asks_nothing_elsewhere(
    proxy: tuple[str, str], browser: Any, artifacts: Path
) -> None:
    _, https = proxy
    context = browser.new_context(ignore_https_errors=True, locale="zh-CN")
    page = context.new_page()
    asked: list[str] = []
    console: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    page.on("websocket", lambda ws: asked.append(ws.url))
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(f"{https}/cases?period=2025-09", wait_until="domcontentloaded")
        for _ in range(2):  # the run, and the rerun the URL's filters may cause
            page.wait_for_function(APP_IDLE, timeout=90_000)
            page.wait_for_timeout(500)
        screenshot(page, artifacts / "proxy-cases.png")
        main = page.locator('[data-testid="stMain"]')
        title = main.get_by_role("heading", name=t("page_cases", "zh")).first
        assert title.is_visible(), main.inner_text()[:300]
        assert page.locator('[data-testid="stMetric"]').count() > 0, "no figures: no websocket?"
    finally:
        context.close()
    network = [u for u in asked if urlsplit(u).scheme not in ("data", "blob")]
    outside = [u for u in network if urlsplit(u).netloc != urlsplit(https).netloc]
    assert not outside, f"asked outside the server: {outside}"
    assert any(u.startswith("wss://") and "/_stcore/stream" in u for u in network)
    blocked = [m for m in console if "Content Security Policy" in m]
    assert not blocked, f"the page needs something the CSP forbids: {blocked}"
