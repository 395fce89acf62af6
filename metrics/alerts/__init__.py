"""Early warnings (预警): what needs a look between meetings, from one store version at one
moment.

Five rules (`rules`), each a small function over the data, the targets and the clock:
target missed two closed months running (per community and metric), a grid's cases above
its own robust baseline, a wish unclaimed over 30 days, a ledger not in by its deadline,
and a property company rated 2★ or below in the latest closed quarter. Which are red and
which amber, and why the baseline is a median plus 3 MAD: docs/decisions/0014.

A warning's `id` is a hash of its rule, unit and period or record: the same condition on
another day or at another data version is the same warning, which is what delivery
(metrics.notify) sends once per subscriber. Nothing is stored: warnings are computed on
read (the pages cache them by data version and day) and by the daily `notify` run.
"""

from __future__ import annotations

from metrics.alerts.core import LEVELS, RULES, Warning, warning_id
from metrics.alerts.rules import (
    BASELINE_MADS,
    BASELINE_MIN_MONTHS,
    BASELINE_MONTHS,
    UNCLAIMED_DAYS,
    UNCLAIMED_RED_DAYS,
    baseline,
    evaluate,
)

__all__ = [
    "BASELINE_MADS",
    "BASELINE_MIN_MONTHS",
    "BASELINE_MONTHS",
    "LEVELS",
    "RULES",
    "UNCLAIMED_DAYS",
    "UNCLAIMED_RED_DAYS",
    "Warning",
    "baseline",
    "evaluate",
    "warning_id",
]
