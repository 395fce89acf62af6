"""The upload history and rollback: every commit of a dataset is a version, and restoring
an earlier one is itself a new version that records what it undid."""

from __future__ import annotations

from typing import Any

from metrics.derived import recovery
from metrics.derived.audit_log import Actor, Intent, action_of
from metrics.ingest.problems import IngestError
from metrics.schemas import DATASETS
from metrics.store import Store, StoreError


def history(
    store: Store, dataset: str | None = None, community_id: str | None = None
) -> list[dict[str, Any]]:
    """Commits newest first, across datasets, each with its `action`: upload, rollback or
    load (a whole-table write such as the demo). For one community: its uploads, and every
    rollback and load, since those change every community's rows. A commit that a later
    rollback undid says which (`undone_by`: that rollback's version)."""
    names = [dataset] if dataset else list(DATASETS)
    entries = []
    for name in names:
        own = [_with_action(e) for e in store.history(name)]
        undone = {
            number: int(e["version"])
            for e in own
            for number in str(e.get("undid_versions") or "").split(",")
            if number
        }
        entries += [{**e, "undone_by": undone.get(str(e["version"]))} for e in own]
    if community_id:
        entries = [
            e
            for e in entries
            if e.get("community_id") == community_id or e["action"] in ("rollback", "load")
        ]
    return sorted(entries, key=lambda e: e["committed_at"], reverse=True)


def _with_action(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "action": action_of(entry)}


def rollback(store: Store, dataset: str, version: int, *, user: str | Actor) -> int:
    """Restore `dataset` as it was at `version`; the restore is itself a new version.

    The whole table is restored: every community's commits after `version` are undone
    (their version numbers are kept in the rollback's metadata, `undid_versions`). Like an
    upload, under the dataset's lock and with its audit intent written before the commit.
    """
    if dataset not in DATASETS:
        raise IngestError("ingest_unknown_dataset", dataset=dataset)
    actor = user if isinstance(user, Actor) else Actor(user)
    try:
        if store.is_demo:
            raise StoreError("store_demo_read_only")
        with recovery.writing(store, dataset):
            undone = [str(e["version"]) for e in rollback_preview(store, dataset, version)]
            meta = {
                "user": actor.user,
                "role": actor.role or "",
                "dataset": dataset,
                "rolled_back_to": str(version),
                "undid_versions": ",".join(undone),
            }
            detail = {"dataset": dataset, "to": version, "undid_versions": ",".join(undone)}
            intent = Intent(actor, "rollback", detail)
            return store.rollback(dataset, version, meta=meta, intent=intent)
    except StoreError as failed:
        raise IngestError(failed.key, **failed.params) from failed


def rollback_preview(store: Store, dataset: str, version: int) -> list[dict[str, Any]]:
    """The commits, newest first and of every community, that restoring `version` undoes."""
    entries = [_with_action(e) for e in store.history(dataset)]
    known = {e["version"] for e in entries}
    if version not in known or version == max(known):
        raise IngestError("ingest_no_such_version", dataset=dataset, version=version)
    return [e for e in entries if e["version"] > version]
