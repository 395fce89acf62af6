"""The narrative: the meeting's opening paragraph, sentence by sentence, from the message
templates (nar_* in messages.yaml), in the review's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from metrics.i18n import fmt_delta, fmt_number, t
from metrics.periods import Period
from metrics.review.carried import sentence as carried_sentence
from metrics.review.core import records
from metrics.review.followup_items import BAND_LIMITS
from metrics.review.reporting import SUBMISSION_STATUS


def narrative(
    period: Period,
    head: pd.DataFrame,
    table: pd.DataFrame,
    follow: pd.DataFrame,
    subs: pd.DataFrame,
    lang: str = "zh",
    is_demo: bool = False,
    carried: pd.DataFrame | None = None,
) -> list[str]:
    """The meeting's opening paragraph, one sentence per item, from message templates;
    `carried`: the last meeting's tracked items (review/carried.py), one sentence."""
    carried_text = carried_sentence(carried, lang) if carried is not None else None
    return [
        *_city(period, head, lang),
        *([carried_text] if carried_text else []),
        *_ranking(table, lang),
        *_below_target(table, lang),
        *_missing(table, lang),
        _follow_ups(follow, lang),
        *_submissions(subs, lang, is_demo),
    ]


def _city(period: Period, head: pd.DataFrame, lang: str) -> list[str]:
    """Cases, overdue cases, wishes and property ratings across the city."""
    h = {r["metric"]: r for r in records(head)}
    fmt = {n: fmt_number(r["value"], r["format"], lang) for n, r in h.items()}
    label = period.label(lang)
    out = []
    if not h["cases_received"]["value"]:
        out.append(t("nar_cases_none", lang, period=label))
    else:
        out.append(
            t(
                "nar_cases",
                lang,
                period=label,
                disputes=fmt["disputes_handled"],
                mom=_change_phrase(h["disputes_handled"], "mom", "nar_mom", lang),
                yoy=_change_phrase(h["disputes_handled"], "yoy", "nar_yoy", lang),
                cases=fmt["cases_received"],
                rate=fmt["resolution_rate"],
                rate_mom=_change_phrase(h["resolution_rate"], "mom", "nar_mom", lang),
                cmp=_cmp(h["resolution_rate"], lang),
            )
        )
    out.append(
        t("nar_overdue", lang, overdue=fmt["overdue_cases"], cmp=_cmp(h["overdue_cases"], lang))
    )
    out.append(
        t(
            "nar_wishes",
            lang,
            fulfilled=fmt["wishes_fulfilled"],
            rate=fmt["fulfillment_rate"],
            cmp=_cmp(h["fulfillment_rate"], lang),
            unclaimed=fmt["wishes_unclaimed_overdue"],
        )
    )
    if h["mean_stars"]["value"] is not None:
        out.append(
            t("nar_property", lang, stars=fmt["mean_stars"], cmp=_cmp(h["mean_stars"], lang))
        )
    return out


def _change_phrase(row: Mapping[str, Any], against: str, what: str, lang: str) -> str:
    """环比/同比 of a headline row in words: 上升300.0%, 下降13.0个百分点, 持平."""
    label = t(what, lang)
    previous = row["previous" if against == "mom" else "year_ago"]
    text = fmt_delta(row["format"], row["value"], previous, lang)
    if text == "—":
        return t("nar_na", lang, what=label)
    if text.startswith("±"):
        return t("nar_flat", lang, what=label)
    key = "nar_up" if text.startswith("+") else "nar_down"
    return t(key, lang, what=label, pct=text.lstrip("+−-"))


def _cmp(row: Mapping[str, Any], lang: str) -> str:
    state = row["status"]
    if not isinstance(state, str):
        return t("nar_na", lang, what="").strip()
    return t("nar_cmp_" + state, lang, target=row["target"])


def _ranking(table: pd.DataFrame, lang: str) -> list[str]:
    """The top three places (ties included) and the last community, when two have a score."""
    ranked = table.dropna(subset=["score", "rank"])  # no rank: nobody sent anything
    if len(ranked) < 2:
        return []
    sep = t("nar_list_sep", lang)
    ordered = records(ranked)
    # The first three places, ties included, never the last community itself, nor one
    # that sent nothing (it ranks last; the 缺报 sentence names it).
    top = [r for r in ordered[:-1] if r["rank"] <= 3 and not r.get("sent_nothing")]
    if not top:
        return []
    return [
        t(
            "nar_ranking",
            lang,
            top=sep.join(_score_item(r, lang) for r in top),
            bottom=_score_item(ordered[-1], lang),
        )
    ]


def _score_item(r: Mapping[str, Any], lang: str) -> str:
    return t("nar_score_item", lang, name=r["community"], score=f"{r['score']:.1f}")


def _below_target(table: pd.DataFrame, lang: str) -> list[str]:
    """The communities with metrics 未达标, last place first; or that every one met its targets."""
    below = table[table["below_target"].map(len) > 0]
    if len(below):
        sep = t("nar_list_sep", lang)
        items = sep.join(
            t("nar_below_item", lang, name=r["community"], metrics=sep.join(r["below_target"]))
            for r in records(below.sort_values("rank", ascending=False))
        )
        return [t("nar_below", lang, count=len(below), items=items)]
    return [t("nar_all_met", lang)] if len(table) else []


def _missing(table: pd.DataFrame, lang: str) -> list[str]:
    """The communities with ledgers 缺报, and which."""
    if "missing_ledgers" not in table:
        return []
    gone = table[table["missing_ledgers"].map(len) > 0]
    if not len(gone):
        return []
    sep = t("nar_list_sep", lang)
    items = sep.join(
        t("nar_missing_item", lang, name=r["community"], ledgers=sep.join(r["missing_ledgers"]))
        for r in records(gone.sort_values("community_id"))
    )
    return [t("nar_missing", lang, items=items)]


def _follow_ups(follow: pd.DataFrame, lang: str) -> str:
    counts = follow["kind"].value_counts()
    states = follow.loc[follow["kind"] == "metric", "status"].value_counts()
    text = t(
        "nar_followups",
        lang,
        total=len(follow),
        cases=int(counts.get("case", 0)),
        wishes=int(counts.get("wish", 0)),
        property=int(counts.get("property", 0)),
        red=int(states.get("red", 0)),
        amber=int(states.get("amber", 0)),
    )
    long_open = int(follow["long_open"].sum())
    if long_open:  # said only when there are any: the rest of the sentence is the same
        text += t("nar_followups_long", lang, count=long_open, days=BAND_LIMITS[-1])
    return text


def _submissions(subs: pd.DataFrame, lang: str, is_demo: bool) -> list[str]:
    if not len(subs):
        return []
    status_counts = subs["status"].value_counts()
    reporting = Period.parse(subs["reporting"].iloc[0]).label(lang)
    text = t(
        "nar_submissions",
        lang,
        reporting=reporting,
        **{s: int(status_counts.get(s, 0)) for s in SUBMISSION_STATUS},
    )
    if is_demo and (subs["note"] == t("sub_demo_note", lang)).any():
        text = text[:-1] + t("nar_submissions_demo", lang) + text[-1]
    return [text]
