"""The review meeting (月度例会, 季度督查, 半年互观互检, 年度考核) as data.

`review(store, period)` computes, from one pinned store version and one targets version:
headline KPIs with 环比 and 同比, the league table of communities with weighted assessment
scores and their breakdown, the follow-up list (需督办事项), the submission status of
every community's ledgers, and a narrative made from templates. The meeting page, the PDF
and the XLSX all draw from the same `Review`, so they show the same figures; `Review.token`
names both versions, and `review(store, period, version=token)` rebuilds it exactly.

Scoring (weighted points by status; a ledger 缺报 scores 未达标; a community that sent
nothing ranks last) is in `ranking`. `Review.stamp` says which data it read in human terms
(数据截至 2025-11-03 14:20（版本 c7976bf5）), the same on the page, the PDF and the XLSX.

The parts, by what they hold: `core` (the Review, its version token and stamp, rows as
dicts), `figures` (headline and trend), `ranking` (scores, league, breakdown),
`followup_items` (需督办事项) and `followup_groups` (grouped and capped for a meeting),
`reporting` (submissions by the deadline rule of metrics.deadlines), `prose` (the
narrative).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from metrics.catalog import read_on
from metrics.deadlines import deadline, store_now
from metrics.i18n import name_label
from metrics.periods import Period
from metrics.queries import communities
from metrics.review.carried import carried_items
from metrics.review.core import (
    TARGETS_KEY,
    Review,
    data_as_of,
    make_token,
    pin,
    records,
    resolve,
    stamp,
    version_id,
)
from metrics.review.figures import HEADLINE, TREND_METRICS, headline, trend
from metrics.review.followup_groups import FOLLOW_UP_CAP, capped, groups
from metrics.review.followup_items import (
    BANDS,
    FOLLOW_UP_COLUMNS,
    FOLLOW_UP_KINDS,
    OPEN_CASES_SQL,
    PROPERTY_SQL,
    UNCLAIMED_WISHES_SQL,
    band_labels,
    follow_ups,
)
from metrics.review.prose import narrative
from metrics.review.ranking import is_missing, league, missing_ledgers, rank_text, score
from metrics.review.reporting import (
    LEDGERS,
    MONTHLY_LEDGERS,
    QUARTERLY_LEDGERS,
    SUBMISSION_COLUMNS,
    SUBMISSION_STATUS,
    SubmissionStatus,
    reporting_codes,
    reporting_periods,
    sent_logs,
    sent_nothing,
    submissions,
    unreported,
)
from metrics.store import Store, StoreVersion

__all__ = [
    "BANDS",
    "FOLLOW_UP_CAP",
    "FOLLOW_UP_COLUMNS",
    "FOLLOW_UP_KINDS",
    "HEADLINE",
    "LEDGERS",
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
    "band_labels",
    "capped",
    "data_as_of",
    "deadline",
    "follow_ups",
    "groups",
    "headline",
    "is_missing",
    "league",
    "league_only",
    "make_token",
    "missing_ledgers",
    "narrative",
    "pin",
    "rank_text",
    "records",
    "reporting_codes",
    "reporting_periods",
    "resolve",
    "review",
    "score",
    "sent_logs",
    "sent_nothing",
    "stamp",
    "submissions",
    "trend",
    "unreported",
    "version_id",
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

    `as_of` (default: the store's moment, deadlines.store_now) only decides whether a
    ledger not sent is already 缺报 or still 未到期.
    """
    data_version, tg = pin(store, version, lang)
    logs = sent_logs(store, data_version)
    con = store.connect(data_version)
    # The figures as of the meeting's moment too (the fulfilment rate judges a wish once
    # its 30 days are over): the demo's own day for the demo, as on its pages.
    with read_on((as_of or store_now(store)).date()):
        try:
            units = communities(con)
            # Names as the reader sees them (the demo's （示例） mark in their language).
            names = {
                c: name_label(n, lang)
                for c, n in zip(units["community_id"], units["name"], strict=True)
            }
            ids, previous = list(names), period.previous()
            subs = submissions(store, period, data_version, tg, names, lang, as_of=as_of, logs=logs)
            before = submissions(
                store, previous, data_version, tg, names, lang, as_of=as_of, logs=logs
            )
            silent = (sent_nothing(logs, period, ids), sent_nothing(logs, previous, ids))
            head = headline(con, period, tg, lang)
            table, parts = league(
                con, period, tg, names, lang, missing=(subs, before), silent=silent
            )
            follow = follow_ups(con, period, tg, names, parts, lang)
            trend_frame = trend(con, period)
        finally:
            con.close()
    is_demo = store.is_demo
    carry = carried_items(store, period, names, lang)
    text = narrative(period, head, table, follow, subs, lang, is_demo, carry)
    return Review(
        period,
        data_version,
        tg,
        lang,
        is_demo,
        head,
        table,
        parts,
        follow,
        subs,
        trend_frame,
        text,
        data_as_of(store, data_version),
        carry,
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
        carried=None,
    )
