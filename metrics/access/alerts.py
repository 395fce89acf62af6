"""Warnings as a principal may see them, subscribers (administrators) and delivery
(administrators and the server's operator). Clerks see their own community's warnings only."""

from __future__ import annotations

import datetime as dt

from metrics import alerts, notify
from metrics.access.audit import audit
from metrics.access.principals import Principal, require
from metrics.access.reader import pinned_version
from metrics.access.roles import resolve
from metrics.alerts import Warning
from metrics.deadlines import store_now
from metrics.periods import Period
from metrics.queries import communities
from metrics.store import Store

__all__ = [
    "Warning",
    "add_subscriber",
    "all_warnings",
    "notify_run",
    "remove_subscriber",
    "subscribers",
    "visible_warnings",
]


def all_warnings(store: Store, token: str, at: dt.datetime | None = None) -> list[Warning]:
    """Every warning of the data version `token` names, read at `at` (default: the store's
    moment). Not for a page to show as it is: `visible_warnings` filters it per principal;
    the pages cache this (it is the same for everybody) by version and day."""
    return alerts.evaluate(store, pinned_version(token), at or store_now(store))


def visible_warnings(found: list[Warning], by: Principal) -> list[Warning]:
    """The warnings `by` may see: all for the city's readers, their community's for a clerk."""
    if by.can("view_city"):
        return list(found)
    return [w for w in found if w.community_id == by.community_id]


def subscribers(store: Store, by: Principal) -> list[notify.Subscriber]:
    require(by, "admin")
    return notify.subscribers.load(store)


def add_subscriber(
    store: Store,
    by: Principal,
    kind: str,
    target: str,
    secret: str = "",
    community_ids: list[str] | None = None,
    what: list[str] | None = None,
) -> notify.Subscriber:
    """Check and save a subscriber (one with the same kind and target is replaced)."""
    require(by, "admin")
    con = store.connect(store.version(), rollups=False)
    try:
        known = {str(c) for c in communities(con)["community_id"]}
    finally:
        con.close()
    made = notify.subscribers.make(
        kind, target, secret, community_ids or [], what or list(notify.subscribers.WHAT), known
    )
    version = notify.subscribers.add(store, made, by.user)
    audit(store, by, "subscriber_added", id=made.id, kind=made.kind, version=version)
    return made


def remove_subscriber(store: Store, by: Principal, subscriber_id: str) -> None:
    require(by, "admin")
    version = notify.subscribers.remove(store, subscriber_id, by.user)
    audit(store, by, "subscriber_removed", id=subscriber_id, version=version)


def clerk_community(store: Store, subscriber: notify.Subscriber) -> str | None:
    """The community an e-mail subscriber is held to because the roles list names the
    address as a clerk's; None for anybody else and for robots."""
    if subscriber.kind != "email":
        return None
    who = resolve(store, subscriber.target)
    return who.community_id if who is not None and who.role == "clerk" else None


def notify_run(
    store: Store, by: Principal, period: Period | None = None, *, dry_run: bool = False
) -> list[notify.Delivery]:
    """A delivery run (metrics.notify.run); administrators and the server's operator."""
    require(by, "admin")
    cfg = notify.config.load()
    return notify.notify(store, cfg, lambda s: clerk_community(store, s), period, dry_run=dry_run)
