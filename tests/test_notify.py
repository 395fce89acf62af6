"""Delivery (issue 14, point 4): `python -m metrics subscribe` and `notify` against a local
SMTP server (aiosmtpd) and a local HTTP receiver standing in for the WeCom and DingTalk
robots, on the city of tests/test_alerts.py read on 10 December 2025: 14 warnings (A02's
four: two grids, two ledgers), and November's packet (the latest closed month).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import streamlit as st
from aiosmtpd.controller import Controller

from metrics import access
from metrics.__main__ import main
from metrics.access import Principal
from metrics.notify import config, deliveries, senders
from metrics.store import Store
from tests.test_alerts import NOW, build_city, signed_in

ADMIN = Principal("admin@qtx.gov.cn", "admin")
SECRET = "SECdeadbeef"
ALL_WARNINGS = 14
A02_WARNINGS = 4


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--data-dir", str(root / "data"), *args])
    return code, out.getvalue(), err.getvalue()


# -- the local SMTP server and robot receiver ------------------------------------------------
class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Robots(ThreadingHTTPServer):
    """Records every POST (path, query, JSON); answers from `script[path]` in turn (status,
    body), then 200 {"errcode": 0}."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []
        self.script: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def to(self, path: str) -> list[dict[str, Any]]:
        return [body for p, _, body in self.posts if p == path]


class _Handler(BaseHTTPRequestHandler):
    server: Robots

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append((parts.path, parse_qs(parts.query), body))
        queue = self.server.script.get(parts.path, [])
        status, answer = queue.pop(0) if queue else (200, {"errcode": 0, "errmsg": "ok"})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("notify")
    build_city(root)
    return root


