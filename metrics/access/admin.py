"""An administrator's changes besides roles and rollbacks: the targets, rebuilding the
derived tables and repairing the store, and creating a real store. Each is checked here and
left in the audit log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from metrics import targets
from metrics.access.audit import audit
from metrics.access.principals import Principal, require
from metrics.derived.audit_log import Actor, Intent
from metrics.ingest import Validation
from metrics.ingest.register import REGISTERS, validate_register
from metrics.periods import now
from metrics.schemas import DATASETS
from metrics.store import Store, StoreError

log = logging.getLogger(__name__)

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


def repair(store: Store, by: Principal) -> None:
    """Recovery, whatever the marks say (`python -m metrics check --repair`)."""
    require(by, "admin")
    store.refresh_all()


def check_registers(
    store: Store, by: Principal, registers: Mapping[str, tuple[bytes, str]]
) -> dict[str, Validation]:
    """The register files for a new store (dataset -> bytes and file name: communities,
    grids), each checked like an upload; the grids against the community register given
    with them. Nothing is written."""
    require(by, "admin")
    checked: dict[str, Validation] = {}
    for dataset in REGISTERS:
        if dataset in registers:
            data, name = registers[dataset]
            known = checked["communities"].rows if "communities" in checked else None
            checked[dataset] = validate_register(data, name, dataset, store, known)
    return checked


def init_store(
    store: Store, by: Principal, registers: Mapping[str, Validation]
) -> tuple[dict[str, int], Path | None]:
    """Create the real store `store` (`python -m metrics init`): every dataset an empty
    table but the registers, whose rows (`check_registers`, every one valid) are loaded in
    one commit each, with its audit entry. Returns the rows of each table, and where a demo
    store left in the directory by an earlier release was moved. StoreError when the
    directory already holds a real store."""
    require(by, "admin")
    if store.kind == "real":
        raise StoreError("store_exists", path=str(store.tables_dir))
    if any(not v.ok or v.rows is None for v in registers.values()):
        raise ValueError("init_store takes valid registers only (check_registers)")
    moved = _move_aside(store) if store.kind == "demo" else None
    store.create("real", by.user)
    who = Actor(by.user, by.role, by.community_id)
    counts = {}
    for dataset, spec in DATASETS.items():
        found = registers.get(dataset)
        table = found.rows if found is not None and found.rows is not None else None
        meta = {"user": by.user, "source": "python -m metrics init"}
        if found is not None:
            meta |= {"file_name": found.file_name, "file_sha256": found.file_sha256}
        rows = table if table is not None else spec.arrow_schema.empty_table()
        store.replace_all(dataset, rows, meta, refresh=False, intent=Intent(who, "load", meta))
        counts[dataset] = rows.num_rows
    store.refresh_all()
    return counts, moved


def _move_aside(store: Store) -> Path:
    """A demo store where the real one goes (written there by an earlier release) moves
    aside, kept whole: nothing is deleted."""
    if not (isinstance(store.root, Path) and isinstance(store.tables_dir, Path)):
        # No release wrote a demo store to object storage, and objects cannot be renamed.
        raise StoreError("store_exists", path=str(store.tables_dir))
    moved = store.root / f"{store.tables_dir.name}.demo-{now():%Y%m%d-%H%M%S}"
    store.tables_dir.rename(moved)
    log.warning("the demo store in %s moved to %s before init", store.tables_dir, moved)
    return moved
