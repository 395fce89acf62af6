"""A real OIDC sign-in in Chromium, against a local mock identity provider.

`oidc-provider-mock` runs on loopback with three predefined users; a second Streamlit server
(not the demo-mode one of conftest.py) gets an [auth] section pointing at it and a demo store
with a roles document: a leader (the whole city) and a clerk of QTX01 (北苑社区). The test
signs in through the provider's form as the leader, signs out, signs in as the clerk, and
finally as someone the roles document does not know, and checks what each one is shown.
Screenshots go to tests/artifacts/signin-*.png.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oidc_provider_mock
import pytest

from metrics import access
from metrics.i18n import t
from metrics.store import Store

from .conftest import ROOT, free_port, streamlit_server
from .test_browser import APP_IDLE, screenshot

LEADER = oidc_provider_mock.User(
    sub="u-leader-0001", claims={"email": "leader@qtx.example", "name": "王书记"}
)
CLERK = oidc_provider_mock.User(
    sub="u-clerk-0002", claims={"email": "clerk@qtx.example", "name": "北苑"}
)
STRANGER = "stranger@x.example"  # typed into the provider's form: its e-mail claim is itself
ROLES = {
    "users": [
        {"user": "leader@qtx.example", "role": "leader", "name": "王书记"},
        {"user": "clerk@qtx.example", "role": "clerk", "community_id": "QTX01", "name": "北苑"},
    ]
}
WAIT_MS = 20_000  # any one step: a page run, a redirect, the provider's form

# The options of the sidebar's community filter, read by opening it.
COMMUNITY_OPTIONS = """() => [...document.querySelectorAll('[role="listbox"] [role="option"]')]
    .map(o => o.textContent.trim())"""


def zh(key: str, **values: Any) -> str:
    return t(key, "zh", **values)


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    """The identity provider on 127.0.0.1 (werkzeug binds 'localhost' as IPv4 loopback)."""
    with oidc_provider_mock.run_server_in_thread(
        port=0, user_claims=[LEADER, CLERK], require_client_registration=False
    ) as server:
        assert server.server_address[0] == "127.0.0.1", server.server_address
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def signin_url(
    idp: str, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[str]:
    """A Streamlit server with sign-in on, over a demo store that knows a leader and a clerk."""
    data_dir = tmp_path_factory.mktemp("signin-store")
    subprocess.run(
        [sys.executable, "-m", "metrics", "--data-dir", str(data_dir), "demo"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    store = Store(data_dir)
    access.save_roles(store, ROLES, by=access.Principal("test-setup", "admin"))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets_file = tmp_path_factory.mktemp("signin-secrets") / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "govdash-test"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{idp}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GOVDASH_LOCAL_MODE", "GOVDASH_ADMINS")}
    env["GOVDASH_DATA_DIR"] = str(data_dir)
    log = artifacts / "streamlit-signin.log"
    with streamlit_server(env, secrets_file, log, port=port) as served:
        yield served


def settle(page: Any) -> None:
    """Until the script run is over and stays over (a query-parameter rerun may follow)."""
    for _ in range(2):
        page.wait_for_function(APP_IDLE, timeout=WAIT_MS)
        page.wait_for_timeout(400)


def heading(page: Any, text: str) -> Any:
    return page.locator('[data-testid="stMain"]').get_by_role("heading", name=text).first


def sign_in(page: Any, app_url: str, idp: str, who: str, *, typed: bool = False) -> None:
    """From the app's login page through the provider's form and back, signed in."""
    settle(page)
    assert heading(page, zh("login_title")).is_visible(), "not on the login page"
    page.get_by_role("button", name=zh("login_button")).click()
    page.wait_for_url(f"{idp}/oauth2/authorize?**", timeout=WAIT_MS)
    if typed:
        page.locator('input[name="sub"]').fill(who)
        page.get_by_role("button", name="Authorize").click()
    else:
        page.locator(f'button[name="sub"][value="{who}"]').click()
    page.wait_for_url(f"{app_url}/**", timeout=WAIT_MS)
    settle(page)


def sign_out(page: Any, app_url: str, idp: str, button: str = "logout") -> None:
    """The app's sign-out, then the provider's end-session page, back to the login page."""
    page.locator(f".st-key-{button} button").click()
    page.wait_for_url(f"{idp}/oauth2/end_session?**", timeout=WAIT_MS)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{app_url}/**", timeout=WAIT_MS)
    settle(page)
    assert heading(page, zh("login_title")).is_visible(), "signed out, but no login page"


def community_options(page: Any) -> list[str]:
    """Open the sidebar's community filter (a combobox: a click, then the arrow key)."""
    page.locator(".st-key-community [role=combobox]").click()
    page.keyboard.press("ArrowDown")
    page.locator('[role="listbox"] [role="option"]').first.wait_for(timeout=WAIT_MS)
    options: list[str] = page.evaluate(COMMUNITY_OPTIONS)
    page.keyboard.press("Escape")
    return options


