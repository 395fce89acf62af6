"""Two Streamlit replicas behind the shipped nginx site (deploy/nginx/), over ONE real store,
as docs/deploy.md ("A province") sets them up: the same GOVDASH_DATA_DIR (a directory, and a
prefix on S3: moto's server on loopback) and the same STREAMLIT_SERVER_COOKIE_SECRET, one
port each. Slow: about 3 minutes on an idle 2-core machine, 9 under heavy load.

What it must do: keep every request of a browser, the websocket and the upload included, on
the replica that served its first page (a Streamlit session lives in one process), while
different browsers spread over the replicas; and a ledger uploaded through one replica is
on the other's pages at once (each page run looks the store's version up: pages/_cache.py).

The test's nginx adds one thing to the shipped site: a header and an access-log line naming
the replica that answered (X-Govdash-Test-Replica, $upstream_addr), to tell them apart.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from ingest_helpers import case_row, csv_bytes
from s3_helpers import moto_s3

from metrics.i18n import t
from metrics.schemas import DATASETS

from .conftest import ROOT, streamlit_server
from .nginx_helpers import SITE, fetch, running_nginx
from .test_browser import APP_IDLE, screenshot, wait_for_app

FIXTURES = ROOT / "tests" / "fixtures"
NOW = "2025-12-01T10:00:00"  # the replicas' clock; the tests read November 2025
ROUTE = re.compile(r"govdash_route=([0-9a-f]{32});")
REPLICA = "X-Govdash-Test-Replica"
LOG_FORMAT = (  # nginx logs an empty value as "-"
    "log_format replicas "
    "'$cookie_govdash_route|$govdash_route|$upstream_addr|$status|$request_uri';"
)
Request = tuple[str, str, str, str, str]  # cookie sent, route used, replica, status, URI
FIRST_KPI = '[data-testid="stMetricValue"]'  # 受理事项 on the cases page
STALENESS_LIMIT = 5.0  # seconds (issue 16): how late another replica may show an upload


class Balancer:
    """nginx over the replicas: its HTTPS URL, its access log, and replica names by port."""

    def __init__(self, kind: str, https: str, log: Path, replicas: list[str]) -> None:
        self.kind = kind  # of the store: directory or s3
        self.https = https
        self.log = log
        self.names = {urlsplit(url).netloc: f"replica-{n}" for n, url in enumerate(replicas, 1)}

    def requests(self) -> list[Request]:
        """Every request logged so far."""
        rows = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            cookie, route, upstream, status, uri = line.split("|", 4)
            rows.append((cookie, route, self.names.get(upstream, upstream), status, uri))
        return rows

    def first_visit(self) -> tuple[str, str]:
        """A request without a route cookie: the route nginx gives, and who answered."""
        status, headers = fetch(f"{self.https}/")
        assert status == 200
        cookies = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith("govdash_")]
        assert len(cookies) == 1, cookies
        found = ROUTE.match(cookies[0])
        assert found, cookies[0]
        assert "Secure" in cookies[0] and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
        return found[1], self.names[headers[REPLICA]]

    def replica_for(self, route: str) -> str:
        """Who answers a browser sending `route`; nginx sets no new cookie for it."""
        status, headers = fetch(f"{self.https}/", headers={"Cookie": f"govdash_route={route}"})
        assert status == 200
        assert not [c for c in headers.get_all("Set-Cookie") or [] if "govdash_route" in c]
        return self.names[headers[REPLICA]]


@pytest.fixture(scope="module", params=["directory", "s3"])
def store_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The replicas' environment over one real store (a shared directory, or a prefix on
    S3) holding one November case, seeded through the CLI."""
    work = tmp_path_factory.mktemp("shared")
    env = {
        **os.environ,
        "GOVDASH_NOW": NOW,
        "GOVDASH_LOCAL_MODE": "1",  # the local administrator: the upload page is open
        "STREAMLIT_SERVER_COOKIE_SECRET": "one-secret-for-every-replica",
    }
    with ExitStack() as stack:
        if request.param == "s3":
            env |= stack.enter_context(moto_s3("govdash-replicas"))
            env["GOVDASH_DATA_DIR"] = "s3://govdash-replicas/province"
        else:
            env["GOVDASH_DATA_DIR"] = str(work / "data")
        registers = ["--communities", str(FIXTURES / "communities.csv")]
        registers += ["--grids", str(FIXTURES / "grids.csv")]
        seed = work / "seed.csv"
        seed.write_bytes(csv_bytes([case("00001")]))
        november = ["--dataset", "cases", "--community", "QTX01", "--period", "2025-11"]
        for command in (["init", *registers, "--user", "admin"], ["ingest", str(seed), *november]):
            run = subprocess.run(
                [sys.executable, "-m", "metrics", *command],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert run.returncode == 0, run.stderr
        yield env


@pytest.fixture(scope="module")
def balancer(
    store_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[Balancer]:
    """Two replicas over the store, and nginx in front of them."""
    no_secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    no_secrets.write_text("", encoding="utf-8")
    prefix = tmp_path_factory.mktemp("nginx")
    kind = "s3" if store_env["GOVDASH_DATA_DIR"].startswith("s3://") else "directory"
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(
                streamlit_server(store_env, no_secrets, artifacts / f"replica-{kind}-{n}.log")
            )
            for n in (1, 2)
        ]
        _, https = stack.enter_context(
            running_nginx(
                prefix,
                [urlsplit(url).netloc for url in replicas],
                http_extra=LOG_FORMAT,
                server_extra=f"add_header {REPLICA} $upstream_addr always;",
            )
        )
        yield Balancer(kind, https, prefix / "access.log", replicas)


def case(number: str) -> list[str]:
    """A November case of QTX01, resolved in November."""
    day = f"2025-11-{int(number) + 10:02d}"
    return case_row(f"QTX01-AJ202511-{number}", reported_on=day, resolved_on="2025-11-25")


def routes_to_each_replica(balancer: Balancer) -> dict[str, str]:
    """Replica -> a route nginx gave that leads to it (each first visit gets a new random
    route: 40 of them all on one replica of two would be a 1 in 2**39 chance)."""
    found: dict[str, str] = {}
    for _ in range(40):
        route, replica = balancer.first_visit()
        found.setdefault(replica, route)
        if len(found) == 2:
            return found
    pytest.fail(f"every first visit went to {list(found)}: no balancing")


def browser_context(browser: Any, balancer: Balancer, route: str | None = None) -> Any:
    context = browser.new_context(
        ignore_https_errors=True, locale="zh-CN", viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(90_000)
    if route:
        context.add_cookies([{"name": "govdash_route", "value": route, "url": balancer.https}])
    return context


def load(page: Any, url: str) -> str:
    """Open `url` and wait for its run (and the rerun its query may cause); who answered."""
    response = page.goto(url, wait_until="domcontentloaded")
    wait_for_app(page)
    return str(response.headers[REPLICA.lower()])


# Routing does not depend on the store: once, over the directory.
@pytest.mark.slow
@pytest.mark.parametrize("store_env", ["directory"], indirect=True)
def test_a_browser_stays_on_its_replica_and_browsers_spread(
    balancer: Balancer, browser: Any, artifacts: Path
) -> None:
    # Plain requests: the first visit of a browser is routed by the route it is given, and
    # that route keeps reaching the same replica; a forged route is replaced.
    for _ in range(3):
        route, replica = balancer.first_visit()
        assert {balancer.replica_for(route) for _ in range(5)} == {replica}
    status, headers = fetch(f"{balancer.https}/", headers={"Cookie": "govdash_route=replica-2"})
    assert status == 200 and any(ROUTE.match(c) for c in headers.get_all("Set-Cookie") or [])
    spread = routes_to_each_replica(balancer)
    assert sorted(spread) == ["replica-1", "replica-2"]

    # A browser with no cookie: its first page, every reload, its scripts, its websocket
    # (a new one per reload) all reach one replica.
    context = browser_context(browser, balancer)
    page = context.new_page()
    answered = [load(page, f"{balancer.https}/cases?period=2025-11") for _ in range(6)]
    wait_for_app(page, charts=True)
    screenshot(page, artifacts / "replicas-sticky.png")
    route = next(c["value"] for c in context.cookies() if c["name"] == "govdash_route")
    context.close()
    assert len(set(answered)) == 1, answered
    requests = wait_for_log(balancer, route, sockets=6)
    assert {r[2] for r in requests} == {balancer.names[answered[0]]}, requests
    first = [r for r in requests if r[0] == "-"]
    assert len(first) == 1 and first[0][4] == "/cases?period=2025-11", "routed by its new route"

    # Two browsers given routes to different replicas are served by different replicas.
    seen = {}
    for replica, route in spread.items():
        context = browser_context(browser, balancer, route)
        seen[replica] = {balancer.names[load(context.new_page(), balancer.https)] for _ in "ab"}
        context.close()
    assert seen == {"replica-1": {"replica-1"}, "replica-2": {"replica-2"}}


def wait_for_log(balancer: Balancer, route: str, sockets: int) -> list[Request]:
    """The logged requests of `route`, once its `sockets` websockets are logged (nginx logs
    a websocket when it closes)."""
    deadline = time.monotonic() + 15
    while True:
        requests = [r for r in balancer.requests() if r[1] == route]
        if sum(r[4] == "/_stcore/stream" for r in requests) >= sockets:
            return requests
        assert time.monotonic() < deadline, requests
        time.sleep(0.3)


@pytest.mark.slow
def test_an_upload_through_one_replica_is_on_the_other_at_once(
    balancer: Balancer, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    routes = routes_to_each_replica(balancer)
    uploader = browser_context(browser, balancer, routes["replica-1"])
    reader = browser_context(browser, balancer, routes["replica-2"])
    try:
        # The reader's replica has the November figure of the seeded store cached: 1 case.
        watch = reader.new_page()
        cases = f"{balancer.https}/cases?period=2025-11"
        assert balancer.names[load(watch, cases)] == "replica-2"
        started = time.monotonic()
        load(watch, cases)
        warm_reload = time.monotonic() - started  # what a page costs on this machine now
        assert watch.locator(FIRST_KPI).first.inner_text() == "1件"

        # Two more November cases, uploaded in the browser through the other replica.
        upload = uploader.new_page()
        assert balancer.names[load(upload, f"{balancer.https}/upload")] == "replica-1"
        ledger = tmp_path / "十一月.csv"
        ledger.write_bytes(csv_bytes([case("00002"), case("00003")]))
        upload.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(ledger)
        commit = upload.get_by_role("button", name=t("upload_commit", "zh"))
        commit.wait_for()
        upload.wait_for_function(APP_IDLE)
        commit.click()
        counts = {"new": 2, "changed": 0, "unchanged": 0, "deleted": 0}
        done = t("ingest_committed", "zh", dataset=DATASETS["cases"].zh, version=2, **counts)
        upload.get_by_text(done).wait_for()
        committed = time.monotonic()  # the commit is on disk: the success is said after it

        # The other replica, reloaded until it shows the new figure: each reload is a new
        # page run there, which looks the store's version up.
        reloads = []  # (started, figure), seconds after the commit
        while not reloads or (reloads[-1][1] != "3件" and reloads[-1][0] < STALENESS_LIMIT):
            started = time.monotonic() - committed
            load(watch, cases)
            reloads.append((started, watch.locator(FIRST_KPI).first.inner_text()))
        seen = time.monotonic() - committed
        wait_for_app(upload)
        screenshot(upload, artifacts / f"replicas-{balancer.kind}-upload.png")
        wait_for_app(watch, charts=True)
        screenshot(watch, artifacts / f"replicas-{balancer.kind}-other.png")
    finally:
        uploader.close()
        reader.close()
    timing = {"reloads": reloads, "on_screen_after_s": seen, "warm_reload_s": warm_reload}
    (artifacts / f"replicas-{balancer.kind}-timing.json").write_text(
        json.dumps(timing), encoding="utf-8"
    )
    # 3 = 1 seeded + 2 uploaded November cases, shown by a page run the other replica began
    # within the limit after the commit (today the first: it looks the version up every run).
    assert reloads[-1][1] == "3件", timing
    assert reloads[-1][0] < STALENESS_LIMIT, timing
    assert {figure for _, figure in reloads} <= {"1件", "3件"}, timing
    requests = balancer.requests()
    uploads = {(r[2], r[3]) for r in requests if r[4].startswith("/_stcore/upload_file")}
    assert uploads == {("replica-1", "204")}, "the file went to the replica holding the session"


def test_the_replica_unit_refuses_to_start_without_the_shared_secret() -> None:
    """deploy/systemd/govdash@.service as systemd would run it: instance N on port 850N (the
    ports nginx's upstream lists), and its start check run with the secret missing, left at
    the example's placeholder, and set."""
    unit = (ROOT / "deploy" / "systemd" / "govdash@.service").read_text(encoding="utf-8")
    settings = [line.split("=", 1) for line in unit.splitlines() if "=" in line[:30]]
    values = {key: value for key, value in settings if not key.startswith("#")}
    assert "--server.port 850%i" in values["ExecStart"]
    assert values["EnvironmentFile"] == "/etc/govdash/app.env", "no '-': required"
    upstream = SITE.read_text(encoding="utf-8")
    assert re.findall(r"server 127\.0\.0\.1:(\d+);", upstream) == ["8501", "8502"]
    shell, flag, script = shlex.split(values["ExecStartPre"])
    script = script.replace("$$", "$")  # systemd's escape for a literal $
    example = (ROOT / "deploy" / "systemd" / "govdash.env.example").read_text(encoding="utf-8")
    placeholder = re.search(r"^STREAMLIT_SERVER_COOKIE_SECRET=(.*)$", example, re.M)
    assert placeholder and re.search(r"^GOVDASH_DATA_DIR=/", example, re.M)
    base = {"PATH": os.environ["PATH"]}
    for secret, code in ((None, 1), (placeholder[1], 1), ("Zq3-a-real-secret", 0)):
        env = base if secret is None else {**base, "STREAMLIT_SERVER_COOKIE_SECRET": secret}
        run = subprocess.run([shell, flag, script], env=env, capture_output=True, timeout=10)
        assert run.returncode == code, (secret, run.stderr)
