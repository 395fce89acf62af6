"""Submissions: whether each community sent each ledger for a reporting period on time (按时),
late (逾期), not at all (缺报) or not yet due (未到期), by the deadline rule of
metrics.deadlines, for every community × ledger × reporting period.

A ledger counts as sent for a period when a commit carries rows of that period for that
community, whether or not the upload named a period, and for the period an upload named
even with no rows of it (a nil report: no wish registered that month). What a commit of one
community carries: its `periods` metadata (the reporting periods of its rows) and the
period it named; a load of several communities may list periods per community; else, for a
whole-table load (the demo, an administrator's replace), the periods the table holds at
that version, community by community. The first commit that
carries a period decides: a later correction does not turn 按时 into 逾期. A commit that a
later rollback undid carries nothing. The demo is loaded in one go, so its times come from
demo.submitted_at, judged by the same rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from metrics import demo, targets
from metrics.deadlines import deadline, store_now
from metrics.i18n import t
from metrics.periods import Period, add_months, local_tz
from metrics.review.core import ledger_label
from metrics.schemas import DATASETS
from metrics.store import Store, StoreVersion
from metrics.targets import Status, Targets

MONTHLY_LEDGERS = ("cases", "wishes", "employment")
QUARTERLY_LEDGERS = ("property_ratings",)
LEDGERS = MONTHLY_LEDGERS + QUARTERLY_LEDGERS

SubmissionStatus = Literal["on_time", "late", "missing", "pending"]
SUBMISSION_STATUS: dict[str, Status | None] = {
    "on_time": "green",
    "late": "amber",
    "missing": "red",
    "pending": None,
}


@dataclass(frozen=True)
class Sent:
    """The first commit that carried a community's rows of a reporting period."""

    at: dt.datetime
    version: int | None
    user: str
    note: str = ""  # a message key: how this submission was recorded, when it is unusual


# (community_id, reporting period code) -> the first commit that carried it
SentLog = dict[tuple[str, str], Sent]


def reporting_periods(period: Period) -> dict[str, Period]:
    """The ledger -> the reporting period due for the review: the review's last month for
    the monthly ledgers, and its quarter for property ratings when that month ends it."""
    last = period.end.replace(day=1)
    out = {name: Period.of("month", last) for name in MONTHLY_LEDGERS}
    if last.month % 3 == 0:
        quarter = Period.of("quarter", add_months(last, -2))
        out.update({name: quarter for name in QUARTERLY_LEDGERS})
    return out


def reporting_codes(dataset: str, period: Period) -> list[str]:
    """The reporting periods of `dataset` that `period` touches: its months (2025-10), or
    for property ratings the quarters (2025Q4)."""
    months = [add_months(period.start, i) for i in range(period.months)]
    if dataset in QUARTERLY_LEDGERS:
        return list(dict.fromkeys(Period.of("quarter", _quarter_start(m)).code for m in months))
    return [Period.of("month", m).code for m in months]


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


# -- what a commit carries -------------------------------------------------------------------


def _codes(dataset: str, values: Iterable[Any]) -> set[str]:
    """Reporting period codes of `dataset` from codes as written (months, quarters, ranges)."""
    out: set[str] = set()
    for value in values:
        try:
            out.update(reporting_codes(dataset, Period.parse(str(value))))
        except ValueError:
            continue
    return out


