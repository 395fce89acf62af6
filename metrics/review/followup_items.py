"""需督办事项: the follow-up list of a review, one row per item somebody must answer for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd

from metrics import targets
from metrics.catalog import metric
from metrics.i18n import fmt_number, t, value_label
from metrics.periods import Period
from metrics.review.core import ledger_label, records
from metrics.targets import Targets

FOLLOW_UP_KINDS = ("case", "wish", "property", "metric")

# Open at the period end and older than $days: the same rule as overdue_cases.sql.
OPEN_CASES_SQL = """
SELECT c.case_id, c.community_id, c.grid_id, g.name AS grid_name, c.case_type, c.category,
       c.is_supervised, c.reported_on, date_diff('day', c.reported_on, $period_end) AS age_days
FROM cases AS c LEFT JOIN grids AS g ON g.grid_id = c.grid_id
WHERE c.reported_on < $period_end - to_days(CAST($days AS INTEGER))
    AND (c.resolved_on IS NULL OR c.resolved_on > $period_end)
ORDER BY age_days DESC, c.case_id
"""

# Unclaimed at the period end and older than $days: as wishes_unclaimed_overdue.sql.
UNCLAIMED_WISHES_SQL = """
SELECT w.wish_id, w.community_id, w.grid_id, g.name AS grid_name, w.beneficiary_group,
       w.wish_category, w.registered_on, date_diff('day', w.registered_on, $period_end) AS age_days
FROM wishes AS w LEFT JOIN grids AS g ON g.grid_id = w.grid_id
WHERE w.registered_on < $period_end - to_days(CAST($days AS INTEGER))
    AND (w.claimed_on IS NULL OR w.claimed_on > $period_end)
ORDER BY age_days DESC, w.wish_id
"""

# Rated two stars or fewer, or sanctioned, in the quarters the period touches (as the
# failing_companies and property_sanctions metrics count them).
PROPERTY_SQL = """
SELECT r.quarter, r.community_id, r.compound, r.company, r.stars, r.outcome
FROM property_ratings AS r
WHERE quarter_start(r.quarter) <= $period_end AND quarter_end(r.quarter) >= $period_start
    AND (r.stars <= 2 OR r.outcome <> '无')
ORDER BY r.quarter DESC, r.stars, r.community_id, r.company
"""

# Age bands of the items that have an age (cases, wishes): up to 60 days, up to 180, and
# beyond, the last flagged 长期未解决 (status red rather than amber).
BANDS = ("b1", "b2", "b3")
BAND_LIMITS = (60, 180)

FOLLOW_UP_COLUMNS = [
    "kind",
    "kind_label",
    "community_id",
    "community",
    "owner",
    "item",
    "detail",
    "since",
    "age_days",
    "band",
    "band_label",
    "long_open",
    "status",
    "cue",
    "reason",
]


def follow_ups(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    tg: Targets,
    names: Mapping[str, str],
    breakdown: pd.DataFrame,
    lang: str = "zh",
) -> pd.DataFrame:
    """需督办事项: open cases and unclaimed wishes older than `follow_up_days` at the period
    end, failing or sanctioned property ratings, and every scored metric short of its
    target (接近 or 未达标).

    `owner` is who answers for it: the grid (within its community) or the community.
    `age_days` is days open at the period end, and `band` its age band (BANDS; the last
    one `long_open`, 长期未解决); all three empty for ratings and metrics.
    `since` is the day (ISO, 2025-09-01) for cases and wishes, a period code otherwise.
    `status` is a colour (an item open or unclaimed too long amber, 长期未解决 and a
    failing company red, a metric its own status), `reason` says in words why the item is
    listed and `cue` is both.

    Rows come grouped by community (the one with most items first) and kind, oldest first
    within each group (`groups` counts them, `capped` shortens them for the page and PDF).
    """
    params = {"period_end": period.end, "days": tg.follow_up_days}
    span = {"period_start": period.start, "period_end": period.end}
    cur = con.cursor()
    rows = _case_items(cur.execute(OPEN_CASES_SQL, params).df(), names, lang)
    rows += _wish_items(cur.execute(UNCLAIMED_WISHES_SQL, params).df(), names, lang)
    rows += _property_items(cur.execute(PROPERTY_SQL, span).df(), names, lang)
    rows += _metric_items(breakdown, period, names, lang)
    for row in rows:
        row.update(_band(row["age_days"], tg.follow_up_days, lang))
    frame = pd.DataFrame(rows, columns=FOLLOW_UP_COLUMNS)
    frame["age_days"] = frame["age_days"].astype("Int64")
    return _grouped(frame)


def _band(age: int | None, low: int, lang: str) -> dict[str, Any]:
    """The age band of an item with an age, and whether it is 长期未解决."""
    if age is None:
        return {"band": None, "band_label": "", "long_open": False}
    index = sum(age > limit for limit in BAND_LIMITS)
    band = BANDS[index]
    return {
        "band": band,
        "band_label": band_labels(low, lang)[band],
        "long_open": band == BANDS[-1],
    }


def band_labels(low: int, lang: str = "zh") -> dict[str, str]:
    """Each age band in words: 30–60天, 60–180天, 180天以上（长期未解决）; `low` is the
    targets' follow_up_days, the age from which an item is listed."""
    mid, high = BAND_LIMITS
    return {b: t("fu_" + b, lang, low=low, mid=mid, high=high) for b in BANDS}


