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

import datetime as dt
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from metrics.i18n import t

from .conftest import ROOT, free_port, unavailable
from .test_browser import APP_IDLE, screenshot

NGINX = Path(os.environ.get("GOVDASH_NGINX", "/usr/sbin/nginx"))
SITE = ROOT / "deploy" / "nginx" / "govdash.conf"
LOCATIONS = ROOT / "deploy" / "nginx" / "govdash-locations.conf"
UNVERIFIED = ssl._create_unverified_context()  # the test's own self-signed certificate


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def swap(text: str, old: str, new: str) -> str:
    """Replace `old`, which must be in the shipped file (else the test tests something else)."""
    assert old in text, f"{old!r} is no longer in {SITE.name}: update the test"
    return text.replace(old, new)


def site_for_test(app: str, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    site = SITE.read_text(encoding="utf-8")
    site = swap(site, "server 127.0.0.1:8501;", f"server {app};")
    site = re.sub(r"\n\s*listen \[::\]:[^\n]*", "", site)  # IPv4 loopback only
    site = swap(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = swap(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = swap(site, "/etc/ssl/govdash/fullchain.pem", str(cert))
    site = swap(site, "/etc/ssl/govdash/privkey.pem", str(key))
    return swap(site, "include /etc/nginx/govdash-locations.conf;", f"include {LOCATIONS};")


@pytest.fixture(scope="module")
def proxy(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """nginx with the shipped site in front of the demo server: its HTTP and HTTPS URLs."""
    if not NGINX.exists():
        unavailable(f"no nginx at {NGINX} (apt-get install nginx)")
    prefix = tmp_path_factory.mktemp("nginx")
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = site_for_test(urlsplit(app_url).netloc, http_port, https_port, cert, key)
    temp = " ".join(
        f"{kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers may read the test's files
        + f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\naccess_log {prefix}/access.log;\n{temp}\n{site}\n}}\n",
        encoding="utf-8",
    )
    command = [str(NGINX), "-p", str(prefix), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    https = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 20
        while fetch(f"{https}/_stcore/health")[0] != 200:
            assert server.poll() is None, (prefix / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{http_port}", https
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict[str, str]]:
    """Status and headers, without following a redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=UNVERIFIED)
    )
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if data:
        request.add_header("Content-Type", "application/octet-stream")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}


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
