"""Reporting periods: the codes the CLI and URLs take, 环比 / 同比 and the labels shown."""

from __future__ import annotations

import datetime as dt

import pytest

from metrics.periods import Period, PeriodKind, month_label, periods_between

D = dt.date


@pytest.mark.parametrize(
    ("code", "start", "end", "kind", "months"),
    [
        ("2025-10", D(2025, 10, 1), D(2025, 10, 31), "month", 1),
        ("2025Q3", D(2025, 7, 1), D(2025, 9, 30), "quarter", 3),
        ("2025H1", D(2025, 1, 1), D(2025, 6, 30), "half", 6),
        ("2025", D(2025, 1, 1), D(2025, 12, 31), "year", 12),
        ("2025-01..2025-06", D(2025, 1, 1), D(2025, 6, 30), "range", 6),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29), "month", 1),  # leap year
        ("2024-11..2025-02", D(2024, 11, 1), D(2025, 2, 28), "range", 4),  # across a year
        # 本年累计: January to the end of the month named
        ("2025-10YTD", D(2025, 1, 1), D(2025, 10, 31), "ytd", 10),
        ("2025-01YTD", D(2025, 1, 1), D(2025, 1, 31), "ytd", 1),
        # 全部: from the first month with data, which the code names, to the month named
        ("2023-01..2025-10ALL", D(2023, 1, 1), D(2025, 10, 31), "all", 34),
    ],
)
def test_parse(code: str, start: dt.date, end: dt.date, kind: str, months: int) -> None:
    period = Period.parse(code)
    assert (period.start, period.end, period.kind, period.months) == (start, end, kind, months)
    assert period.code == code
    assert Period.parse(period.code) == period


def test_parse_is_lenient_about_spelling() -> None:
    assert Period.parse(" 2025q3 ") == Period.parse("2025Q3")
    assert Period.parse("2025h2") == Period.parse("2025H2")
    assert Period.parse("2025-3") == Period.parse("2025-03")
    # a range given backwards is the same range
    assert Period.parse("2025-06..2025-01") == Period.parse("2025-01..2025-06")
    assert Period.parse("2025-3ytd") == Period.parse("2025-03YTD")
    assert Period.parse(" 2023-1..2025-10all") == Period.parse("2023-01..2025-10ALL")


def test_year_to_date_and_since() -> None:
    assert Period.year_to_date(D(2025, 10, 17)) == Period.parse("2025-10YTD")
    assert Period.since(D(2023, 1, 15), D(2025, 10, 3)) == Period.parse("2023-01..2025-10ALL")
    # Not a range of the same months: a kind of its own, with its own code.
    assert Period.parse("2025-10YTD") != Period.parse("2025-01..2025-10")


