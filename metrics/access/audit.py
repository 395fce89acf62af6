"""The audit log: one entry per sign-in, refusal and change; entries are never changed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pyarrow as pa

from metrics.access.principals import Principal, require
from metrics.store import Store

AUDIT_TABLE = "_audit"
_AUDIT_SCHEMA = pa.schema(
    [
        ("at", pa.timestamp("ms", tz="UTC")),
        ("user", pa.string()),
        ("role", pa.string()),
        ("community_id", pa.string()),
        ("action", pa.string()),
        ("detail", pa.string()),
    ]
)


def audit(store: Store, who: Principal, action: str, **detail: Any) -> None:
    """Append one entry to the audit log. There is no way to change or delete entries."""
    _append(store, who.user, who.role, who.community_id, action, detail)


def audit_refused(store: Store, user: str, **detail: Any) -> None:
    """A sign-in by somebody who is not on the roles list: recorded, with no role."""
    _append(store, user, None, None, "login_refused", detail)


def _append(
    store: Store,
    user: str,
    role: str | None,
    community_id: str | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    row = pa.table(
        {
            "at": [dt.datetime.now(dt.UTC)],
            "user": [user],
            "role": [role],
            "community_id": [community_id],
            "action": [action],
            "detail": [json.dumps(detail, ensure_ascii=False, default=str)],
        },
        schema=_AUDIT_SCHEMA,
    )
    store.append_rows(AUDIT_TABLE, row)


def audit_log(store: Store, by: Principal, limit: int | None = None) -> pd.DataFrame:
    """The newest entries first (all of them, or the newest `limit`); administrators only."""
    require(by, "admin")
    rows = store.read_rows(AUDIT_TABLE)
    frame: pd.DataFrame = (rows if rows is not None else _AUDIT_SCHEMA.empty_table()).to_pandas()
    frame = frame.sort_values("at", ascending=False, kind="stable")
    return (frame if limit is None else frame.head(limit)).reset_index(drop=True)
