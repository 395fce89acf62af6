"""What pages show beside the figures: a metric's label, unit, format and direction, the
periods a figure is compared with, and the targets' status and cues.

None of it depends on who reads: it is the catalog's and the targets' own.
"""

from __future__ import annotations

from metrics import catalog, queries, targets
from metrics.catalog import Metric
from metrics.periods import Period
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