@pytest.mark.parametrize(
    "code",
    [
        "",
        "2025Q5",
        "2025H3",
        "25-10",
        "2025-13",
        "Oct 2025",
        "2025-",
        "2025YTD",
        "2025-13YTD",
        "ALL",
    ],
)
def test_parse_rejects(code: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(code)


@pytest.mark.parametrize(
    ("code", "previous", "year_ago"),
    [
        ("2025-10", "2025-09", "2024-10"),
        ("2025-01", "2024-12", "2024-01"),
        ("2025Q1", "2024Q4", "2024Q1"),
        ("2025Q3", "2025Q2", "2024Q3"),
        ("2025H1", "2024H2", "2024H1"),
        ("2025H2", "2025H1", "2024H2"),
        ("2025", "2024", "2024"),
        ("2025-01..2025-06", "2024-07..2024-12", "2024-01..2024-06"),
        ("2025-03..2025-04", "2025-01..2025-02", "2024-03..2024-04"),
        # A year to date: 同比 the same months a year earlier (a year to date itself);
        # 环比 the ten months just before, a range (a year to date starts in January).
        ("2025-10YTD", "2024-03..2024-12", "2024-10YTD"),
        ("2025-01YTD", "2024-12..2024-12", "2024-01YTD"),
        # 全部: both start before the data begin (catalog.comparable then gives "—").
        ("2024-07..2025-06ALL", "2023-07..2024-06", "2023-07..2024-06"),
    ],
)
def test_previous_and_year_ago(code: str, previous: str, year_ago: str) -> None:
    period = Period.parse(code)
    assert period.previous().code == previous
    assert period.year_ago().code == year_ago


def test_previous_month_ends_on_its_own_last_day() -> None:
    assert Period.parse("2024-03").previous().end == D(2024, 2, 29)
    assert Period.parse("2024-02").year_ago().end == D(2023, 2, 28)


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        ("2025-10", "2025年10月", "Oct 2025"),
        ("2025Q3", "2025年第3季度", "Q3 2025"),
        ("2025H1", "2025年上半年", "H1 2025"),
        ("2025H2", "2025年下半年", "H2 2025"),
        ("2025", "2025年", "2025"),
        ("2025-01..2025-06", "2025年1月—2025年6月", "Jan 2025 – Jun 2025"),
        ("2025-10YTD", "2025年1—10月（本年累计）", "Jan–Oct 2025 (year to date)"),
        ("2025-01YTD", "2025年1月（本年累计）", "Jan 2025 (year to date)"),
        ("2023-01..2025-10ALL", "全部（2023年1月—2025年10月）", "All (Jan 2023 – Oct 2025)"),
    ],
)
def test_labels(code: str, zh: str, en: str) -> None:
    period = Period.parse(code)
    assert period.label("zh") == zh
    assert period.label("en") == en
    assert period.label() == zh  # Chinese first


def test_month_label() -> None:
    assert month_label(D(2025, 9, 1)) == "2025年9月"
    assert month_label(D(2025, 9, 1), "en") == "Sep 2025"


def test_contains() -> None:
    q3 = Period.parse("2025Q3")
    assert q3.contains(D(2025, 7, 1)) and q3.contains(D(2025, 9, 30))
    assert not q3.contains(D(2025, 6, 30)) and not q3.contains(D(2025, 10, 1))


@pytest.mark.parametrize(
    ("first", "last", "kind", "codes"),
    [
        (D(2025, 11, 10), D(2026, 1, 5), "month", ["2026-01", "2025-12", "2025-11"]),
        (D(2025, 2, 15), D(2025, 8, 3), "quarter", ["2025Q3", "2025Q2", "2025Q1"]),
        (D(2025, 2, 15), D(2025, 8, 3), "half", ["2025H2", "2025H1"]),
        (D(2023, 1, 1), D(2025, 12, 31), "year", ["2025", "2024", "2023"]),
        (D(2025, 9, 30), D(2025, 9, 30), "quarter", ["2025Q3"]),
        # one year to date and one 全部 ending with each month, the first month's on
        (D(2024, 11, 10), D(2025, 1, 5), "ytd", ["2025-01YTD", "2024-12YTD", "2024-11YTD"]),
        (
            D(2024, 11, 10),
            D(2025, 1, 5),
            "all",
            ["2024-11..2025-01ALL", "2024-11..2024-12ALL", "2024-11..2024-11ALL"],
        ),
    ],
)
def test_periods_between(first: dt.date, last: dt.date, kind: PeriodKind, codes: list[str]) -> None:
    got = periods_between(first, last, kind)
    assert [p.code for p in got] == codes


def test_periods_between_rejects_ranges() -> None:
    with pytest.raises(ValueError):
        periods_between(D(2025, 1, 1), D(2025, 12, 31), "range")


def test_the_clock_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from metrics import periods

    monkeypatch.setenv("GOVDASH_TZ", "Asia/Shanghai")
    monkeypatch.setenv("GOVDASH_NOW", "2026-11-05T23:30")
    assert periods.today() == dt.date(2026, 11, 5)
    assert periods.now().utcoffset() == dt.timedelta(hours=8)
    # A moment given with its own offset is read in the readers' zone: 16:00 UTC is midnight.
    monkeypatch.setenv("GOVDASH_NOW", "2026-11-05T16:00+00:00")
    assert periods.today() == dt.date(2026, 11, 6)
    monkeypatch.delenv("GOVDASH_NOW")
    assert abs(periods.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
