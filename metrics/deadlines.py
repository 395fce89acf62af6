"""Reporting deadlines: when a period's ledgers are due, whether a period is closed, and the
moment a store is read at.

A month's ledgers (cases, wishes, employment) are due by the end of day N of the next month;
a quarter's property ratings by the end of day N of the month after the quarter; N is the
targets document's `deadline_day` (default 5), the day is a local one (GOVDASH_TZ). A period
is *closed* once the deadline of its last month has passed: a quarter, a half-year or a year
closes with its last month. Pages open on the latest closed period, and a review calls a
ledger 缺报 only after its deadline.
"""

from __future__ import annotations

import datetime as dt

from metrics import demo
from metrics.i18n import t
from metrics.periods import MONTHS_IN, Period, PeriodKind, add_months, clock_is_set, local_tz, now
from metrics.store import Store

DEFAULT_DEADLINE_DAY = 5


def deadline(reporting: Period, day: int = DEFAULT_DEADLINE_DAY) -> dt.datetime:
    """The end of day `day` of the month after `reporting` ends, local time: a ledger that
    came in at 23:59 that day is on time."""
    month = add_months(reporting.end, 1)
    return dt.datetime.combine(month.replace(day=day), dt.time.max, tzinfo=local_tz())


def is_closed(period: Period, at: dt.datetime, day: int = DEFAULT_DEADLINE_DAY) -> bool:
    """Whether the deadline of the last month of `period` has passed at `at`."""
    return at > deadline(period, day)


def latest_closed(kind: PeriodKind, at: dt.datetime, day: int = DEFAULT_DEADLINE_DAY) -> Period:
    """The latest period of `kind` (month, quarter, half, year) closed at `at`."""
    month = Period.of("month", add_months(at.astimezone(local_tz()).date(), -1))
    if not is_closed(month, at, day):
        month = month.previous()
    step = MONTHS_IN[kind]
    # The period of `kind` ending with that month, or the one before it.
    start = add_months(month.start, -((month.start.month - 1) % step))
    period = Period.of(kind, start)
    return period if period.end <= month.end else period.previous()


def store_now(store: Store) -> dt.datetime:
    """The moment a store is read at: the clock (periods.now), except for the demo, which
    is a snapshot as of its own day (demo.AS_OF) unless GOVDASH_NOW sets the clock; on the
    real clock every demo month would be long past, and the latest closed month one with
    no demo data."""
    if store.is_demo and not clock_is_set():
        return demo_as_of()
    return now()


def demo_as_of() -> dt.datetime:
    """The moment the demo's ledgers are as of: the start of demo.AS_OF, local time."""
    return dt.datetime.combine(demo.AS_OF, dt.time.min, tzinfo=local_tz())


def period_note(
    period: Period, at: dt.datetime, day: int, lang: str = "zh", *, default: bool = False
) -> str:
    """What a page says about the period it shows: the latest closed one (when it opened
    on it by default), closed, or not closed yet (未截止), with the deadline."""
    due = deadline(period, day).date()
    when = f"{due.year}年{due.month}月{due.day}日" if lang == "zh" else f"{due:%-d %b %Y}"
    key = "period_open_note" if not is_closed(period, at, day) else "period_closed_note"
    if default and key == "period_closed_note":
        key = "period_default_note"
    return t(key, lang, period=period.label(lang), deadline=when)
