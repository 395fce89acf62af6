"""Sending one message: e-mail over SMTP, and the WeCom and DingTalk group robots' webhooks
(their documented JSON, markdown messages). The only code that reaches the network, called
by `notify` only. Each returns nothing when the message was accepted and raises SendError
otherwise: a robot answers HTTP 200 with a non-zero `errcode` when it refuses one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import quote_plus

from metrics.notify.config import Smtp

TIMEOUT = 20  # seconds for one send
# A robot's markdown message: WeCom takes at most 4096 bytes of content (UTF-8); DingTalk's
# documented limit is larger, kept to 18000 to be safe.
LIMITS = {"wecom": 4096, "dingtalk": 18000}


class SendError(Exception):
    """The message was not accepted; str() says why (for the log and the delivery log)."""


def send_email(
    smtp: Smtp | None,
    sender: str,
    to: str,
    subject: str,
    body: str,
    attachment: tuple[str, bytes] | None = None,
) -> None:
    if smtp is None or not sender:
        raise SendError("no SMTP server configured (GOVDASH_SMTP_URL, GOVDASH_SMTP_FROM)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    context = ssl.create_default_context()
    try:
        if smtp.tls:
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=TIMEOUT, context=context
            )
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT)
        with server:
            server.ehlo()
            if not smtp.tls and server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            if smtp.user:
                server.login(smtp.user, smtp.password)
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {smtp.host}:{smtp.port}: {exc}") from exc


def fit(text: str, limit: int, note: str) -> str:
    """`text` cut at a line so that it and `note` stay under `limit` bytes (UTF-8)."""
    if len(text.encode()) < limit:
        return text
    room = limit - len(note.encode()) - 2
    kept: list[str] = []
    size = 0
    for line in text.split("\n"):
        size += len(line.encode()) + 1
        if size > room:
            break
        kept.append(line)
    return "\n".join(kept) + "\n" + note


def wecom_payload(text: str) -> dict[str, object]:
    return {"msgtype": "markdown", "markdown": {"content": text}}


def dingtalk_payload(title: str, text: str) -> dict[str, object]:
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret,
    base64, URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    sign = dingtalk_sign(secret, timestamp_ms)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


def post_robot(url: str, payload: dict[str, object]) -> None:
    """POST the JSON to a robot's webhook; SendError unless it answers errcode 0."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer = response.read()
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SendError(f"cannot reach the robot: {exc}") from exc
    try:
        code = json.loads(answer).get("errcode")
    except (ValueError, AttributeError) as exc:
        raise SendError(f"not a robot's answer: {answer[:100]!r}") from exc
    if code != 0:
        raise SendError(f"errcode {code}: {json.loads(answer).get('errmsg', '')}")
