"""Tracked follow-up items (督办事项): an append-only log of events in the store's side
table `_followups`, one Delta commit per write, under the store's `followups` lock.

An item's history is its events; its state is its latest event (every event carries the
item's fields as they stand after it). Status: open (待办) → in_progress (办理中) →
answered (已办结, with feedback and the day it was done) → accepted (销号), or returned by
a leader (退回: back to in_progress, with a reason). Overdue (逾期) is computed, never
stored: `overdue`. Rights are metrics.access.tracking's; this module checks the data only.
Decision: docs/decisions/0013-tracked-items.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from metrics import periods
from metrics.delta import StoreError
from metrics.i18n import Refusal, t

if TYPE_CHECKING:
    from metrics.store import Store

TABLE = "_followups"
LOCK = "followups"
Status = Literal["open", "in_progress", "answered", "accepted"]
STATUSES: tuple[Status, ...] = ("open", "in_progress", "answered", "accepted")
ACTIONS = ("create", "start", "answer", "accept", "return", "edit")
PRIORITIES = ("high", "medium", "low")
RECORD_KINDS = ("case", "wish", "metric", "other")
# The fields a leader may change with `edit` (the rest follow from the lifecycle).
EDITABLE = ("title", "grid_id", "owner", "deadline", "priority")
# Which status each action moves from, and to (edit keeps the status).
MOVES: dict[str, tuple[tuple[Status, ...], Status | None]] = {
    "start": (("open",), "in_progress"),
    "answer": (("open", "in_progress"), "answered"),
    "accept": (("answered",), "accepted"),
    "return": (("answered",), "in_progress"),
    "edit": (("open", "in_progress", "answered"), None),
}
MAX_TEXT = 2000

SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("event_no", pa.int32()),
        ("at", pa.timestamp("ms", tz="UTC")),
        ("by", pa.string()),
        ("action", pa.string()),
        ("status", pa.string()),
        ("title", pa.string()),
        ("community_id", pa.string()),
        ("grid_id", pa.string()),
        ("record_kind", pa.string()),
        ("record_id", pa.string()),
        ("owner", pa.string()),
        ("deadline", pa.date32()),
        ("priority", pa.string()),
        ("feedback", pa.string()),
        ("answered_on", pa.date32()),
        ("reason", pa.string()),
    ]
)


class TrackingError(Refusal):
    """An item or an action the data refuses; `key` is a message in messages.yaml. A status
    or an action among the params is a code, said in the reader's words."""

    def message(self, lang: str = "zh") -> str:
        words = {k: t(f"track_{k}_{v}", lang) for k, v in self.params.items() if k in _WORDS}
        return t(self.key, lang, **{**self.params, **words})


_WORDS = ("status", "action")


@dataclass(frozen=True)
class Item:
    """An item as it stands after its latest event (`event_no` of them so far)."""

    item_id: str
    event_no: int
    at: dt.datetime
    by: str
    action: str
    status: Status
    title: str
    community_id: str
    grid_id: str | None
    record_kind: str
    record_id: str | None
    owner: str
    deadline: dt.date
    priority: str
    feedback: str | None = None
    answered_on: dt.date | None = None
    reason: str | None = None
    created_at: dt.datetime | None = None

    def overdue(self, today: dt.date) -> bool:
        """逾期: past the deadline with no answer standing (an answer given in time is not
        overdue while it waits for the leader's 销号)."""
        return self.status in ("open", "in_progress") and today > self.deadline

    def closed_late(self) -> bool:
        """Answered (or accepted) with the work done after the deadline."""
        done = self.status in ("answered", "accepted") and self.answered_on is not None
        return done and self.answered_on is not None and self.answered_on > self.deadline

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "created_at"}


# -- reads ---------------------------------------------------------------------------------
def events(store: Store) -> pa.Table:
    """Every event, oldest first (an empty table with the schema when there are none)."""
    table = store.read_rows(TABLE)
    if table is None:
        return SCHEMA.empty_table()
    table = table.select(SCHEMA.names).cast(SCHEMA)
    return table.sort_by([("at", "ascending"), ("item_id", "ascending"), ("event_no", "ascending")])


def items(store: Store, as_of: dt.date | None = None) -> list[Item]:
    """Every item as it stood at the end of day `as_of` (default: now), oldest first;
    items created after it are left out."""
    return states(events(store), as_of)


def states(table: pa.Table, as_of: dt.date | None = None) -> list[Item]:
    """The latest state of each item in an events table, as of the end of day `as_of`."""
    created: dict[str, dt.datetime] = {}
    latest: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        if as_of is not None and local_day(row["at"]) > as_of:
            continue
        created.setdefault(row["item_id"], row["at"])
        current = latest.get(row["item_id"])
        if current is None or row["event_no"] > current["event_no"]:
            latest[row["item_id"]] = row
    return [Item(**row, created_at=created[key]) for key, row in latest.items()]