def _grouped(frame: pd.DataFrame) -> pd.DataFrame:
    """Communities with most items first, kinds in FOLLOW_UP_KINDS order, oldest first:
    `since` is a day or a quarter, so its text sorts in time (a metric's is the period
    itself, and its items keep their weight order)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = pd.DataFrame(
        {
            "count": -frame.groupby("community_id")["kind"].transform("size"),
            "community": frame["community_id"],
            "kind": frame["kind"].map({k: i for i, k in enumerate(FOLLOW_UP_KINDS)}),
            "since": frame["since"],
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _case_items(cases: pd.DataFrame, names: Mapping[str, str], lang: str) -> list[dict[str, Any]]:
    rows = []
    for r in records(cases):
        supervised = t("fu_supervised", lang) if r["is_supervised"] else ""
        detail = t(
            "fu_case_detail",
            lang,
            case_type=value_label(r["case_type"], lang),
            category=r["category"],
            supervised=supervised,
        )
        rows.append(
            _follow_up(
                "case", r, names, lang, item=r["case_id"], detail=detail, since=r["reported_on"]
            )
        )
    return rows


def _wish_items(wishes: pd.DataFrame, names: Mapping[str, str], lang: str) -> list[dict[str, Any]]:
    rows = []
    for r in records(wishes):
        detail = t(
            "fu_wish_detail", lang, group=r["beneficiary_group"], category=r["wish_category"]
        )
        rows.append(
            _follow_up(
                "wish", r, names, lang, item=r["wish_id"], detail=detail, since=r["registered_on"]
            )
        )
    return rows


def _property_items(
    ratings: pd.DataFrame, names: Mapping[str, str], lang: str
) -> list[dict[str, Any]]:
    rows = []
    for r in records(ratings):
        detail = t(
            "fu_property_detail",
            lang,
            compound=r["compound"],
            stars=r["stars"],
            outcome=value_label(r["outcome"], lang),
        )
        rows.append(
            _follow_up(
                "property", r, names, lang, item=r["company"], detail=detail, since=r["quarter"]
            )
        )
    return rows


def _metric_items(
    breakdown: pd.DataFrame, period: Period, names: Mapping[str, str], lang: str
) -> list[dict[str, Any]]:
    rows = []
    # Below target is anything short of 达标: 未达标 and 接近 alike, each with its status.
    for r in records(breakdown[breakdown["status"].isin(["amber", "red"])]):
        m = metric(r["metric"])
        if r["missing"]:
            detail = t(
                "fu_metric_missing", lang, ledger=ledger_label(m.dataset, lang), target=r["target"]
            )
        else:
            detail = t(
                "fu_metric_detail",
                lang,
                value=fmt_number(r["value"], m.format, lang),
                target=r["target"],
            )
        item = _follow_up(
            "metric", r, names, lang, item=r["label"], detail=detail, since=period.code
        )
        state = r["status"]
        reason = t("status_" + state, lang)
        rows.append({**item, "status": state, "cue": targets.cue(state, lang), "reason": reason})
    return rows


def _follow_up(
    kind: str,
    row: Mapping[str, Any],
    names: Mapping[str, str],
    lang: str,
    *,
    item: str,
    detail: str,
    since: Any,
) -> dict[str, Any]:
    """One follow-up item; its status and reason say why it is on the list (a metric's
    item gets the metric's status instead, an item 长期未解决 red)."""
    community = names.get(row["community_id"], row["community_id"])
    grid = row.get("grid_name")
    owner = f"{community} {grid}" if isinstance(grid, str) and grid else community
    age = row.get("age_days")
    days = None if age is None or pd.isna(age) else int(age)
    # Open or unclaimed too long: amber (⏳), 长期未解决 and a failing company red (❌).
    reason = "" if kind == "metric" else t("fu_reason_" + kind, lang)
    state, icon = ("red", "❌") if kind == "property" else ("amber", "⏳")
    if days is not None and days > BAND_LIMITS[-1]:
        state, icon = "red", "❌"
        reason += t("fu_long_suffix", lang)
    return {
        "kind": kind,
        "kind_label": t("fu_" + kind, lang),
        "community_id": row["community_id"],
        "community": community,
        "owner": owner,
        "item": item,
        "detail": detail,
        "since": _day(since),
        "age_days": days,
        "status": state,
        "cue": f"{icon} {reason}",
        "reason": reason,
    }


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)
