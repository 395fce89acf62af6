"""The review meeting as the principal may see it, and its printed report."""

from __future__ import annotations

from typing import Any

from metrics import review
from metrics.access.principals import AccessDenied, Principal, may_see_ranking, require
from metrics.periods import Period
from metrics.store import Store

# What a clerk may see of the city-wide league table (names and scores only).
LEAGUE_PUBLIC = ("rank", "rank_change", "community_id", "community", "score")


def meeting_review(store: Store, period: Period, by: Principal, lang: str = "zh") -> review.Review:
    """The whole review for those who see the city; for clerks (when the setting allows)
    the league's names and scores only, every other section empty."""
    if by.can("view_city"):
        return review.review(store, period, lang=lang)
    if not may_see_ranking(by):
        raise AccessDenied("access_denied_action", action="view_city")
    return review.league_only(review.review(store, period, lang=lang), LEAGUE_PUBLIC)


def headline_rows(data: review.Review) -> list[dict[str, Any]]:
    """The review's headline KPIs, one dict per metric (label, value, mom, cue, ...)."""
    return review.records(data.headline)


def is_missing(value: Any, state: Any) -> bool:
    """A league cell 未达标 without a value: the community's ledger is 缺报."""
    return review.is_missing(value, state)


def meeting_report(
    store: Store,
    period: Period,
    fmt: Any,
    by: Principal,
    version: str | None = None,
    lang: str = "zh",
) -> bytes:
    """The meeting report (PDF/XLSX): every community's figures, so the city's readers only."""
    from metrics import report  # fpdf2 and xlsxwriter load only when a report is made

    require(by, "view_city")
    return report.build_report(store, period, fmt, version, lang)


def report_file_name(period: Period, fmt: str, lang: str = "zh") -> str:
    """The report's download name, e.g. 例会报告-2025-09.pdf."""
    from metrics import report

    return report.file_name(period, fmt, lang)