def nav_text(page: Any) -> str:
    text: str = page.locator('[data-testid="stSidebarNav"]').inner_text()
    return text


def test_login_page_lists_no_pages_on_a_fresh_server(
    browser: Any, signin_url: str, artifacts: Path
) -> None:
    """Runs first, while nobody has signed in to this server yet."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto(signin_url, wait_until="domcontentloaded")
        settle(page)
        screenshot(page, artifacts / "signin-login-cold.png")
        assert heading(page, zh("login_title")).is_visible()
        links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert not links, f"the login page offers pages to someone not signed in: {links}"
    finally:
        context.close()


def test_leader_then_clerk_then_stranger(
    browser: Any, signin_url: str, idp: str, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # -- nobody signed in: the login page and nothing else ----------------------------
        page.goto(signin_url, wait_until="domcontentloaded")
        settle(page)
        screenshot(page, artifacts / "signin-login.png")
        assert heading(page, zh("login_title")).is_visible()
        assert page.locator('[data-testid="stMetric"]').count() == 0

        # -- the leader: the whole city, no upload, no administration ---------------------
        sign_in(page, signin_url, idp, LEADER.sub)
        screenshot(page, artifacts / "signin-leader.png")
        assert heading(page, zh("page_overview")).is_visible(), "leader not on the overview"
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_text(
            zh("signed_in_as", name="王书记", role=zh("role_leader"))
        ).is_visible()
        assert page.locator("h5", has_text=zh("whole_city")).first.is_visible()
        assert page.locator('[data-testid="stMetric"]').count() > 0
        options = community_options(page)
        assert options[0] == zh("whole_city") and {"北苑社区", "南苑社区"} <= set(options)
        assert zh("page_upload") not in nav_text(page)
        assert zh("page_admin") not in nav_text(page)
        sign_out(page, signin_url, idp)

        # -- the clerk of QTX01: 北苑社区 only, uploads for it, no administration ----------
        sign_in(page, signin_url, idp, CLERK.sub)
        screenshot(page, artifacts / "signin-clerk.png")
        assert heading(page, zh("page_overview")).is_visible(), "clerk not on the overview"
        assert page.locator("h5", has_text="北苑社区").first.is_visible()
        assert not page.locator("h5", has_text=zh("whole_city")).count()
        assert community_options(page) == ["北苑社区"]
        assert zh("page_upload") in nav_text(page)
        assert zh("page_admin") not in nav_text(page)

        page.locator('[data-testid="stSidebarNav"]').get_by_text(zh("page_upload")).click()
        page.wait_for_url(f"{signin_url}/upload**")
        settle(page)
        screenshot(page, artifacts / "signin-clerk-upload.png")
        field = page.locator('[data-testid="stMain"] [data-testid="stTextInput"]').filter(
            has_text=zh("community")
        )
        assert field.locator("input").input_value() == "北苑社区（QTX01）"
        assert field.locator("input").is_disabled(), "the clerk's community must be read-only"

        # Another community asked for in the URL: the clerk still gets their own, only.
        page.goto(f"{signin_url}/cases?community=QTX02", wait_until="domcontentloaded")
        settle(page)
        screenshot(page, artifacts / "signin-clerk-cases-qtx02.png")
        assert heading(page, zh("page_cases")).is_visible()
        assert "QTX02" not in page.url, "the forged community stayed in the URL"
        assert page.locator("h5", has_text="北苑社区").first.is_visible()
        body = page.locator("body").inner_text()
        assert "南苑社区" not in body and "QTX02" not in body
        with page.expect_download(timeout=WAIT_MS) as download:
            page.locator(".st-key-csv_rec_cases button").click()
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
        assert len(rows) > 1, "the clerk's case records are empty"
        cells = {cell for row in rows[1:] for cell in row}
        assert "QTX01" in cells and "QTX02" not in cells and "南苑社区" not in cells
        sign_out(page, signin_url, idp)

        # -- someone the roles document does not know: a polite refusal, no data ----------
        sign_in(page, signin_url, idp, STRANGER, typed=True)
        screenshot(page, artifacts / "signin-denied.png")
        assert heading(page, zh("denied_title")).is_visible(), "an unknown user was let in"
        assert STRANGER in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        page.goto(f"{signin_url}/cases", wait_until="domcontentloaded")
        settle(page)
        assert heading(page, zh("denied_title")).is_visible()
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        sign_out(page, signin_url, idp, button="logout_denied")

        assert not errors, f"JavaScript errors: {errors}"
    finally:
        context.close()
