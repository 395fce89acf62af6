"""An administrator's changes besides roles and rollbacks: the targets, and rebuilding the
derived tables. Each is checked here and left in the audit log."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metrics import targets
from metrics.access.audit import audit
from metrics.access.principals import Principal, require
from metrics.store import Store

# The editable numbers of the targets table: the bounds, then a weight per assessment.
TARGET_NUMBERS = (*targets.BOUND_COLUMNS, *(f"weight_{k}" for k in targets.ASSESSMENTS))


def targets_frame(document: targets.Targets, lang: str = "zh") -> pd.DataFrame:
    """One row per metric for the editor: shares in percent, marked "%" in `unit`."""
    return targets.to_frame(document, lang)


def targets_from_frame(frame: pd.DataFrame, base: targets.Targets) -> targets.Targets:
    """The targets an edited `targets_frame` says; raises TargetsError when they are not valid."""
    return targets.from_frame(frame, base)


def save_targets(store: Store, document: targets.Targets, by: Principal) -> int:
    require(by, "admin")
    version = targets.save(store, document, by.user)
    audit(store, by, "targets_changed", version=version)
    return version


def targets_history(store: Store, by: Principal) -> list[dict[str, Any]]:
    """Edits of the targets, newest first: version, committed_at (UTC), user."""
    require(by, "admin")
    return targets.history(store)


def refresh(store: Store, by: Principal) -> None:
    require(by, "admin")
    store.refresh_all()
    audit(store, by, "refresh", version=store.version().token)
