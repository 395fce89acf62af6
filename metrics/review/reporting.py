"""Submissions: the reporting period each ledger is due for at a review, its deadline, and
whether each community sent it on time, late, not at all (缺报) or not yet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

from metrics import targets
from metrics.i18n import t
from metrics.periods import Period, add_months, local_tz
from metrics.periods import now as clock_now
from metrics.review.core import ledger_label
from metrics.store import Store, StoreVersion
from metrics.targets import Status, Targets

MONTHLY_LEDGERS = ("cases", "wishes", "employment")
QUARTERLY_LEDGERS = ("property_ratings",)

SubmissionStatus = Literal["on_time", "late", "missing", "pending"]
SUBMISSION_STATUS: dict[str, Status | None] = {
    "on_time": "green",
    "late": "amber",
    "missing": "red",
    "pending": None,
}


def reporting_periods(period: Period) -> dict[str, Period]:
    """The ledger -> the reporting period due for the review: the review's last month for
    the monthly ledgers, and its quarter for property ratings when that month ends it."""
    last = period.end.replace(day=1)
    out = {name: Period.of("month", last) for name in MONTHLY_LEDGERS}
    if last.month % 3 == 0:
        quarter = Period.of("quarter", add_months(last, -2))
        out.update({name: quarter for name in QUARTERLY_LEDGERS})
    return out


def deadline(reporting: Period, day: int) -> dt.datetime:
    """The end of day `day` of the month after the reporting period, local time."""
    month = add_months(reporting.end, 1)
    return dt.datetime.combine(month.replace(day=day), dt.time.max, tzinfo=local_tz())


def _covers(entry: Mapping[str, Any], reporting: Period) -> bool:
    code = entry.get("period")
    if not code:
        # A whole-table load (the demo, an admin's replace) carries no period: it holds
        # every period it holds.
        return not entry.get("community_id")
    try:
        p = Period.parse(str(code))
    except ValueError:
        return False
    return p.start <= reporting.end and p.end >= reporting.start


SUBMISSION_COLUMNS = [
    "community_id",
    "community",
    "dataset",
    "dataset_label",
    "reporting",
    "deadline",
    "status",
    "cue",
    "submitted_at",
    "version",
    "user",
    "note",
]


def submissions(
    store: Store,
    period: Period,
    version: StoreVersion,
    tg: Targets,
    names: Mapping[str, str],
    lang: str = "zh",
    *,
    as_of: dt.datetime | None = None,
) -> pd.DataFrame:
    """Each community × ledger due for the review: on time, late, missing or not yet due,
    from the commits up to `version` (first covering commit's time, version and user).

    Uploads carry community_id and period in their commit metadata. A load without a
    community (the demo builder, an admin's whole-table replace) counts for every
    community; the demo builder's loads count as on time, and the note says so.
    """
    now = as_of or clock_now()
    rows = []
    for dataset, reporting in reporting_periods(period).items():
        due = deadline(reporting, tg.deadline_day)
        pinned = version.of(dataset)
        commits = [
            c
            for c in reversed(store.history(dataset))  # oldest first
            if c["version"] is not None and c["version"] <= pinned and _covers(c, reporting)
        ]
        for community_id, community in names.items():
            first = next(
                (c for c in commits if c.get("community_id") in (None, "", community_id)), None
            )
            note = ""
            state: SubmissionStatus
            if first is None:
                state = "missing" if now > due else "pending"
            elif first.get("user") == "demo" and not first.get("community_id"):
                state, note = "on_time", t("sub_demo_note", lang)
            else:
                state = "on_time" if first["committed_at"] <= due else "late"
                if not first.get("community_id"):
                    note = t("sub_whole_table_note", lang)
            submitted = (
                first["committed_at"].astimezone(local_tz()).replace(tzinfo=None, microsecond=0)
                if first
                else None
            )
            colour = SUBMISSION_STATUS[state]
            icon = targets.ICONS[colour] if colour else "⏳"
            rows.append(
                {
                    "community_id": community_id,
                    "community": community,
                    "dataset": dataset,
                    "dataset_label": ledger_label(dataset, lang),
                    "reporting": reporting.code,
                    "deadline": due.date(),
                    "status": state,
                    "cue": f"{icon} {t('sub_' + state, lang)}",
                    "submitted_at": submitted,
                    "version": first["version"] if first else None,
                    "user": first.get("user", "") if first else "",
                    "note": note,
                }
            )
    frame = pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)
    frame["version"] = frame["version"].astype("Int64")
    return frame
