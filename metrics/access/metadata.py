"""What pages show beside the figures: a metric's label, unit, format and direction, the
periods a figure is compared with, the targets' status and cues, how a rank is written, and
the reporting deadlines (which periods are closed, and the moment a store is read at).

None of it depends on who reads: it is the catalog's, the targets' and the calendar's own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics import catalog, deadlines, queries, targets
from metrics.catalog import Metric
from metrics.periods import Period, PeriodKind
from metrics.review.ranking import rank_text as _rank_text
from metrics.store import Store

TARGET_ICONS = targets.ICONS  # ✅ ⚠️ ❌ by status
SCORE_COLOUR = targets.NEUTRAL  # assessment scores: one neutral colour, no target of their own


def metric(name: str) -> Metric:
    """The catalog entry: label, description and unit per language, format, direction."""
    return catalog.metric(name)


def compared_periods(name: str, period: Period) -> tuple[Period, Period]:
    """The periods metric `name`'s figure for `period` is compared with: (环比, 同比)."""
    return queries.compared_periods(catalog.metric(name).dataset, period)


def targets_version(store: Store) -> int | None:
    """The version of the targets in force (None: the shipped defaults)."""
    return targets.current_version(store)


def load_targets(store: Store, version: int | None = None) -> targets.Targets:
    """The targets at `version` (latest if None); the shipped defaults if none were saved."""
    return targets.load(store, version)


def target_status(name: str, value: float | None, document: targets.Targets) -> str | None:
    """green, amber or red for metric `name`'s value; None without a value or a target."""
    return targets.status(name, value, document)


def target_cue(state: str | None, lang: str = "zh") -> str:
    """The status as an icon and a word (✅ 达标)."""
    return targets.cue(state, lang)


def rank_text(rank: Any, tied: Any = False) -> str:
    """A rank as every ranking writes it: 3, "3=" when shared, "—" without one."""
    return _rank_text(rank, tied)


# -- deadlines: metrics.deadlines ----------------------------------------------------------------


def clock(store: Store) -> dt.datetime:
    """The moment the store is read at: now, or the demo's own day for the demo."""
    return deadlines.store_now(store)


def latest_closed(kind: PeriodKind, at: dt.datetime, day: int) -> Period:
    """The latest period of `kind` whose ledgers were due (day `day` of the next month)
    before `at`: what every page opens on."""
    return deadlines.latest_closed(kind, at, day)


def is_closed(period: Period, at: dt.datetime, day: int) -> bool:
    return deadlines.is_closed(period, at, day)


def period_note(
    period: Period, at: dt.datetime, day: int, lang: str = "zh", *, default: bool = False
) -> str:
    """显示最近已截止的统计期：… / …已截止 / …未截止, with the deadline."""
    return deadlines.period_note(period, at, day, lang, default=default)
