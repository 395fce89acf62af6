"""Reporting periods: month, quarter, half-year, year, year to date, since the data begin,
or a custom range of months.

A period is always whole months, first day to last day. Codes are what the CLI and URLs
take: 2025-10, 2025Q3, 2025H1, 2025, 2025-01..2025-06 for a custom range, 2025-10YTD for
本年累计 (January to the end of October 2025) and 2023-01..2025-10ALL for 全部 (from the
first month with data, which the code names, to the end of October 2025).

环比 (previous) is the period just before, of the same length; 同比 (year_ago) the same
months a year earlier. A year to date's 同比 is the year to date of the same month a year
earlier; its 环比 the same number of months just before (a range). 全部 has neither: both
would start before the data begin, and a figure compared with a period before the data
begin is "—" (catalog.compared_totals).
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from dataclasses import dataclass, replace
from typing import Any, Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["month", "quarter", "half", "year", "ytd", "all", "range"]
KINDS: tuple[PeriodKind, ...] = ("month", "quarter", "half", "year", "ytd", "all", "range")
MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "half": 6, "year": 12}
_EN_MONTHS = [calendar.month_abbr[m] for m in range(13)]


DEFAULT_TZ = "Asia/Shanghai"


def local_tz() -> ZoneInfo:
    """The readers' time zone (GOVDASH_TZ, default Beijing time): the one place it is read.

    Deadlines are local days, and every time shown (history, audit, reports) is local."""
    return ZoneInfo(os.environ.get("GOVDASH_TZ") or DEFAULT_TZ)


def now() -> dt.datetime:
    """The current moment in the readers' time zone: the one clock of the app and the CLI.

    GOVDASH_NOW (an ISO date or date-time, read in the readers' zone) stands in for the
    clock: a training copy, a rehearsal of next week's meeting, or a test that moves
    today's date through deadlines."""
    zone = local_tz()
    fixed = os.environ.get("GOVDASH_NOW", "").strip()
    if fixed:
        moment = dt.datetime.fromisoformat(fixed)
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    return dt.datetime.now(tz=zone)


def clock_is_set() -> bool:
    """Whether GOVDASH_NOW stands in for the clock (see now())."""
    return bool(os.environ.get("GOVDASH_NOW", "").strip())


def today() -> dt.date:
    """Today's date in the readers' time zone (see now())."""
    return now().date()


def local_time(moment: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) timestamp as the readers' wall-clock time."""
    import pandas as pd  # only the callers that show times need pandas

    return str(pd.Timestamp(moment).tz_convert(local_tz()).strftime(fmt))


def month_start(year: int, month: int) -> dt.date:
    return dt.date(year, month, 1)


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    kind: PeriodKind

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @classmethod
    def of(cls, kind: PeriodKind, start: dt.date, months: int | None = None) -> Period:
        n = months if months is not None else MONTHS_IN[kind]
        last = add_months(start, n - 1)
        return cls(start.replace(day=1), month_end(last.year, last.month), kind)

    @classmethod
    def span(cls, first_month: dt.date, last_month: dt.date) -> Period:
        """A custom range from the month of `first_month` to the month of `last_month`."""
        if last_month < first_month:
            first_month, last_month = last_month, first_month
        return cls(
            first_month.replace(day=1), month_end(last_month.year, last_month.month), "range"
        )

    @classmethod
    def year_to_date(cls, month: dt.date) -> Period:
        """本年累计: from January of `month`'s year to the end of `month`."""
        return cls.of("ytd", month.replace(month=1, day=1), month.month)

    @classmethod
    def since(cls, first_month: dt.date, last_month: dt.date) -> Period:
        """全部: from `first_month` (the first month with data) to the end of `last_month`."""
        return replace(cls.span(first_month, last_month), kind="all")

    @classmethod
    def parse(cls, code: str) -> Period:
        text = code.strip().upper()
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})YTD", text):
            return cls.year_to_date(month_start(int(m[1]), int(m[2])))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})\.\.(\d{4})-(\d{1,2})ALL", text):
            y1, m1, y2, m2 = map(int, m.groups())
            return cls.since(month_start(y1, m1), month_start(y2, m2))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})\.\.(\d{4})-(\d{1,2})", text):
            y1, m1, y2, m2 = map(int, m.groups())
            return cls.span(month_start(y1, m1), month_start(y2, m2))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            return cls.of("month", month_start(int(m[1]), int(m[2])))
        if m := re.fullmatch(r"(\d{4})Q([1-4])", text):
            return cls.of("quarter", month_start(int(m[1]), int(m[2]) * 3 - 2))
        if m := re.fullmatch(r"(\d{4})H([12])", text):
            return cls.of("half", month_start(int(m[1]), int(m[2]) * 6 - 5))
        if m := re.fullmatch(r"(\d{4})", text):
            return cls.of("year", month_start(int(m[1]), 1))
        raise ValueError(
            f"not a period: {code!r} (try 2025-10, 2025Q3, 2025H1, 2025, 2025-10YTD"
            " or 2025-01..2025-06)"
        )

    @property
    def code(self) -> str:
        s = self.start
        if self.kind == "month":
            return f"{s.year}-{s.month:02d}"
        if self.kind == "quarter":
            return f"{s.year}Q{(s.month - 1) // 3 + 1}"
        if self.kind == "half":
            return f"{s.year}H{(s.month - 1) // 6 + 1}"
        if self.kind == "year":
            return f"{s.year}"
        if self.kind == "ytd":
            return f"{s.year}-{self.end.month:02d}YTD"
        span = f"{s.year}-{s.month:02d}..{self.end.year}-{self.end.month:02d}"
        return span + "ALL" if self.kind == "all" else span

    def previous(self) -> Period:
        """The period just before, of the same length (环比): a range for a year to date
        and for 全部, whose kinds are tied to January and to the data's first month."""
        kind: PeriodKind = self.kind if self.kind in MONTHS_IN else "range"
        return Period.of(kind, add_months(self.start, -self.months), self.months)

    def year_ago(self) -> Period:
        """The same period a year earlier (同比)."""
        kind: PeriodKind = "range" if self.kind == "all" else self.kind
        return Period.of(kind, add_months(self.start, -12), self.months)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def label(self, lang: str = "zh") -> str:
        s, e = self.start, self.end
        if lang == "zh":
            if self.kind == "month":
                return f"{s.year}年{s.month}月"
            if self.kind == "quarter":
                return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
            if self.kind == "half":
                return f"{s.year}年{'上' if s.month <= 6 else '下'}半年"
            if self.kind == "year":
                return f"{s.year}年"
            if self.kind == "ytd":
                months = f"{s.month}—{e.month}月" if e.month > 1 else "1月"
                return f"{s.year}年{months}（本年累计）"
            if self.kind == "all":
                return f"全部（{s.year}年{s.month}月—{e.year}年{e.month}月）"
            return f"{s.year}年{s.month}月—{e.year}年{e.month}月"
        if self.kind == "month":
            return f"{_EN_MONTHS[s.month]} {s.year}"
        if self.kind == "quarter":
            return f"Q{(s.month - 1) // 3 + 1} {s.year}"
        if self.kind == "half":
            return f"H{(s.month - 1) // 6 + 1} {s.year}"
        if self.kind == "year":
            return f"{s.year}"
        if self.kind == "ytd":
            months = f"Jan–{_EN_MONTHS[e.month]}" if e.month > 1 else "Jan"
            return f"{months} {s.year} (year to date)"
        span = f"{_EN_MONTHS[s.month]} {s.year} – {_EN_MONTHS[e.month]} {e.year}"
        return f"All ({span})" if self.kind == "all" else span


def periods_between(first: dt.date, last: dt.date, kind: PeriodKind) -> list[Period]:
    """Every period of `kind` that overlaps first..last, the latest first: for a year to
    date and for 全部 (from `first`'s month), one ending with each month."""
    if kind == "range":
        raise ValueError("a custom range is not enumerable")
    if kind in ("ytd", "all"):
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        ends = [add_months(first, i) for i in range(months)][::-1]
        if kind == "ytd":
            return [Period.year_to_date(m) for m in ends]
        return [Period.since(first, m) for m in ends]
    step = MONTHS_IN[kind]
    start_month = ((first.month - 1) // step) * step + 1
    cursor = dt.date(first.year, start_month, 1)
    out = []
    while cursor <= last:
        out.append(Period.of(kind, cursor))
        cursor = add_months(cursor, step)
    return out[::-1]


def month_label(day: dt.date, lang: str = "zh") -> str:
    return f"{day.year}年{day.month}月" if lang == "zh" else f"{_EN_MONTHS[day.month]} {day.year}"