def _listed(value: Any) -> list[str] | dict[str, list[str]] | None:
    """The `periods` metadata as a list of codes, or a mapping community -> codes (a load
    of several communities may say them so); from a list, a mapping, JSON text or
    comma-separated codes. None when the commit did not record them."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text[:1] in "[{" else [v for v in text.split(",") if v]
        except json.JSONDecodeError:
            return None
    if isinstance(value, Mapping):
        return {str(c): [str(v) for v in codes] for c, codes in value.items()}
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return None


_TABLE_COVERAGE: dict[tuple[str, str, int], dict[str, set[str]]] = {}


def _table_coverage(store: Store, dataset: str, version: int) -> dict[str, set[str]]:
    """Community -> reporting periods of the rows commit `version` wrote: those of the
    files it added (all of them for an overwrite, the new chunk for an append). A version
    never changes, so the answer is kept for the process; each file is read once."""
    key = (str(store.tables_dir), dataset, version)
    if key not in _TABLE_COVERAGE:
        before = set(store.files(dataset, version - 1)) if version > 0 else set()
        added = [f for f in store.files(dataset, version) if f not in before]
        spec = DATASETS[dataset]
        column = spec.period_field
        assert column is not None
        # Identifiers from the data contract, not from input.
        code = column if spec.field(column).type == "quarter" else f"strftime({column}, '%Y-%m')"
        found: dict[str, set[str]] = {}
        if added:
            con = store.bare_connection()
            try:
                con.read_parquet(added).create_view("added")
                covered = f"SELECT DISTINCT community_id, {code} FROM added"
                covered += f" WHERE {column} IS NOT NULL"  # names from the contract
                rows = con.execute(covered).fetchall()
            finally:
                con.close()
            for community, period in rows:
                found.setdefault(str(community), set()).add(str(period))
        _TABLE_COVERAGE[key] = found
    return _TABLE_COVERAGE[key]


def coverage(store: Store, dataset: str, entry: Mapping[str, Any]) -> dict[str, set[str]]:
    """Community -> the reporting periods commit `entry` carries rows of (see above)."""
    if entry.get("operation") == "RESTORE" or entry.get("version") is None:
        return {}
    said = _listed(entry.get("periods"))
    if isinstance(said, dict):
        return {c: _codes(dataset, codes) for c, codes in said.items()}
    community = str(entry.get("community_id") or "")
    if community:
        # The periods its rows cover and the period it named, if any: a month named with
        # no rows of it is a nil report (no wish registered that month), sent all the same.
        named = [entry.get("period")] if entry.get("period") else []
        return {community: _codes(dataset, [*(said or []), *named])}
    # A whole-table load: the periods its rows hold, community by community (of those
    # the commit lists, when it lists them: an append carries only its own rows).
    held = _table_coverage(store, dataset, int(entry["version"]))
    if said is None:
        return held
    listed = _codes(dataset, said)
    return {c: codes & listed for c, codes in held.items() if codes & listed}


def sent_log(store: Store, dataset: str, pinned: int) -> SentLog:
    """The first commit up to version `pinned` that carried each community's rows of each
    reporting period."""
    commits = [
        c
        for c in reversed(store.history(dataset))  # oldest first
        if c.get("version") is not None and 0 <= c["version"] <= pinned
    ]
    undone = {
        int(v)
        for c in commits
        for v in str(c.get("undid_versions") or "").split(",")
        if v.strip().isdigit()
    }
    out: SentLog = {}
    for entry in commits:
        if entry["version"] in undone:
            continue
        note = "" if entry.get("community_id") else "sub_whole_table_note"
        sent = Sent(entry["committed_at"], entry["version"], str(entry.get("user") or ""), note)
        for community, codes in coverage(store, dataset, entry).items():
            for code in codes:
                out.setdefault((community, code), sent)
    if store.is_demo:
        # Loaded in one go: the time each community is taken to have sent each period.
        out = {
            key: replace(s, at=demo.submitted_at(key[0], dataset, key[1]), note="sub_demo_note")
            for key, s in out.items()
        }
    return out


def sent_logs(store: Store, version: StoreVersion) -> dict[str, SentLog]:
    """Every ledger's SentLog at `version`."""
    return {d: sent_log(store, d, version.of(d)) for d in LEDGERS}


# -- status ----------------------------------------------------------------------------------


def status(sent: Sent | None, due: dt.datetime, now: dt.datetime) -> SubmissionStatus:
    """按时 if sent by the deadline, 逾期 if after it; 缺报 if not sent once it has passed,
    未到期 before."""
    if sent is None:
        return "missing" if now > due else "pending"
    return "on_time" if sent.at <= due else "late"


def unreported(
    logs: Mapping[str, SentLog], period: Period, communities: Iterable[str]
) -> dict[str, set[str]]:
    """Ledger -> the communities that sent none of its reporting periods within `period`
    (whether or not they are due yet): their figures of it are no figures, not zeros."""
    out = {}
    for dataset, log in logs.items():
        codes = reporting_codes(dataset, period)
        out[dataset] = {c for c in communities if not any((c, code) in log for code in codes)}
    return out


def sent_nothing(logs: Mapping[str, SentLog], period: Period, communities: list[str]) -> set[str]:
    """The communities that sent no ledger at all for `period`."""
    gone = unreported(logs, period, communities)
    return {c for c in communities if all(c in g for g in gone.values())}


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
    logs: Mapping[str, SentLog] | None = None,
) -> pd.DataFrame:
    """Each community × ledger due for the review (reporting_periods): on time, late,
    missing or not yet due at `as_of` (default: the store's moment, deadlines.store_now),
    with the first commit that carried it (time, version, user)."""
    now = as_of or store_now(store)
    logs = logs if logs is not None else sent_logs(store, version)
    rows = []
    for dataset, reporting in reporting_periods(period).items():
        due = deadline(reporting, tg.deadline_day)
        for community_id, community in names.items():
            first = logs[dataset].get((community_id, reporting.code))
            state = status(first, due, now)
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
                    "submitted_at": _local(first.at) if first else None,
                    "version": first.version if first else None,
                    "user": first.user if first else "",
                    "note": t(first.note, lang) if first and first.note else "",
                }
            )
    frame = pd.DataFrame(rows, columns=SUBMISSION_COLUMNS)
    frame["version"] = frame["version"].astype("Int64")
    return frame


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(local_tz()).replace(tzinfo=None, microsecond=0)
