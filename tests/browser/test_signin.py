"""Real OIDC sign-ins in Chromium, against a local identity provider, for every role on
every page; the token spoofs an adversarial review found; a role taken away from another
process; and every request a page makes, none of which may leave the machine.

`oidc-provider-mock` runs on loopback with predefined users whose ID tokens say what a
hostile or careless provider could say (`email_verified: "false"`, no `email_verified`, a
subject that is somebody else's e-mail). A Streamlit server with an [auth] section points
at it, over a real store (tests/fixtures: QTX01 北苑社区, QTX02 南苑社区, QTX03) whose roles
document knows a leader, a clerk of QTX01 and an administrator by verified e-mail, and a
clerk of QTX02 by (issuer, subject). Screenshots go to tests/artifacts/signin-*.png.

The walk of every page is one browser session per role (each Chromium sign-in costs
seconds); it records every request and websocket on the way, signed in and not, and fails
on any host other than the app's and the provider's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oidc_provider_mock
import openpyxl
import pytest

from metrics import access
from metrics.i18n import t
from metrics.store import Store
from tests.conftest import fixture_store
from tests.test_access import cli

from .conftest import free_port, streamlit_server
from .test_browser import APP_IDLE, screenshot


def user(sub: str, **claims: Any) -> oidc_provider_mock.User:
    return oidc_provider_mock.User(sub=sub, claims=claims)


LEADER = user("u-leader-0001", email="leader@qtx.example", email_verified=True, name="王书记")
CLERK = user("u-clerk-0002", email="clerk@qtx.example", email_verified=True, name="北苑")
ADMIN = user("u-admin-0003", email="admin@qtx.example", email_verified=True, name="管理员")
# Known by (issuer, subject): a provider that gives no verified e-mail.
CLERK_BY_SUBJECT = user("u-clerk-0004", name="南苑")
# What an attacker's token may say: the leader's e-mail, "verified" as a string or not at
# all, or a subject that is the clerk's e-mail (with an e-mail of their own, verified).
SPOOF_STRING = user("u-evil-0005", email="leader@qtx.example", email_verified="false")
SPOOF_MISSING = user("u-evil-0006", email="leader@qtx.example")
SPOOF_SUBJECT = user("clerk@qtx.example", email="evil@x.example", email_verified=True)
UNKNOWN = user("u-nobody-0007", email="nobody@qtx.example", email_verified=True)
USERS = [
    LEADER,
    CLERK,
    ADMIN,
    CLERK_BY_SUBJECT,
    SPOOF_STRING,
    SPOOF_MISSING,
    SPOOF_SUBJECT,
    UNKNOWN,
]
STRANGER = "stranger@x.example"  # typed into the provider's form: its e-mail claim is itself
SETUP = access.Principal("test-setup", "admin")
WAIT_MS = 20_000  # any one step: a page run, a redirect, the provider's form
PERIOD = "kind=month&period=2025-09"

# URL path → the title key of each page; the dashboards show figures to every role.
PAGES = {
    "": "page_overview",
    "meeting": "page_meeting",
    "cases": "page_cases",
    "wishes": "page_wishes",
    "employment": "page_employment",
    "property": "page_property",
    "registry": "page_registry",
    "upload": "page_upload",
    "admin": "page_admin",
}
DASHBOARDS = [p for p in PAGES if p not in ("upload", "admin")]

# The options of the sidebar's community filter, read by opening it.
COMMUNITY_OPTIONS = """() => [...document.querySelectorAll('[role="listbox"] [role="option"]')]
    .map(o => o.textContent.trim())"""


def zh(key: str, **values: Any) -> str:
    return t(key, "zh", **values)


def roles(issuer: str) -> dict[str, Any]:
    return {
        "users": [
            {"user": "leader@qtx.example", "role": "leader", "name": "王书记"},
            {"user": "clerk@qtx.example", "role": "clerk", "community_id": "QTX01", "name": "北苑"},
            {"user": "admin@qtx.example", "role": "admin", "name": "管理员"},
            {
                "issuer": issuer,
                "subject": CLERK_BY_SUBJECT.sub,
                "role": "clerk",
                "community_id": "QTX02",
                "name": "南苑",
            },
        ]
    }


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    """The identity provider on 127.0.0.1 (werkzeug binds 'localhost' as IPv4 loopback)."""
    with oidc_provider_mock.run_server_in_thread(
        port=0, user_claims=USERS, require_client_registration=False
    ) as server:
        assert server.server_address[0] == "127.0.0.1", server.server_address
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, idp: str) -> Store:
    """A real store (the hand-checkable fixtures) with the roles document; `idp` is the
    issuer of its tokens (the provider's own address)."""
    data = fixture_store(tmp_path_factory.mktemp("signin-data"))
    access.save_roles(data, roles(idp), by=SETUP)
    return data


@pytest.fixture(scope="module")
def signin_url(
    idp: str, store: Store, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[str]:
    """A Streamlit server with sign-in on, over that store."""
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
    env["GOVDASH_DATA_DIR"] = str(store.root)
    env["GOVDASH_NOW"] = "2025-10-15"  # the fixtures' months are the recent ones
    log = artifacts / "streamlit-signin.log"
    with streamlit_server(env, secrets_file, log, port=port) as served:
        yield served


class Visit:
    """One browser context: its page, and every request and websocket it opened."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(
            viewport={"width": 1440, "height": 900}, locale="zh-CN", accept_downloads=True
        )
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.urls: list[tuple[str, str]] = []  # (what was asked for, by which page)
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.urls.append((r.url, _frame_url(r))))
        self.page.on("websocket", lambda ws: self.urls.append((ws.url, self.page.url)))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def asked_by(self, origin: str) -> list[str]:
        """Every URL a page of `origin` asked for over the network, the navigations away
        from it included (data: and blob: stay in the page). The provider's own pages load
        a style sheet from a CDN: not the app's doing, and not looked at here."""
        return [
            url
            for url, by in self.urls
            if urlsplit(by).netloc == origin and urlsplit(url).scheme not in ("data", "blob")
        ]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any) -> Iterator[Visit]:
    v = Visit(browser)
    try:
        yield v
    finally:
        v.close()


def settle(page: Any) -> None:
    """Until the script run is over and stays over (a query-parameter rerun may follow)."""
    for _ in range(2):
        page.wait_for_function(APP_IDLE, timeout=WAIT_MS)
        page.wait_for_timeout(300)


def main(page: Any) -> Any:
    return page.locator('[data-testid="stMain"]')


def heading(page: Any, text: str) -> Any:
    return main(page).get_by_role("heading", name=text).first


def sign_in(page: Any, app_url: str, idp: str, who: str, *, typed: bool = False) -> None:
    """From the app's login page through the provider's form and back, signed in."""
    page.goto(app_url, wait_until="domcontentloaded")
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


def open_page(page: Any, app_url: str, path: str, query: str = PERIOD) -> None:
    page.goto(f"{app_url}/{path}?{query}", wait_until="domcontentloaded")
    settle(page)


def community_options(page: Any) -> list[str]:
    """Open the sidebar's community filter (a combobox: a click, then the arrow key)."""
    page.locator(".st-key-community [role=combobox]").click()
    page.keyboard.press("ArrowDown")
    page.locator('[role="listbox"] [role="option"]').first.wait_for(timeout=WAIT_MS)
    options: list[str] = page.evaluate(COMMUNITY_OPTIONS)
    page.keyboard.press("Escape")
    return options


def nav_text(page: Any) -> str:
    nav = page.locator('[data-testid="stSidebarNav"]')
    return str(nav.inner_text()) if nav.count() else ""


def problems_on(page: Any, path: str) -> list[str]:
    """An exception box on a page (the reader would see "an error occurred")."""
    found = []
    if page.locator('[data-testid="stException"]').count():
        found.append(f"/{path}: an exception is shown")
    return found


def download(page: Any, key: str) -> bytes:
    with page.expect_download(timeout=60_000) as event:
        page.locator(f".st-key-{key} button").click()
    return Path(event.value.path()).read_bytes()


def finish(visit: Visit, app_url: str, idp: str) -> None:
    """Sign out; nothing was asked of another host, and no script failed, on the way."""
    sign_out(visit.page, app_url, idp)
    assert_only_local_hosts(visit, app_url, idp)
    assert not visit.errors, f"JavaScript errors: {visit.errors}"


def assert_only_local_hosts(visit: Visit, app_url: str, idp: str) -> None:
    """The app's pages asked for nothing but the app itself and, to sign in, the provider."""
    app = urlsplit(app_url).netloc
    asked = visit.asked_by(app)
    outside = [url for url in asked if urlsplit(url).netloc not in (app, urlsplit(idp).netloc)]
    assert not outside, f"requests left the machine: {outside}"
    assert any("/_stcore/stream" in url for url in asked), "no websocket was recorded"


def _frame_url(request: Any) -> str:
    try:
        return str(request.frame.url)
    except Exception:  # a request from a service worker has no frame
        return ""


# -- the tests ---------------------------------------------------------------------------------
def test_login_page_lists_no_pages_on_a_fresh_server(
    visit: Visit, signin_url: str, idp: str, artifacts: Path
) -> None:
    """Runs first, while nobody has signed in to this server yet; then every address shows
    the login page and nothing else."""
    page = visit.page
    for path in PAGES:
        open_page(page, signin_url, path)
        assert heading(page, zh("login_title")).is_visible(), f"/{path} is not the login page"
        assert not page.locator('[data-testid="stSidebarNav"] a').count(), f"/{path} lists pages"
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
    screenshot(page, artifacts / "signin-login-cold.png")
    assert_only_local_hosts(visit, signin_url, idp)
    assert not visit.errors, f"JavaScript errors: {visit.errors}"


def test_a_leader_sees_every_dashboard_and_downloads_the_meeting_packet(
    visit: Visit, signin_url: str, idp: str, artifacts: Path
) -> None:
    page = visit.page
    sign_in(page, signin_url, idp, LEADER.sub)
    screenshot(page, artifacts / "signin-leader.png")
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text(
        zh("signed_in_as", name="王书记", role=zh("role_leader"))
    ).is_visible()
    assert zh("page_upload") not in nav_text(page) and zh("page_admin") not in nav_text(page)
    found = []
    for path in DASHBOARDS:
        open_page(page, signin_url, path)
        if not heading(page, zh(PAGES[path])).is_visible():
            found.append(f"/{path}: no title {zh(PAGES[path])}")
        found += problems_on(page, path)
        if path == "meeting":
            check_the_packet(page, artifacts)
    options = community_options(page)
    assert options[0] == zh("whole_city") and {"北苑社区", "南苑社区"} <= set(options)
    for path in ("upload", "admin"):  # not the leader's: the page is not there
        open_page(page, signin_url, path)
        if (
            heading(page, zh(PAGES[path])).count()
            or page.locator('[data-testid="stFileUploader"]').count()
        ):
            found.append(f"/{path} shown to a leader")
    assert not found, found
    open_page(page, signin_url, "")  # away from the "page not found" notice, which is modal
    finish(visit, signin_url, idp)


def check_the_packet(page: Any, artifacts: Path) -> None:
    """The meeting packet, built when its button is pressed: outside the script run, where
    there is no signed-in user to ask (it used to fail there, and the leader got nothing)."""
    screenshot(page, artifacts / "signin-leader-meeting.png")
    pdf = download(page, "report_pdf")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    xlsx = download(page, "report_xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    assert len(book.sheetnames) >= 2, book.sheetnames
    assert not page.locator('[data-testid="stException"]').count()


def test_a_clerk_sees_their_community_only_however_they_ask(
    visit: Visit, signin_url: str, idp: str, store: Store, artifacts: Path
) -> None:
    """The clerk of QTX01 asks for QTX02 by URL on every page, by the community widget, by
    the records export and by the command line: 北苑社区 only, every time."""
    page = visit.page
    sign_in(page, signin_url, idp, CLERK.sub)
    screenshot(page, artifacts / "signin-clerk.png")
    assert zh("page_upload") in nav_text(page) and zh("page_admin") not in nav_text(page)
    found = []
    for path in DASHBOARDS:
        open_page(page, signin_url, path, f"{PERIOD}&community=QTX02")
        found += problems_on(page, path)
        if not heading(page, zh(PAGES[path])).is_visible():
            found.append(f"/{path}: no title")
        if "QTX02" in page.url and path != "meeting":  # the meeting page has no such filter
            found.append(f"/{path}: the forged community stayed in the URL")
        body = str(main(page).inner_text())
        if path == "meeting":  # the league's names and scores: every community, nothing else
            if page.locator('[data-testid="stMetric"]').count():
                found.append("/meeting: city-wide KPI cards for a clerk")
            if page.locator(".st-key-report_pdf").count():
                found.append("/meeting: the packet offered to a clerk")
        elif "南苑社区" in body or "QTX02" in body:
            found.append(f"/{path}: another community's data shown")
    assert not found, found
    assert community_options(page) == ["北苑社区"]  # the widget offers nothing else

    open_page(page, signin_url, "cases", f"{PERIOD}&community=QTX02")
    screenshot(page, artifacts / "signin-clerk-cases-qtx02.png")
    rows = list(csv.reader(io.StringIO(download(page, "csv_rec_cases").decode("utf-8-sig"))))
    cells = {cell for row in rows[1:] for cell in row}
    assert len(rows) > 1 and "QTX01" in cells
    assert "QTX02" not in cells and "南苑社区" not in cells

    open_page(page, signin_url, "upload")
    screenshot(page, artifacts / "signin-clerk-upload.png")
    field = main(page).locator('[data-testid="stTextInput"]').filter(has_text=zh("community"))
    assert field.locator("input").input_value() == "北苑社区（QTX01）"
    assert field.locator("input").is_disabled(), "the clerk's community must be read-only"
    open_page(page, signin_url, "admin")
    assert not heading(page, zh("page_admin")).count(), "the admin page shown to a clerk"
    open_page(page, signin_url, "")  # away from the "page not found" notice, which is modal
    finish(visit, signin_url, idp)

    # The same clerk on the command line: another community is refused (exit 2).
    for command in (
        ["summary", "--from", "2025-09", "--to", "2025-09", "--community", "QTX02"],
        ["history", "--community", "QTX02"],
    ):
        done = cli(store, "--as-user", "clerk@qtx.example", *command)
        assert done.returncode == 2 and "QTX02" in done.stderr, (command, done.stderr)


def test_a_clerk_known_by_issuer_and_subject(visit: Visit, signin_url: str, idp: str) -> None:
    page = visit.page
    sign_in(page, signin_url, idp, CLERK_BY_SUBJECT.sub)
    assert heading(page, zh("page_overview")).is_visible(), "the subject entry did not match"
    assert page.locator("h5", has_text="南苑社区").first.is_visible()
    assert community_options(page) == ["南苑社区"]
    sign_out(page, signin_url, idp)


def test_an_administrator_sees_every_page(
    visit: Visit, signin_url: str, idp: str, artifacts: Path
) -> None:
    page = visit.page
    sign_in(page, signin_url, idp, ADMIN.sub)
    found = []
    for path, title in PAGES.items():
        open_page(page, signin_url, path)
        found += problems_on(page, path)
        if not heading(page, zh(title)).is_visible():
            found.append(f"/{path}: no title {zh(title)}")
    screenshot(page, artifacts / "signin-admin.png")
    assert not found, found
    finish(visit, signin_url, idp)


def test_spoofed_tokens_and_strangers_are_refused_and_audited(
    visit: Visit, signin_url: str, idp: str, store: Store, artifacts: Path
) -> None:
    page = visit.page
    for who, typed in [
        (SPOOF_STRING.sub, False),
        (SPOOF_MISSING.sub, False),
        (SPOOF_SUBJECT.sub, False),
        (UNKNOWN.sub, False),
        (STRANGER, True),
    ]:
        sign_in(page, signin_url, idp, who, typed=typed)
        screenshot(page, artifacts / f"signin-denied-{who.split('@')[0]}.png")
        assert heading(page, zh("denied_title")).is_visible(), f"{who} was let in"
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        open_page(page, signin_url, "cases")  # no page by its address either
        assert heading(page, zh("denied_title")).is_visible(), f"{who} reached /cases"
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        sign_out(page, signin_url, idp, button="logout_denied")
    assert_only_local_hosts(visit, signin_url, idp)

    log = access.audit_log(store, SETUP)
    refused = {
        json.loads(d)["subject"]: (u, json.loads(d))
        for u, d, a in zip(log["user"], log["detail"], log["action"], strict=True)
        if a == "login_refused"
    }
    # Each refusal names the token's own issuer, subject and e-mail, and why.
    assert refused[SPOOF_STRING.sub][1] == {
        "reason": "email_not_verified",
        "issuer": idp,
        "subject": SPOOF_STRING.sub,
        "email": "leader@qtx.example",
        "email_verified": False,
        "sign_in": refused[SPOOF_STRING.sub][1]["sign_in"],
    }
    assert refused[SPOOF_MISSING.sub][1]["reason"] == "email_not_verified"
    assert refused[SPOOF_SUBJECT.sub] == (
        "evil@x.example",  # not the clerk whose e-mail the subject is
        {**refused[SPOOF_SUBJECT.sub][1], "reason": "not_listed", "email": "evil@x.example"},
    )
    assert refused[UNKNOWN.sub][1]["reason"] == "not_listed"
    assert refused[STRANGER][1]["reason"] == "email_not_verified"
    spoofs = {SPOOF_STRING.sub, SPOOF_MISSING.sub, SPOOF_SUBJECT.sub, UNKNOWN.sub, STRANGER}
    let_in = [
        json.loads(d)["subject"]
        for d, a in zip(log["detail"], log["action"], strict=True)
        if a == "login"
    ]
    assert not spoofs & set(let_in), "a spoofed token was let in"


def test_a_role_taken_away_in_another_process_ends_within_five_seconds(
    visit: Visit, signin_url: str, idp: str, store: Store
) -> None:
    page = visit.page
    sign_in(page, signin_url, idp, CLERK.sub)
    assert heading(page, zh("page_overview")).is_visible()
    document = roles(idp)
    without_clerk = {
        "users": [u for u in document["users"] if u.get("user") != "clerk@qtx.example"]
    }
    try:
        access.save_roles(store, without_clerk, by=SETUP)  # this process, not the server's
        # Any script run that starts 5 s after the change must see it (it was 30 s). The
        # page load's own time does not count: the server decides who reads as a run starts.
        time.sleep(5)
        open_page(page, signin_url, "cases")
        assert heading(page, zh("denied_title")).is_visible(), "the clerk still reads after 5 s"
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
    finally:
        access.save_roles(store, document, by=SETUP)
    open_page(page, signin_url, "cases")
    assert heading(page, zh("page_cases")).is_visible(), "the role given back did not count"
