"""Items judged against their deadlines: closed on time, closed late, still open; the
closure rate; and the table of events the catalog's `followup_closure_rate` reads.

Closed means an answer standing (已办结 or 销号): the community's work is done when it
answers, and the leader's 销号 coming later must not count against it; an answer the leader
returned no longer stands. On time means the answer's day (answered_on) is on or before the
deadline. Every judgement is as of a day's end (the period's end for a meeting), from the
events up to it, so a figure of a closed period does not change afterwards
(docs/decisions/0009-as-of-period-end.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import duckdb
import pyarrow as pa

from metrics.tracking.lifecycle import SCHEMA, Item, events, local_day

if TYPE_CHECKING:
    from metrics.store import Store

__all__ = ["EVENTS_VIEW", "Tally", "Verdict", "attach", "judge", "local_day", "tally"]

EVENTS_VIEW = "followup_events"
Verdict = Literal["on_time", "late", "open"]


def judge(item: Item) -> Verdict:
    """An item as it stands (take it as of the day wanted: items.states(..., as_of))."""
    if item.status in ("answered", "accepted") and item.answered_on is not None:
        return "late" if item.answered_on > item.deadline else "on_time"
    return "open"


@dataclass
class Tally:
    """Items due, and how many of them were closed on time, closed late or are still open."""

    on_time: int = 0
    late: int = 0
    open: int = 0

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.open

    @property
    def rate(self) -> float | None:
        """Closed on time ÷ due (the catalog's followup_closure_rate); None when none due."""
        return self.on_time / self.due if self.due else None

    def add(self, verdict: Verdict) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)


def tally(found: Iterable[Item]) -> dict[str | None, Tally]:
    """Per community, and the city under None."""
    out: dict[str | None, Tally] = {None: Tally()}
    for one in found:
        verdict = judge(one)
        out.setdefault(one.community_id, Tally()).add(verdict)
        out[None].add(verdict)
    return out


def attach(store: Store, con: duckdb.DuckDBPyConnection) -> None:
    """The events, with the local day of each, as a table on a connection (Store.connect).
    The latest events, not pinned to the data version: items are not a dataset."""
    table = events(store) if store.tables_dir.is_dir() else SCHEMA.empty_table()
    days = [local_day(at) for at in table.column("at").to_pylist()]
    table = table.drop_columns(["at", "by", "title", "owner", "feedback", "reason"])
    table = table.append_column("day", pa.array(days, pa.date32()))
    # A real table, not con.register: catalog queries run on con.cursor().
    con.from_arrow(table).create(EVENTS_VIEW)
