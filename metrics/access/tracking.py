"""Tracked follow-up items (督办事项) as the principal may see and change them.

Leaders and administrators see every item, create, edit, accept (销号) and return (退回)
them; a community's clerk sees their own community's items only and starts and answers
them (an administrator may too). Every change is audited (`followup_<action>`). The data
and the lifecycle: metrics/tracking/.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from metrics import periods, tracking
from metrics.access.audit import audit
from metrics.access.principals import AccessDenied, Principal
from metrics.i18n import t
from metrics.periods import Period
from metrics.queries import communities
from metrics.review import carried
from metrics.store import Store
from metrics.tracking import Item, Tally, TrackingError

__all__ = [
    "ITEM_COLUMNS",
    "Item",
    "TrackingError",
    "act_on_item",
    "carried_rule",
    "carried_summary",
    "closure_tally",
    "create_item",
    "item_history",
    "item_rights",
    "items_frame",
    "tracked_items",
]

# Actions only those who see the city take; the rest are the community's (and an admin's).
LEADER_ACTIONS = frozenset({"create", "edit", "accept", "return"})
WORKER_ACTIONS = frozenset({"start", "answer"})
ITEM_COLUMNS = [
    "item_id",
    "status",
    "status_label",
    "overdue",
    "priority",
    "title",
    "community_id",
    "grid_id",
    "record_kind",
    "record_id",
    "owner",
    "deadline",
    "feedback",
    "answered_on",
    "reason",
]


def items_version(store: Store) -> int:
    """The version of the follow-up items' table (-1 before the first item): what page
    caches key on beside the data version, as items change without any upload."""
    version = store.document_version(tracking.lifecycle.TABLE)
    return -1 if version is None else version


def may(who: Principal, action: str, community_id: str | None) -> bool:
    """Whether `who` may take `action` on an item of `community_id`."""
    if action in LEADER_ACTIONS:
        return who.can("view_city")
    if action in WORKER_ACTIONS:
        return who.can("upload_any") or (
            who.role == "clerk" and community_id is not None and community_id == who.community_id
        )
    return False


def item_rights(who: Principal, one: Item) -> list[str]:
    """The actions `who` may take on `one` now (its status allows them and so do the rights)."""
    return [
        a
        for a, (before, _) in tracking.MOVES.items()
        if one.status in before and may(who, a, one.community_id)
    ]


def _seen(who: Principal, community_id: str | None) -> None:
    if who.can("view_city"):
        return
    if who.role != "clerk" or community_id != who.community_id:
        raise AccessDenied("access_denied_community", community=community_id or "")


def tracked_items(
    store: Store,
    who: Principal,
    *,
    community_id: str | None = None,
    status: str | None = None,
    as_of: dt.date | None = None,
) -> list[Item]:
    """The items `who` may see (a clerk: their community's; asking for another's is refused),
    newest first, of one community and status if given."""
    if not who.can("view_city"):
        _seen(who, community_id or who.community_id)
        community_id = who.community_id
    found = [
        i
        for i in tracking.items(store, as_of)
        if (community_id is None or i.community_id == community_id)
        and (status is None or i.status == status)
    ]
    return sorted(found, key=lambda i: (i.deadline, i.created_at or i.at), reverse=True)


def items_frame(store: Store, who: Principal, lang: str = "zh", **which: Any) -> pd.DataFrame:
    """`tracked_items` as a table (ITEM_COLUMNS), with the status and 逾期 in words."""
    today = periods.today()
    rows = []
    for one in tracked_items(store, who, **which):
        row = one.row()
        row["status_label"] = t("track_status_" + one.status, lang)
        row["overdue"] = one.overdue(today)
        rows.append(row)
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def item_history(store: Store, who: Principal, item_id: str) -> list[dict[str, Any]]:
    """An item's events, oldest first, to whoever may see the item."""
    _seen(who, tracking.item(store, item_id).community_id)
    return tracking.history(store, item_id)


def create_item(store: Store, who: Principal, fields: Mapping[str, Any]) -> Item:
    """A new item, open (leaders and administrators); its community must be on the register."""
    if not may(who, "create", None):
        raise AccessDenied("access_denied_action", action="create")
    values = tracking.checked(fields, creating=True)
    con = store.connect(rollups=False)
    try:
        known = set(communities(con)["community_id"])
    finally:
        con.close()
    if values["community_id"] not in known:
        raise TrackingError("track_unknown_community", community=values["community_id"])
    made = tracking.create(store, who.user, values)
    audit(store, who, "followup_create", item=made.item_id, community_id=made.community_id)
    return made


def act_on_item(store: Store, who: Principal, item_id: str, action: str, **given: Any) -> Item:
    """start, answer (feedback, answered_on), accept, return (reason) or edit (fields)."""
    current = tracking.item(store, item_id)
    _seen(who, current.community_id)
    if not may(who, action, current.community_id):
        raise AccessDenied("access_denied_action", action=action)
    done = tracking.act(store, who.user, item_id, action, **given)
    audit(store, who, "followup_" + action, item=item_id, status=done.status)
    return done


def carried_summary(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The meeting's carried items per community and the city (review/carried.py)."""
    return carried.summary(frame, lang)


def carried_rule(period: Period, lang: str = "zh") -> str:
    """How the carried section counts, in words."""
    return carried.rule(period, lang)


def closure_tally(
    store: Store, who: Principal, first: dt.date, last: dt.date, as_of: dt.date
) -> dict[str | None, Tally]:
    """Items due from `first` to `last` judged as of `as_of` (tracking.tally), those `who`
    may see (a clerk's community only; the city's row then is theirs)."""
    found = [i for i in tracked_items(store, who, as_of=as_of) if first <= i.deadline <= last]
    return tracking.tally(found)