@pytest.fixture
def city(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the city for one test, the clock on 10 December, SMTP and robots local."""
    root = tmp_path / "city"
    shutil.copytree(built, root)
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    robots = Robots()
    thread = threading.Thread(target=robots.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    monkeypatch.setenv("GOVDASH_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("GOVDASH_SMTP_FROM", "govdash@qtx.gov.cn")
    monkeypatch.setenv("GOVDASH_PUBLIC_URL", "https://dash.qtx.gov.cn")
    _rig.update(mailbox=mailbox, robots=robots)
    try:
        yield root
    finally:
        robots.shutdown()
        robots.server_close()
        smtp.stop()


_rig: dict[str, Any] = {}  # the running test's SMTP mailbox and robot receiver


def mailbox() -> Mailbox:
    found: Mailbox = _rig["mailbox"]
    return found


def robots() -> Robots:
    found: Robots = _rig["robots"]
    return found


def text_of(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_each_subscriber_gets_each_message_once(city: Path) -> None:
    store = Store(city / "data")
    access.save_roles(store, {"users": [clerk_entry()]}, ADMIN)
    subscribe(city, "--email", "leader@qtx.gov.cn")
    subscribe(city, "--email", "clerk@qtx.gov.cn", "--what", "warnings")
    subscribe(city, "--wecom", robots().url("/wecom?key=abc"))
    subscribe(city, "--dingtalk", robots().url("/ding?access_token=t1"), "--secret", SECRET)
    code, out, err = cli(city, "notify", "--json")
    assert (code, err) == (0, ""), err
    sent = json.loads(out)
    assert {d["status"] for d in sent} == {"sent"}
    # E-mail: the leader's warnings (all 14) and packet (PDF attached); the clerk of A02
    # their community's 4 warnings only, and no packet.
    mails = {(to[0], m["Subject"]): m for to, m in mailbox().messages}
    assert set(mails) == {
        ("leader@qtx.gov.cn", f"【预警】基层治理数据看板：{ALL_WARNINGS} 条新预警"),
        ("leader@qtx.gov.cn", "【例会材料】2025年11月基层治理数据"),
        ("clerk@qtx.gov.cn", f"【预警】基层治理数据看板：{A02_WARNINGS} 条新预警"),
    }
    packet = mails[("leader@qtx.gov.cn", "【例会材料】2025年11月基层治理数据")]
    pdf = [p for p in packet.walk() if p.get_content_type() == "application/pdf"]
    assert pdf and pdf[0].get_filename() == "例会报告-2025-11.pdf"
    assert (pdf[0].get_payload(decode=True) or b"")[:5] == b"%PDF-"
    clerk_text = text_of(
        mails[("clerk@qtx.gov.cn", f"【预警】基层治理数据看板：{A02_WARNINGS} 条新预警")]
    )
    assert "A02社区" in clerk_text and "A01社区" not in clerk_text and "A03社区" not in clerk_text
    assert "https://dash.qtx.gov.cn/cases?community=A02&grid=A02-G1&period=2025-11" in clerk_text
    # WeCom: the documented markdown message, under 4096 bytes, warnings then packet.
    wecom = robots().to("/wecom")
    assert len(wecom) == 2
    assert all(set(b) == {"msgtype", "markdown"} and b["msgtype"] == "markdown" for b in wecom)
    assert all(set(b["markdown"]) == {"content"} for b in wecom)
    assert all(len(b["markdown"]["content"].encode()) < 4096 for b in wecom)
    assert "https://dash.qtx.gov.cn/meeting?period=2025-11" in wecom[1]["markdown"]["content"]
    # DingTalk: title and text, and each request signed with the secret.
    ding = [(q, b) for p, q, b in robots().posts if p == "/ding"]
    assert len(ding) == 2
    for query, body in ding:
        assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
        assert query["access_token"] == ["t1"]
        stamp = query["timestamp"][0]
        digest = hmac.new(SECRET.encode(), f"{stamp}\n{SECRET}".encode(), hashlib.sha256)
        # parse_qs decoded the URL-encoding once: the base64 of the HMAC is what is left.
        assert query["sign"][0] == base64.b64encode(digest.digest()).decode()
    # A second run sends nothing.
    before = (len(mailbox().messages), len(robots().posts))
    code, out, _ = cli(city, "notify", "--json")
    assert (code, json.loads(out)) == (0, [])
    assert (len(mailbox().messages), len(robots().posts)) == before


def test_a_failing_robot_gets_its_message_exactly_once_when_it_recovers(city: Path) -> None:
    subscribe(city, "--wecom", robots().url("/wecom?key=abc"), "--what", "warnings")
    robots().script["/wecom"] = [(500, {"errcode": -1}), (200, {"errcode": 93000})]
    code, out, _ = cli(city, "notify", "--json")
    assert code == 1 and json.loads(out)[0]["error"] == "HTTP 500"
    code, out, _ = cli(city, "notify", "--json")
    assert code == 1 and json.loads(out)[0]["error"].startswith("errcode 93000")
    code, out, _ = cli(city, "notify", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "sent"
    code, out, _ = cli(city, "notify", "--json")
    assert (code, json.loads(out)) == (0, [])
    # Three posts (500, errcode, accepted), one accepted: the warnings went out once.
    assert len(robots().to("/wecom")) == 3
    log = deliveries.entries(Store(city / "data"))
    assert {r["status"] for r in log if r["status"] != "attempt"} == {"failed", "sent"}
    sent = [r for r in log if r["status"] == "sent"]
    assert len(sent) == ALL_WARNINGS  # one row per warning, each once
    assert {r["attempt"] for r in sent} == {3}


def test_a_dry_run_sends_nothing_and_records_nothing(city: Path) -> None:
    subscribe(city, "--email", "leader@qtx.gov.cn")
    code, out, _ = cli(city, "notify", "--dry-run", "--json")
    assert code == 0
    assert [(d["what"], d["status"], len(d["keys"])) for d in json.loads(out)] == [
        ("warnings", "would_send", ALL_WARNINGS),
        ("packet", "would_send", 1),
    ]
    assert mailbox().messages == [] and deliveries.entries(Store(city / "data")) == []
    code, out, _ = cli(city, "notify", "--period", "2025-12", "--json")
    assert code == 2, "December has not closed on 10 December"


def test_subscribe_lists_removes_and_refuses(city: Path) -> None:
    code, _, err = cli(city, "subscribe", "--email", "not-an-address")
    assert code == 2 and "邮箱地址“not-an-address”无效" in err
    code, _, err = cli(city, "subscribe", "--email", "a@qtx.gov.cn", "--community", "A09")
    assert code == 2 and "A09" in err
    code, _, err = cli(city, "subscribe", "--email", "a@qtx.gov.cn", "--community", "A01")
    assert code == 2 and "例会材料包含全市" in err  # the packet is the city's
    subscribe(city, "--email", "a@qtx.gov.cn", "--community", "A01", "--what", "warnings")
    subscribe(city, "--wecom", robots().url("/wecom?key=abc"))
    code, out, _ = cli(city, "subscribe", "--list", "--json")
    listed = json.loads(out)
    assert [(s["kind"], s["communities"], s["what"]) for s in listed] == [
        ("email", ["A01"], ["warnings"]),
        ("wecom", [], ["warnings", "packet"]),
    ]
    assert "key=abc" not in out, "the webhook's key stays off the screen"
    code, out, _ = cli(city, "subscribe", "--remove", listed[0]["id"])
    assert code == 0
    code, out, _ = cli(city, "subscribe", "--list")
    assert "a@qtx.gov.cn" not in out and "wecom" in out


def test_a_long_message_is_cut_under_the_robots_limit() -> None:
    text = "\n".join(f"- 第{i}条预警：某社区某网格的一条很长的原因说明" for i in range(500))
    cut = senders.fit(text, 4096, "……（已截断）")
    assert len(cut.encode()) < 4096 and cut.endswith("……（已截断）")
    assert senders.fit("短", 4096, "x") == "短"


def clerk_entry() -> dict[str, str]:
    return {"user": "clerk@qtx.gov.cn", "role": "clerk", "community_id": "A02"}


def subscribe(root: Path, *args: str) -> None:
    code, out, err = cli(root, "subscribe", *args)
    assert code == 0, err
    assert unquote(out)


def test_the_admin_page_lists_adds_and_refuses_subscribers(
    city: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(city / "data"))
    monkeypatch.setenv("GOVDASH_ADMINS", ADMIN.user)
    st.cache_resource.clear()
    st.cache_data.clear()
    subscribe(city, "--wecom", robots().url("/wecom?key=abc"))
    at = signed_in("admin", ADMIN.user)
    table = next(d.value for d in at.dataframe if "kind" in d.value.columns)
    assert list(table["kind"]) == ["wecom"] and "key=abc" not in table["target"].iloc[0]
    at.text_input(key="subs_target").input("not-an-address")
    at.button[[b.label for b in at.button].index("添加订阅者")].click().run()
    # Said in Chinese (markdown-escaped: "not\\-an\\-address"), nothing saved.
    assert any("邮箱地址“not\\-an\\-address”无效" in e.value for e in at.error)
    assert len(access.subscribers(Store(city / "data"), ADMIN)) == 1
    at.text_input(key="subs_target").input("leader@qtx.gov.cn")
    at.button[[b.label for b in at.button].index("添加订阅者")].click().run()
    assert not at.exception and not at.error
    listed = [s.target for s in access.subscribers(Store(city / "data"), ADMIN)]
    assert "leader@qtx.gov.cn" in listed
    st.cache_resource.clear()
    st.cache_data.clear()


def test_the_settings_come_from_the_environment_or_the_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[notify]\nsmtp_url = "smtp://mail%40qtx.gov.cn:p%40ss@smtp.qtx.gov.cn:587"\n'
        'smtp_from = "govdash@qtx.gov.cn"\npublic_url = "https://dash.qtx.gov.cn/"\n',
        encoding="utf-8",
    )
    for name in ("GOVDASH_SMTP_URL", "GOVDASH_SMTP_FROM", "GOVDASH_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    found = config.load(secrets)
    assert found.smtp == config.Smtp("smtp.qtx.gov.cn", 587, "mail@qtx.gov.cn", "p@ss", False)
    assert found.sender == "govdash@qtx.gov.cn"
    assert found.link("/warnings") == "https://dash.qtx.gov.cn/warnings"
    # The environment wins; smtps:// is TLS from the start, on 465 unless said.
    monkeypatch.setenv("GOVDASH_SMTP_URL", "smtps://u:p@mail.example.cn")
    assert config.load(secrets).smtp == config.Smtp("mail.example.cn", 465, "u", "p", True)
    assert config.load(tmp_path / "none.toml").public_url == ""
