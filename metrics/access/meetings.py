"""The review meeting as the principal may see it, and its printed report."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metrics import review
from metrics.access.principals import AccessDenied, Principal, may_see_ranking, require
from metrics.access.reader import pinned_version
from metrics.periods import Period
from metrics.queries import communities
from metrics.store import Store

# What a clerk may see of the city-wide league table (names and scores only).
LEAGUE_PUBLIC = ("rank", "tied", "rank_change", "community_id", "community", "score")


def meeting_review(store: Store, period: Period, by: Principal, lang: str = "zh") -> review.Review:
    """The whole review for those who see the city; for clerks (when the setting allows)
    the league's names and scores only, every other section empty."""
    if by.can("view_city"):
        return review.review(store, period, lang=lang)
    if not may_see_ranking(by):
        raise AccessDenied("access_denied_action", action="view_city")
    return review.league_only(review.review(store, period, lang=lang), LEAGUE_PUBLIC)


FOLLOW_UP_CAP = review.FOLLOW_UP_CAP  # follow-ups shown per community and kind


def follow_up_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """需督办事项 by community and kind: counts, by age band (review.groups)."""
    return review.groups(frame)


def follow_ups_capped(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """需督办事项, the oldest FOLLOW_UP_CAP of each group and "及其他 N 项" (review.capped)."""
    return review.capped(frame, FOLLOW_UP_CAP, lang)


def band_labels(low: int, lang: str = "zh") -> dict[str, str]:
    """The follow-ups' age bands in words (30–60天, …)."""
    return review.band_labels(low, lang)


def version_id(token: str) -> str:
    """A version token's short id, as the reports print it (数据截至 …（版本 c7976bf5）)."""
    return review.version_id(token)


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


def data_stamp(store: Store, token: str, lang: str = "zh") -> str:
    """数据截至 2025-11-03 14:20（版本 c7976bf5） for the data version `token` names (a
    StoreVersion.token) and the targets in force: the words the meeting page, its PDF and
    its XLSX print for the same data."""
    data_version, tg = review.pin(store, pinned_version(token), lang)
    full = review.make_token(data_version, tg)
    return review.stamp(review.data_as_of(store, data_version), full, lang)


def unreported(store: Store, token: str, period: Period) -> dict[str, frozenset[str]]:
    """Ledger -> the communities of the register that sent none of its reporting periods
    within `period` (by the commits up to the version `token` names): a ranking shows them
    as no figure, never as a zero that could rank well. Names no figures: any reader may
    have it."""
    version = pinned_version(token)
    con = store.connect(version, rollups=False)
    try:
        ids = [str(c) for c in communities(con)["community_id"]]
    finally:
        con.close()
    gone = review.unreported(review.sent_logs(store, version), period, ids)
    return {d: frozenset(c) for d, c in gone.items()}
