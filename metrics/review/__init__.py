"""The review meeting (月度例会, 季度督查, 半年互观互检, 年度考核) as data.

`review(store, period)` computes, from one pinned store version and one targets version:
headline KPIs with 环比 and 同比, the league table of communities with weighted assessment
scores and their breakdown, the follow-up list (需督办事项), the submission status of
every community's ledgers, and a narrative made from templates. The meeting page, the PDF
and the XLSX all draw from the same `Review`, so they show the same figures; `Review.token`
names both versions, and `review(store, period, version=token)` rebuilds it exactly.

Scoring (weighted points by status; a ledger 缺报 scores 未达标) is in `ranking`.

The parts, by what they hold: `core` (the Review, its version token, rows as dicts),
`figures` (headline and trend), `ranking` (scores, league, breakdown), `followup_items`
(需督办事项), `reporting` (deadlines and submissions), `prose` (the narrative).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from metrics.i18n import name_label
from metrics.periods import Period
from metrics.queries import communities
from metrics.review.core import TARGETS_KEY, Review, make_token, pin, records, resolve
from metrics.review.figures import HEADLINE, TREND_METRICS, headline, trend
from metrics.review.followup_items import (
    FOLLOW_UP_COLUMNS,
    FOLLOW_UP_KINDS,
    OPEN_CASES_SQL,
    PROPERTY_SQL,
    UNCLAIMED_WISHES_SQL,
    follow_ups,
)
from metrics.review.prose import narrative
from metrics.review.ranking import is_missing, league, missing_ledgers, score
from metrics.review.reporting import (
    MONTHLY_LEDGERS,
    QUARTERLY_LEDGERS,
    SUBMISSION_COLUMNS,
    SUBMISSION_STATUS,
    SubmissionStatus,
    deadline,
    reporting_periods,
    submissions,
)
from metrics.store import Store, StoreVersion

__all__ = [
    "FOLLOW_UP_COLUMNS",
    "FOLLOW_UP_KINDS",
    "HEADLINE",
    "MONTHLY_LEDGERS",
    "OPEN_CASES_SQL",
    "PROPERTY_SQL",
    "QUARTERLY_LEDGERS",
    "SUBMISSION_COLUMNS",
    "SUBMISSION_STATUS",
    "TARGETS_KEY",
    "TREND_METRICS",
    "UNCLAIMED_WISHES_SQL",
    "Review",
    "SubmissionStatus",
    "deadline",
    "follow_ups",
    "headline",
    "is_missing",
    "league",
    "league_only",
    "make_token",
    "missing_ledgers",
    "narrative",
    "pin",
    "records",
    "reporting_periods",
    "resolve",
    "review",
    "score",
    "submissions",
    "trend",
]


def review(
    store: Store,
    period: Period,
    version: StoreVersion | str | None = None,
    lang: str = "zh",
    *,
    as_of: dt.datetime | None = None,
) -> Review:
    """Everything the meeting needs for `period`, read at one version (the latest if None).

    `as_of` (default: now) only decides whether a missing submission is already overdue.
    """
    data_version, tg = pin(store, version, lang)
    con = store.connect(data_version)
    try:
        units = communities(con)
        # Names as the reader sees them (the demo's （示例） mark in their language).
        names = {
            c: name_label(n, lang)
            for c, n in zip(units["community_id"], units["name"], strict=True)
        }
        subs = submissions(store, period, data_version, tg, names, lang, as_of=as_of)
        before = submissions(store, period.previous(), data_version, tg, names, lang, as_of=as_of)
        head = headline(con, period, tg, lang)
        table, parts = league(con, period, tg, names, lang, missing=(subs, before))
        follow = follow_ups(con, period, tg, names, parts, lang)
        trend_frame = trend(con, period)
    finally:
        con.close()
    is_demo = store.is_demo
    text = narrative(period, head, table, follow, subs, lang, is_demo)
    return Review(
        period, data_version, tg, lang, is_demo, head, table, parts, follow, subs, trend_frame, text
    )


def league_only(data: Review, columns: tuple[str, ...]) -> Review:
    """`data` with the league's `columns` only and every other section empty: what a
    reader who may compare communities by name and score, and see nothing else, gets."""
    return replace(
        data,
        headline=data.headline.iloc[0:0],
        league=data.league[[c for c in columns if c in data.league.columns]].copy(),
        breakdown=data.breakdown.iloc[0:0],
        follow_ups=data.follow_ups.iloc[0:0],
        submissions=data.submissions.iloc[0:0],
        trend=data.trend.iloc[0:0],
        narrative=[],
    )