def local_day(at: dt.datetime) -> dt.date:
    """The day a moment falls on in the readers' time zone."""
    return at.astimezone(periods.local_tz()).date()


def item(store: Store, item_id: str) -> Item:
    for found in items(store):
        if found.item_id == item_id:
            return found
    raise TrackingError("track_unknown_item", item=item_id)


def history(store: Store, item_id: str) -> list[dict[str, Any]]:
    """An item's events, oldest first."""
    table = events(store)
    rows: list[dict[str, Any]] = table.filter(
        pc.equal(table.column("item_id"), item_id)
    ).to_pylist()
    return rows


# -- writes --------------------------------------------------------------------------------
def create(store: Store, user: str, fields_: Mapping[str, Any]) -> Item:
    """A new item, open; returns it. The fields: title, community_id, grid_id, record_kind,
    record_id, owner, deadline, priority (checked by `checked`)."""
    values = checked(fields_, creating=True)
    now = periods.now()
    new = Item(
        item_id=uuid.uuid4().hex[:12],
        event_no=1,
        at=now,
        by=user,
        action="create",
        status="open",
        **values,
    )
    with store.lock(LOCK):
        _append(store, new, user)
    return new


def act(store: Store, user: str, item_id: str, action: str, **given: Any) -> Item:
    """One step of an item's life (start, answer, accept, return, edit), checked against
    its state under the lock; returns the item after it."""
    if action not in MOVES:
        raise TrackingError("track_bad_action", action=action)
    with store.lock(LOCK):
        current = item(store, item_id)
        before, after = MOVES[action]
        if current.status not in before:
            raise TrackingError("track_bad_move", action=action, status=current.status)
        changes = _changes(current, action, given)
        new = replace(
            current,
            event_no=current.event_no + 1,
            at=periods.now(),
            by=user,
            action=action,
            status=after or current.status,
            **changes,
        )
        _append(store, new, user)
    return new


def _changes(current: Item, action: str, given: Mapping[str, Any]) -> dict[str, Any]:
    if action == "answer":
        feedback = _text(given.get("feedback"), "feedback")
        answered_on = _date(given.get("answered_on") or periods.today(), "answered_on")
        if answered_on > periods.today():
            raise TrackingError("track_answer_future", day=answered_on.isoformat())
        return {"feedback": feedback, "answered_on": answered_on, "reason": None}
    if action == "return":
        # Back to work: the answer no longer stands (closure counts it no more).
        reason = _text(given.get("reason"), "reason")
        return {"reason": reason, "answered_on": None}
    if action == "edit":
        merged = {k: given[k] for k in EDITABLE if k in given and given[k] is not None}
        values = checked({**current.row(), **merged}, creating=False)
        return {k: values[k] for k in EDITABLE}
    return {}


def checked(given: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """An item's fields, checked and normalised; TrackingError naming the first bad one."""
    kind = str(given.get("record_kind") or "other")
    if kind not in RECORD_KINDS:
        raise TrackingError("track_bad_record_kind", value=kind)
    priority = str(given.get("priority") or "medium")
    if priority not in PRIORITIES:
        raise TrackingError("track_bad_priority", value=priority)
    deadline = _date(given.get("deadline"), "deadline")
    if creating and deadline < periods.today():
        raise TrackingError("track_deadline_past", day=deadline.isoformat())
    return {
        "title": _text(given.get("title"), "title"),
        "community_id": _text(given.get("community_id"), "community_id"),
        "grid_id": _optional(given.get("grid_id")),
        "record_kind": kind,
        "record_id": _optional(given.get("record_id")),
        "owner": _text(given.get("owner"), "owner"),
        "deadline": deadline,
        "priority": priority,
    }


def _text(value: Any, name: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text or text.lower() == "nan":
        raise TrackingError("track_missing_" + name)
    if len(text) > MAX_TEXT:
        raise TrackingError("track_too_long", field=name, limit=MAX_TEXT)
    return text


def _optional(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text if text and text.lower() not in ("nan", "none") else None


def _date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise TrackingError("track_bad_" + name, value=str(value)) from None


def _append(store: Store, new: Item, user: str) -> None:
    if store.is_demo:
        raise StoreError("store_demo_read_only")
    rows = pa.Table.from_pylist([new.row()], schema=SCHEMA)
    meta = {"user": user, "action": new.action, "item": new.item_id}
    store.append_rows(TABLE, rows, meta)
