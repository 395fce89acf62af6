"""Debian's nginx on loopback with the shipped site (deploy/nginx/), for the proxy tests:
only its addresses, ports, upstream servers and certificate are swapped for the test's.
Shared by test_proxy.py (one Streamlit server) and test_replicas.py (two replicas)."""

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .conftest import ROOT, free_port, unavailable

NGINX = Path(os.environ.get("GOVDASH_NGINX", "/usr/sbin/nginx"))
SITE = ROOT / "deploy" / "nginx" / "govdash.conf"
LOCATIONS = ROOT / "deploy" / "nginx" / "govdash-locations.conf"
UNVERIFIED = ssl._create_unverified_context()  # the test's own self-signed certificate
# The upstream's server lines as shipped (one per replica).
UPSTREAM_SERVERS = re.compile(r"(?:\n[ \t]*server 127\.0\.0\.1:\d+;)+")


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


def site_for_test(
    apps: Sequence[str],
    http_port: int,
    https_port: int,
    cert: Path,
    key: Path,
    server_extra: str = "",
) -> str:
    """The shipped site with `apps` (host:port) as its upstream servers; `server_extra`:
    directives the test adds to the HTTPS server (never part of what is shipped)."""
    site = SITE.read_text(encoding="utf-8")
    servers = "".join(f"\n    server {app};" for app in apps)
    site, found = UPSTREAM_SERVERS.subn(servers, site, count=1)
    assert found == 1, f"no `server 127.0.0.1:…;` lines in {SITE.name}: update the test"
    site = re.sub(r"\n\s*listen \[::\]:[^\n]*", "", site)  # IPv4 loopback only
    site = swap(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = swap(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = swap(site, "/etc/ssl/govdash/fullchain.pem", str(cert))
    site = swap(site, "/etc/ssl/govdash/privkey.pem", str(key))
    include = "include /etc/nginx/govdash-locations.conf;"
    return swap(site, include, f"include {LOCATIONS};\n{server_extra}")


@contextmanager
def running_nginx(
    prefix: Path, apps: Sequence[str], http_extra: str = "", server_extra: str = ""
) -> Iterator[tuple[str, str]]:
    """nginx with the shipped site in front of `apps`, files under `prefix` (its access and
    error logs too): its HTTP and HTTPS URLs, once it answers. `http_extra`: directives for
    the http block (a log format, say)."""
    if not NGINX.exists():
        unavailable(f"no nginx at {NGINX} (apt-get install nginx)")
    cert, key = self_signed(prefix)
    http_port, https_port = free_port(), free_port()
    site = site_for_test(apps, http_port, https_port, cert, key, server_extra)
    temp = " ".join(
        f"{kind}_temp_path {prefix}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers may read the test's files
        + f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n{http_extra}\naccess_log {prefix}/access.log"
        + (" replicas" if "log_format replicas" in http_extra else "")
        + f";\n{temp}\n{site}\n}}\n",
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


def fetch(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message]:
    """Status and headers (all of them: `get_all("Set-Cookie")`), without following a
    redirect; status 0 if nothing answered."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=UNVERIFIED)
    )
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if data:
        request.add_header("Content-Type", "application/octet-stream")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, Message()
