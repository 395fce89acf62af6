"""Subscribers: who gets warnings and the meeting packet, kept as a versioned document in
the store (side table `_subscribers`, like the roles), each change a version with its author.

A subscriber is an e-mail address, a WeCom (企业微信) group robot or a DingTalk (钉钉) group
robot (with its signing secret when the robot has one), the communities it follows (none:
all) and what it gets (warnings, packet). An e-mail address that belongs to a clerk on the
roles list gets their community's warnings only, and no packet, whatever its entry says:
this is checked at every delivery, so a role change counts at once (decision 0014).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from metrics.i18n import Refusal
from metrics.schemas import CODE_PATTERN
from metrics.store import Store

SUBSCRIBERS_TABLE = "_subscribers"
Kind = Literal["email", "wecom", "dingtalk"]
KINDS: tuple[Kind, ...] = ("email", "wecom", "dingtalk")
WHAT = ("warnings", "packet")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubscriberError(Refusal):
    """A subscriber that cannot be saved; `key` names its message."""


@dataclass(frozen=True)
class Subscriber:
    id: str
    kind: Kind
    target: str  # the e-mail address or the robot's webhook URL
    secret: str = ""  # DingTalk's signing secret (加签), if the robot has one
    communities: tuple[str, ...] = ()  # empty: the whole city
    what: tuple[str, ...] = WHAT

    def shown(self) -> str:
        """The target without the webhook's access token (kept off screens and logs)."""
        if self.kind == "email":
            return self.target
        parts = urlsplit(self.target)
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")

    def as_dict(self, *, shown: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["communities"], out["what"] = list(self.communities), list(self.what)
        if shown:
            out["target"], out["secret"] = self.shown(), "***" if self.secret else ""
        return out


def subscriber_id(kind: str, target: str) -> str:
    return "s" + hashlib.sha256(f"{kind}|{target}".encode()).hexdigest()[:10]


def make(
    kind: str,
    target: str,
    secret: str = "",
    communities: Iterable[str] = (),
    what: Iterable[str] = WHAT,
    known: set[str] | None = None,
) -> Subscriber:
    """A checked subscriber; SubscriberError when it is not valid. `known`: the community
    register's codes."""
    target = target.strip()
    if kind not in KINDS:
        raise SubscriberError("notify_bad_kind", kind=kind)
    if kind == "email":
        target = target.lower()
        if not _EMAIL.match(target):
            raise SubscriberError("notify_bad_email", target=target)
    elif urlsplit(target).scheme not in ("http", "https") or not urlsplit(target).netloc:
        raise SubscriberError("notify_bad_url", target=target)
    if secret and kind != "dingtalk":
        raise SubscriberError("notify_secret_dingtalk_only")
    chosen = tuple(dict.fromkeys(c.strip() for c in communities if c.strip()))
    for community in chosen:
        if not re.match(CODE_PATTERN, community) or (known is not None and community not in known):
            raise SubscriberError("notify_bad_community", community=community)
    wanted = tuple(w for w in WHAT if w in {w.strip() for w in what})
    unknown = {w.strip() for w in what} - set(WHAT)
    if unknown or not wanted:
        raise SubscriberError("notify_bad_what", what=",".join(sorted(unknown)) or "-")
    if chosen and "packet" in wanted:
        # The packet holds every community's figures: for those who follow the city.
        raise SubscriberError("notify_packet_city_only")
    return Subscriber(subscriber_id(kind, target), kind, target, secret, chosen, wanted)


def _from_dict(raw: Mapping[str, Any]) -> Subscriber:
    return Subscriber(
        str(raw["id"]),
        raw["kind"],
        str(raw["target"]),
        str(raw.get("secret") or ""),
        tuple(raw.get("communities") or ()),
        tuple(raw.get("what") or WHAT),
    )


def load(store: Store) -> list[Subscriber]:
    document, _version = store.read_document(SUBSCRIBERS_TABLE)
    return [_from_dict(s) for s in (document or {}).get("subscribers", [])]


def version(store: Store) -> int | None:
    return store.document_version(SUBSCRIBERS_TABLE)


def save(store: Store, subscribers: list[Subscriber], user: str) -> int:
    document = {"subscribers": [s.as_dict(shown=False) for s in subscribers]}
    return store.write_document(SUBSCRIBERS_TABLE, document, user)


def add(store: Store, subscriber: Subscriber, user: str) -> int:
    """Add `subscriber`, or replace the one with the same kind and target (its id)."""
    with store.lock(SUBSCRIBERS_TABLE + "_edit"):
        rest = [s for s in load(store) if s.id != subscriber.id]
        return save(store, [*rest, subscriber], user)


def remove(store: Store, subscriber: str, user: str) -> int:
    with store.lock(SUBSCRIBERS_TABLE + "_edit"):
        found = load(store)
        if subscriber not in {s.id for s in found}:
            raise SubscriberError("notify_unknown_subscriber", id=subscriber)
        return save(store, [s for s in found if s.id != subscriber], user)
