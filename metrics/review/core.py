"""The `Review` a meeting reads, the token that pins its versions, and its rows as dicts."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from metrics import targets
from metrics.deadlines import demo_as_of
from metrics.i18n import t
from metrics.periods import Period, local_tz
from metrics.schemas import DATASETS
from metrics.store import Store, StoreVersion
from metrics.targets import Targets

TARGETS_KEY = "_targets"


@dataclass(frozen=True)
class Review:
    period: Period
    version: StoreVersion
    targets: Targets
    lang: str
    is_demo: bool
    headline: pd.DataFrame  # one row per HEADLINE metric
    league: pd.DataFrame  # one row per community, best first
    breakdown: pd.DataFrame  # community × weighted metric: how the score is made
    follow_ups: pd.DataFrame  # 需督办事项
    submissions: pd.DataFrame  # community × ledger for the reporting period
    trend: pd.DataFrame  # last 12 months of TREND_METRICS, city totals
    narrative: list[str]  # sentences, to be read in order
    as_of: dt.datetime | None = None  # when the data read were last changed (data_as_of)
    carried: pd.DataFrame | None = None  # the last meeting's tracked items (carried.py)

    @property
    def assessment(self) -> str:
        return targets.assessment_kind(self.period)

    @property
    def scored_metrics(self) -> list[str]:
        return list(self.targets.weights(self.assessment))

    @property
    def token(self) -> str:
        """Store and targets version, e.g. 'communities@0,...,_targets@3' (-1: defaults)."""
        return make_token(self.version, self.targets)

    @property
    def stamp(self) -> str:
        """数据截至 2025-11-03 14:20（版本 c7976bf5）: the same on the page, PDF and XLSX."""
        return stamp(self.as_of, self.token, self.lang)

    def title(self) -> str:
        return t("report_title", self.lang, review=t("review_" + self.assessment, self.lang))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name (what templates and renderers read)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def ledger_label(dataset: str, lang: str) -> str:
    """A ledger's name in the reader's language."""
    return DATASETS[dataset].zh if lang == "zh" else DATASETS[dataset].en


# -- versions ------------------------------------------------------------------------------------


def pin(
    store: Store, version: StoreVersion | str | None = None, lang: str = "zh"
) -> tuple[StoreVersion, Targets]:
    """The store version and targets a review reads: a token pins both (see Review.token);
    a StoreVersion or None pins the data and takes the current targets (the shipped
    defaults are saved as a version of their own the first time, targets.pinned).

    A token must name every table, as Review.token does: a table left out would be read at
    its current version, and the report would no longer be the one the token names. An
    unknown version is refused with a message, not a storage error. `_targets@-1` (tokens
    printed before targets were always versioned) means the defaults of the running release.
    """
    if version is None or isinstance(version, StoreVersion):
        return version or store.version(), targets.pinned(store)
    pairs: dict[str, int] = {}
    for part in version.split(","):
        name, sep, number = part.strip().partition("@")
        if not sep or not number.lstrip("-").isdigit():
            raise ValueError(t("version_bad_token", lang, token=version))
        pairs[name] = int(number)
    unknown = set(pairs) - set(DATASETS) - {TARGETS_KEY}
    if unknown:
        raise ValueError(t("version_unknown_table", lang, names="、".join(sorted(unknown))))
    absent = [n for n in (*DATASETS, TARGETS_KEY) if n not in pairs]
    if absent:
        raise ValueError(t("version_incomplete", lang, names="、".join(absent)))
    current = store.version()
    latest = {n: current.of(n) for n in DATASETS}
    latest[TARGETS_KEY] = _or_minus_one(targets.current_version(store))
    for table, v in pairs.items():
        if not -1 <= v <= latest[table]:
            raise ValueError(t("version_unknown", lang, name=table, number=v, latest=latest[table]))
    data = StoreVersion(tuple((n, pairs[n]) for n in DATASETS))
    tv = pairs[TARGETS_KEY]
    return data, targets.defaults() if tv < 0 else targets.load(store, tv)


def make_token(data_version: StoreVersion, tg: Targets) -> str:
    return f"{data_version.token},{TARGETS_KEY}@{_or_minus_one(tg.version)}"


def resolve(store: Store, version: str | None = None, lang: str = "zh") -> str:
    """The token a review read now at `version` (None: the latest) would carry: checked,
    and fixed, so a build started with it reads exactly these versions."""
    return make_token(*pin(store, version, lang))


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


# -- 数据截至: the data version in human terms ----------------------------------------------------


def version_id(token: str) -> str:
    """A version token as eight hex digits (of its SHA-256): short enough to read out, the
    same wherever the same data and targets are shown; the token itself rebuilds a report."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def data_as_of(store: Store, version: StoreVersion) -> dt.datetime | None:
    """When the data of `version` last changed, local time: the latest of the commits that
    made each dataset's pinned version (None for an empty store). The demo is as of its own
    day (demo.AS_OF), not the day it was written."""
    if store.is_demo:
        return demo_as_of()
    times = [
        entry["committed_at"]
        for name in DATASETS
        if version.of(name) >= 0
        for entry in store.history(name)
        if entry.get("version") == version.of(name)
    ]
    return max(times).astimezone(local_tz()) if times else None


def stamp(as_of: dt.datetime | None, token: str, lang: str = "zh") -> str:
    """数据截至 2025-11-03 14:20（版本 c7976bf5）"""
    when = as_of.astimezone(local_tz()).strftime("%Y-%m-%d %H:%M") if as_of else "—"
    return t("data_stamp", lang, at=when, version=version_id(token))
