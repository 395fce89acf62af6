"""A real Streamlit server on a free port, and headless Chromium pointed at it.

The server gets an empty GOVDASH_DATA_DIR, so it builds the demo store on first start just
as a new installation does. The browser is Debian's chromium driven by Playwright's bundled
driver; `playwright install` is never run. Without chromium the browser tests skip, except
in CI (CI set), where they fail: a green build must have looked at the pages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GOVDASH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The test machine may have no route out; keep Chromium from trying.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90  # first start builds the demo store


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so browser tests must run)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"streamlit not healthy after {STARTUP_SECONDS} s:\n{log.read_text()[-4000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and anything it started: it leads its own process group."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


@contextmanager
def streamlit_server(
    env: dict[str, str], secrets_file: Path, log: Path, port: int | None = None
) -> Iterator[str]:
    """`streamlit run app.py` on a (free) loopback port, healthy; its URL. Stopped on exit."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",  # tests do not edit the app
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets_file),
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(url, server, log)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots and the server log, kept after the run (git-ignored)."""
    path = ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    if not (ROOT / "app.py").exists():
        unavailable("app.py does not exist yet")
    log = artifacts / "streamlit.log"
    env = {
        **os.environ,
        "GOVDASH_DATA_DIR": str(tmp_path_factory.mktemp("store")),
        # Signed in as the local administrator, so every page, upload and admin too, is shown.
        "GOVDASH_LOCAL_MODE": "1",
    }
    # No secrets: a developer's .streamlit/secrets.toml would turn on the OIDC sign-in.
    no_secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    no_secrets.write_text("", encoding="utf-8")
    with streamlit_server(env, no_secrets, log) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh context per test (no shared cookies or session state), zh-CN like our readers."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.page_errors = []  # uncaught JavaScript errors, checked by the tests
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()
