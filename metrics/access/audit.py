"""The audit log: one entry per sign-in, refusal and change, and exactly one per version of
every dataset; entries are never changed. How the entries of data versions are written
(an intent before the commit, its outcome after) and recovered: metrics/derived/audit_log.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from metrics.access.principals import Principal, require
from metrics.derived import audit_log as entries_table
from metrics.derived.audit_log import AUDIT_TABLE, Actor
from metrics.periods import local_tz
from metrics.store import Store

__all__ = ["AUDIT_TABLE", "audit", "audit_entries", "audit_log", "audit_refused"]


def audit(store: Store, who: Principal, action: str, **detail: Any) -> None:
    """Append one entry to the audit log. There is no way to change or delete entries."""
    actor = Actor(who.user, who.role, who.community_id)
    entries_table.append(store, [entries_table.event_row(actor, action, detail)])


def audit_refused(store: Store, user: str, **detail: Any) -> None:
    """A sign-in by somebody who is not on the roles list: recorded, with no role."""
    entries_table.append(store, [entries_table.event_row(Actor(user), "login_refused", detail)])


def audit_log(store: Store, by: Principal, limit: int | None = None) -> pd.DataFrame:
    """The entries newest first (all of them, or the newest `limit`); administrators only.
    Columns: at (UTC), user, role, community_id, action, detail (JSON), and for the entry of
    a data version its status (committed, not_committed, pending), dataset and version."""
    require(by, "admin")
    frame = entries_table.entries(store).drop(columns="entry_id")
    return (frame if limit is None else frame.head(limit)).reset_index(drop=True)


def audit_entries(
    store: Store, by: Principal, first: dt.date | None = None, last: dt.date | None = None
) -> pd.DataFrame:
    """The entries made from day `first` to day `last` (both included, in the readers' time
    zone), oldest first; administrators only (`python -m metrics audit`)."""
    frame = audit_log(store, by)
    days = frame["at"].dt.tz_convert(local_tz()).dt.date
    keep = pd.Series(True, index=frame.index)
    if first is not None:
        keep &= days >= first
    if last is not None:
        keep &= days <= last
    return frame[keep].iloc[::-1].reset_index(drop=True)
