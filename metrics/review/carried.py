"""The next meeting starts with the last one's items: the tracked items (督办事项) due by
the end of the previous period and not closed before it began, judged as of the reviewed
period's end: closed on time, closed late, still open, per community and for the city,
with the closure rate (on time ÷ due; the catalog's followup_closure_rate says the same of
the items due within one period). As of the period's end so that the packet of a closed
period reads the same whenever it is made (the events are append-only, dated by the clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from metrics import tracking
from metrics.i18n import fmt_number, t
from metrics.periods import Period
from metrics.store import Store
from metrics.tracking import Tally

CARRIED_COLUMNS = [
    "community_id",
    "community",
    "title",
    "owner",
    "deadline",
    "answered_on",
    "verdict",
    "verdict_label",
]
SUMMARY_COLUMNS = ["community_id", "community", "due", "on_time", "late", "open", "rate"]
VERDICT_KEYS = {"on_time": "track_col_on_time", "late": "track_col_late", "open": "track_col_open"}


def carried_items(
    store: Store, period: Period, names: Mapping[str, str], lang: str = "zh"
) -> pd.DataFrame:
    """One row per item carried into the meeting of `period` (CARRIED_COLUMNS), by
    community then deadline."""
    previous = period.previous()
    began = previous.start - dt.timedelta(days=1)
    closed_before = {i.item_id for i in tracking.items(store, began) if tracking.judge(i) != "open"}
    rows = []
    for one in tracking.items(store, period.end):
        if one.deadline > previous.end or one.item_id in closed_before:
            continue
        verdict = tracking.judge(one)
        rows.append(
            {
                "community_id": one.community_id,
                "community": names.get(one.community_id, one.community_id),
                "title": one.title,
                "owner": one.owner,
                "deadline": one.deadline,
                "answered_on": one.answered_on,
                "verdict": verdict,
                "verdict_label": t(VERDICT_KEYS[verdict], lang),
            }
        )
    frame = pd.DataFrame(rows, columns=CARRIED_COLUMNS)
    return frame.sort_values(["community_id", "deadline"], kind="stable").reset_index(drop=True)


def summary(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Per community (in the order of `frame`) and the city last: SUMMARY_COLUMNS."""
    tallies: dict[str | None, Tally] = {}
    labels: dict[str | None, str] = {None: t("track_city", lang)}
    city = Tally()
    columns = (frame[c].tolist() for c in ("community_id", "community", "verdict"))
    for community_id, name, verdict in zip(*columns, strict=True):
        tallies.setdefault(community_id, Tally()).add(verdict)
        labels[community_id] = str(name)
        city.add(verdict)
    if tallies:
        tallies[None] = city
    rows = [
        {
            "community_id": key,
            "community": labels[key],
            "due": one.due,
            "on_time": one.on_time,
            "late": one.late,
            "open": one.open,
            "rate": one.rate,
        }
        for key, one in tallies.items()
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def sentence(frame: pd.DataFrame, lang: str = "zh") -> str | None:
    """The narrative's sentence on the carried items; None when there were none."""
    if frame.empty:
        return None
    city = summary(frame, lang).iloc[-1]
    return t(
        "track_carried_sentence",
        lang,
        due=int(city["due"]),
        on_time=int(city["on_time"]),
        late=int(city["late"]),
        open=int(city["open"]),
        rate=fmt_number(city["rate"], "pct", lang),
    )


def rule(period: Period, lang: str = "zh") -> str:
    """How the section counts, in words."""
    return t(
        "track_carried_rule",
        lang,
        period=period.previous().label(lang),
        as_of=period.end.isoformat(),
    )
