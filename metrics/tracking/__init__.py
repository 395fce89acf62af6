"""Tracked follow-up items (督办事项): the data layer. `lifecycle` holds the event log and the
lifecycle; `closure` judges items against their deadlines (closed on time, late, open) and
gives the catalog's `followup_closure_rate` its table (`attach`). Rights are
metrics.access.tracking's. Decision: docs/decisions/0013-tracked-items.md.
"""

from metrics.tracking.closure import EVENTS_VIEW, Tally, attach, judge, tally
from metrics.tracking.lifecycle import (
    ACTIONS,
    EDITABLE,
    MOVES,
    PRIORITIES,
    RECORD_KINDS,
    STATUSES,
    TABLE,
    Item,
    TrackingError,
    act,
    checked,
    create,
    events,
    history,
    item,
    items,
    states,
)

__all__ = [
    "ACTIONS",
    "EDITABLE",
    "EVENTS_VIEW",
    "MOVES",
    "PRIORITIES",
    "RECORD_KINDS",
    "STATUSES",
    "TABLE",
    "Item",
    "Tally",
    "TrackingError",
    "act",
    "attach",
    "checked",
    "create",
    "events",
    "history",
    "item",
    "items",
    "judge",
    "states",
    "tally",
]
