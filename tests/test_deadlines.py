"""The deadline rule (metrics.deadlines): when a period's ledgers are due, when a period is
closed, which period a page opens on, and the moment a store is read at. Every value below
is worked out by hand from the rule: a month's ledgers are due by the end of day 5 (the
targets' deadline_day) of the next month, local time; a longer period closes with its last
month."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from metrics import deadlines, demo
from metrics.periods import Period, local_tz
from metrics.review.reporting import Sent, status
from metrics.store import Store


def at(text: str) -> dt.datetime:
    """A local moment, as GOVDASH_NOW would give it."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=local_tz())


def test_a_months_ledgers_are_due_at_the_end_of_the_5th_of_the_next_month() -> None:
    october = Period.parse("2025-10")
    due = deadlines.deadline(october)
    assert due.date() == dt.date(2025, 11, 5)
    assert due.utcoffset() == dt.timedelta(hours=8)  # Beijing time (GOVDASH_TZ's default)
    # The whole of the 5th is still in time; the 6th at midnight is not.
    assert not deadlines.is_closed(october, at("2025-11-05T23:59:59"))
    assert deadlines.is_closed(october, at("2025-11-06T00:00:00"))
    # Configurable: with deadline_day 10, October is still open on 8 November.
    assert deadlines.deadline(october, 10).date() == dt.date(2025, 11, 10)
    assert not deadlines.is_closed(october, at("2025-11-08T12:00"), 10)
    # December's are due in January of the next year; a quarter's ratings by the 5th of
    # the month after it, the same moment as the quarter's last month.
    assert deadlines.deadline(Period.parse("2025-12")).date() == dt.date(2026, 1, 5)
    assert deadlines.deadline(Period.parse("2025Q3")) == deadlines.deadline(Period.parse("2025-09"))


def test_the_time_zone_decides_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2025-11-05 20:00 UTC is 6 November 04:00 in Beijing (closed) but 5 November 15:00 in
    # New York (still open).
    moment = dt.datetime(2025, 11, 5, 20, 0, tzinfo=dt.UTC)
    assert deadlines.is_closed(Period.parse("2025-10"), moment)
    monkeypatch.setenv("GOVDASH_TZ", "America/New_York")
    assert not deadlines.is_closed(Period.parse("2025-10"), moment)


@pytest.mark.parametrize(
    ("moment", "month", "quarter", "half", "year"),
    [
        # 3 November: October is due on the 5th, so not closed; September is.
        ("2025-11-03T14:20", "2025-09", "2025Q3", "2025H1", "2024"),
        # The deadline day itself, 23:59: October still open.
        ("2025-11-05T23:59", "2025-09", "2025Q3", "2025H1", "2024"),
        # 6 November: October closed; the fourth quarter has two months to go.
        ("2025-11-06T00:00", "2025-10", "2025Q3", "2025H1", "2024"),
        # 6 January: December closed, and with it 2025Q4, 2025H2 and 2025.
        ("2026-01-06T09:00", "2025-12", "2025Q4", "2025H2", "2025"),
        # 2 January: December not yet due, November is.
        ("2026-01-02T09:00", "2025-11", "2025Q3", "2025H1", "2024"),
    ],
)
def test_the_latest_closed_period(
    moment: str, month: str, quarter: str, half: str, year: str
) -> None:
    now = at(moment)
    found = [deadlines.latest_closed(k, now).code for k in ("month", "quarter", "half", "year")]
    assert found == [month, quarter, half, year]


def test_what_the_page_says_about_its_period() -> None:
    now = at("2025-11-03T14:20")
    assert (
        deadlines.period_note(Period.parse("2025-09"), now, 5, default=True)
        == "显示最近已截止的统计期：2025年9月（报送截止 2025年10月5日）"
    )
    assert (
        deadlines.period_note(Period.parse("2025-08"), now, 5)
        == "2025年8月已截止（报送截止 2025年9月5日）"
    )
    assert deadlines.period_note(Period.parse("2025-10"), now, 5) == (
        "2025年10月未截止：台账报送截止 2025年11月5日，数字可能不完整，还会变化。"
    )
    assert deadlines.period_note(Period.parse("2025Q4"), now, 5, "en") == (
        "Q4 2025 is not closed: ledgers are due 5 Jan 2026; "
        "the figures may be incomplete and can still change."
    )


def test_submission_status_by_the_deadline() -> None:
    october_due = deadlines.deadline(Period.parse("2025-10"))
    on_the_day = Sent(at("2025-11-05T23:59:59"), 3, "clerk")
    next_morning = Sent(at("2025-11-06T08:30"), 4, "clerk")
    assert status(on_the_day, october_due, at("2025-12-01T00:00")) == "on_time"
    assert status(next_morning, october_due, at("2025-12-01T00:00")) == "late"
    # Nothing sent: not yet due on the 5th, missing from the 6th.
    assert status(None, october_due, at("2025-11-05T18:00")) == "pending"
    assert status(None, october_due, at("2025-11-06T00:00")) == "missing"


def test_the_demo_is_read_as_of_its_own_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "data")
    monkeypatch.setattr(Store, "is_demo", property(lambda self: True))
    monkeypatch.delenv("GOVDASH_NOW", raising=False)
    # The demo is a snapshot as of 2026-01-20: December 2025 is its latest closed month,
    # whatever today's date.
    assert deadlines.store_now(store) == at("2026-01-20T00:00")
    assert dt.date(2026, 1, 20) == demo.AS_OF
    assert deadlines.latest_closed("month", deadlines.store_now(store)).code == "2025-12"
    # GOVDASH_NOW sets the clock for the demo too (a rehearsal).
    monkeypatch.setenv("GOVDASH_NOW", "2025-11-03T14:20")
    assert deadlines.store_now(store) == at("2025-11-03T14:20")
    monkeypatch.setattr(Store, "is_demo", property(lambda self: False))
    assert deadlines.store_now(store) == at("2025-11-03T14:20")


def test_the_demos_submission_times_follow_the_deadline_rule() -> None:
    # Every demo ledger comes in between the 1st and the 12th of the next month, in
    # office hours; the strongest community (北苑, quality 1.0) is never late.
    times = [demo.submitted_at("QTX01", "cases", f"2025-{m:02d}") for m in range(1, 13)]
    assert all(t.hour in range(8, 18) and t.day <= 5 for t in times)
    late = [
        demo.submitted_at("QTX12", d, f"{y}-{m:02d}").day > 5
        for d in ("cases", "wishes", "employment")
        for y in (2023, 2024, 2025)
        for m in range(1, 13)
    ]
    # 滨河社区 (quality 0.25): late with probability 0.36 × 0.75² ≈ 0.20 per ledger.
    assert 0.1 < sum(late) / len(late) < 0.3
    # The same keys always give the same time.
    assert demo.submitted_at("QTX12", "cases", "2025-10") == demo.submitted_at(
        "QTX12", "cases", "2025-10"
    )
