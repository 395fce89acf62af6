"""The delivery log: one row per attempt and one per outcome of sending a message (a
warning, a packet) to a subscriber, in an append-only side table of the store
(`_deliveries`). A message counts as delivered to a subscriber once a `sent` row exists.

Order of writing (decision 0014): the `attempt` row before the send, the `sent` (or
`failed`) row only after the send returned. A failure is retried by the next run; the only
window for a double is a crash after the send returned and before its `sent` row was
written, which the `attempt` row without an outcome makes visible.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Literal

import pyarrow as pa

from metrics.store import Store

DELIVERIES_TABLE = "_deliveries"
Status = Literal["attempt", "sent", "failed"]
SCHEMA = pa.schema(
    [
        ("subscriber_id", pa.string()),
        ("message_key", pa.string()),
        ("status", pa.string()),
        ("attempt", pa.int64()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("error", pa.string()),
    ]
)


class Log:
    """What the delivery log says at the start of a run, and how to add to it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        table = store.read_rows(DELIVERIES_TABLE)
        rows = table.to_pylist() if table is not None else []
        self.sent = {(r["subscriber_id"], r["message_key"]) for r in rows if r["status"] == "sent"}
        self.attempts = Counter(
            (r["subscriber_id"], r["message_key"]) for r in rows if r["status"] == "attempt"
        )

    def delivered(self, subscriber: str, key: str) -> bool:
        return (subscriber, key) in self.sent

    def record(
        self,
        subscriber: str,
        keys: Iterable[str],
        status: Status,
        at: dt.datetime,
        error: str = "",
    ) -> None:
        """One row per message key, written in one append (one Delta commit)."""
        keys = list(keys)
        if status == "attempt":
            self.attempts.update((subscriber, k) for k in keys)
        elif status == "sent":
            self.sent.update((subscriber, k) for k in keys)
        rows = {
            "subscriber_id": [subscriber] * len(keys),
            "message_key": keys,
            "status": [status] * len(keys),
            "attempt": [self.attempts[(subscriber, k)] for k in keys],
            "at": [at.astimezone(dt.UTC)] * len(keys),
            "error": [error[:500]] * len(keys),
        }
        self.store.append_rows(DELIVERIES_TABLE, pa.table(rows, schema=SCHEMA))


def entries(store: Store) -> list[dict[str, object]]:
    """Every row of the log, oldest first."""
    table = store.read_rows(DELIVERIES_TABLE)
    return table.to_pylist() if table is not None else []
