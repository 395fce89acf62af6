"""Recovery: what follows from a dataset's commits, brought up to its data version.

A write to the store is its Delta commit (store.py). What follows from it, the rollups, city
counts and period values (this package) and the commit's audit entry (audit_log.py), is
brought up to it by one function, `settle`, whether the writer is still alive or was killed
a moment after its commit: the refresh after a commit *is* the recovery
(docs/decisions/0008-store-kinds-and-recovery.md).

- Every write holds its dataset's lock and settles the dataset before and after its commit
  (`writing`); with an intent, the intent goes into the audit log first.
- Readers (the app, the CLI) call `ensure` on open: a version comparison per dataset while
  nothing is behind; a dataset whose data are ahead of its mark is settled first, under its
  lock (waiting for a writer that is finishing, or doing the work of one that died).
- `recover` (`python -m metrics check --repair`, `refresh`) settles every dataset, closes
  every intent left open and gives every version without an entry one.

The mark, `<store>/_settled/<dataset>.json` ({"version": N, "pending": ID}): everything that
follows from the dataset's versions up to N is in place; ID is the intent of a writer
between its intent and its commit (null otherwise). It is written last, so a mark never
claims more than is done; settling twice does no harm (derived tables check the version
they reflect, and an entry written twice is one entry).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metrics import derived, location
from metrics.delta import StoreError, storage_error
from metrics.derived import audit_log
from metrics.derived.audit_log import COMMITTED, NOT_COMMITTED, Intent
from metrics.derived.rollups import ROLLUPS
from metrics.schemas import DATASETS

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion

log = logging.getLogger(__name__)

MARKS_DIR = "_settled"


@dataclass(frozen=True)
class Mark:
    version: int
    pending: str | None = None


def lock_name(dataset: str) -> str:
    """The lock a dataset's writes and its recovery hold."""
    return f"dataset-{dataset}"


def read_mark(store: Store, dataset: str) -> Mark | None:
    path = store.tables_dir / MARKS_DIR / f"{dataset}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Mark(int(raw["version"]), raw.get("pending"))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable mark %s: the dataset is settled again", path)
        return None


def _write_mark(store: Store, dataset: str, mark: Mark) -> None:
    text = json.dumps({"version": mark.version, "pending": mark.pending})
    location.write_atomic(store.tables_dir / MARKS_DIR / f"{dataset}.json", text.encode())


def _is_settled(mark: Mark | None, data: int) -> bool:
    return mark == Mark(data) or (mark is None and data < 0)


# -- settling one dataset ------------------------------------------------------------------
def settle(store: Store, dataset: str) -> bool:
    """Bring what follows from `dataset`'s commits up to its data version; the caller holds
    the dataset's lock. True if there was anything to do."""
    data = store.table_version(dataset)
    mark = read_mark(store, dataset)
    if _is_settled(mark, data):
        return False
    since = mark.version if mark is not None else -1
    commits = _commits_after(store, dataset, since, data)
    if commits or mark is None:
        _derive(store, dataset, commits, since)
    _entries(store, dataset, commits, mark)
    _write_mark(store, dataset, Mark(data))
    if commits:
        log.info(
            "%s settled at version %d (%d commit(s) since the mark)", dataset, data, len(commits)
        )
    return True


def _commits_after(store: Store, dataset: str, since: int, data: int) -> list[dict[str, Any]]:
    """The dataset's commits after version `since`, oldest first."""
    if data <= since:
        return []
    limit = data - since if since >= 0 else None
    found = [c for c in store.history(dataset, limit=limit) if int(c["version"]) > since]
    return sorted(found, key=lambda c: int(c["version"]))


def _derive(store: Store, dataset: str, commits: list[dict[str, Any]], since: int) -> None:
    """The dataset's derived tables at its data version: for one upload's commit only its
    communities' rows and the city's (the commit names them in `touched`), else whole."""
    if dataset not in ROLLUPS:
        return
    touched = None
    if len(commits) == 1 and commits[0].get("operation") == "MERGE" and commits[0].get("touched"):
        touched = str(commits[0]["touched"]).split(",")
    derived.refresh(store, dataset, touched, since=since if touched else None)


def _entries(store: Store, dataset: str, commits: list[dict[str, Any]], mark: Mark | None) -> None:
    """Every new version's audit entry: the outcome of its intent, or one made from its
    commit; and the outcome of a pending intent that never became a commit."""
    rows = []
    landed = set()
    for commit in commits:
        entry_id = commit.get("intent")
        if entry_id:
            landed.add(entry_id)
            rows.append(audit_log.outcome_row(entry_id, dataset, COMMITTED, commit["version"]))
        else:
            rows.append(audit_log.reconstructed_row(dataset, commit))
    if mark is not None and mark.pending and mark.pending not in landed:
        rows.append(audit_log.outcome_row(mark.pending, dataset, NOT_COMMITTED, None))
    audit_log.append(store, rows)


# -- writes --------------------------------------------------------------------------------
@contextmanager
def writing(
    store: Store,
    dataset: str,
    meta: Mapping[str, str] | None = None,
    *,
    intent: Intent | None = None,
    settle_after: bool = True,
    settle_before: bool = True,
) -> Iterator[dict[str, str]]:
    """Hold the dataset's lock while it is settled, written (the body makes one Delta commit
    with the metadata yielded) and settled again (unless `settle_after` is False: a bulk load
    that settles once at its end; such a load's later chunks pass `settle_before` False too,
    or each chunk would rebuild what follows from the one before).

    With an `intent`, the mark names it as pending and the audit log gets its intent (the
    version it expects to create) before the body runs; the commit's metadata carries its id.
    A failed disk write (ENOSPC, I/O) becomes a StoreError saying whether the data were
    committed; what could be settled is settled, the rest waits for the next recovery.
    """
    commit_meta = dict(meta or {})
    before = -2
    with store.lock(lock_name(dataset)):
        try:
            if settle_before:
                settle(store, dataset)
            before = store.table_version(dataset)
            if intent is not None:
                entry_id = audit_log.new_entry_id()
                _write_mark(store, dataset, Mark(before, entry_id))
                row = audit_log.intent_row(entry_id, dataset, before + 1, intent)
                audit_log.append(store, [row])
                commit_meta["intent"] = entry_id
            yield commit_meta
            if settle_after:
                settle(store, dataset)
        except Exception as exc:
            failure = _failure(store, dataset, before, exc)
            if failure is exc:
                raise
            raise failure from exc


def _failure(store: Store, dataset: str, before: int, exc: Exception) -> Exception:
    """What a failed write raises: a disk error as a StoreError that says whether the data
    were committed (after trying to settle what can be); anything else as it is."""
    try:
        settle(store, dataset)
    except Exception as again:  # the disk may still be full: the next recovery finishes
        log.warning("%s not settled after a failed write: %s", dataset, again)
    if isinstance(exc, StoreError):
        return exc
    failed = storage_error(exc)
    if failed is None:
        return exc
    kind, detail = failed
    now = store.table_version(dataset)
    log.error("write to %s failed (%s): %s", store.tables_dir / dataset, kind, detail)
    if before >= -1 and now > before:
        key = "store_disk_full_committed" if kind == "full" else "store_write_failed_committed"
        return StoreError(key, dataset=dataset, version=now, error=_short(detail))
    key = "store_disk_full" if kind == "full" else "store_write_failed"
    return StoreError(key, path=str(store.tables_dir), error=_short(detail))


def _short(detail: str) -> str:
    return detail if len(detail) <= 200 else detail[:200] + "…"


# -- readers and repair --------------------------------------------------------------------
def ensure(store: Store) -> StoreVersion:
    """Recovery on open, for readers: every dataset's version, with what follows from it in
    place. Cheap while nothing is behind (each dataset's version against its mark). A
    dataset whose data are ahead of its mark is settled under its lock (waiting for a writer
    that is finishing; doing the work of one that died); an intent left open by a dead
    writer is closed when nobody holds the lock. A failed disk write here is logged, not
    raised: the reader then reads the data version, its derived tables computed from the
    records where they are missing."""
    from metrics.store import StoreVersion  # the store imports this module

    versions = []
    for dataset in DATASETS:
        data = store.table_version(dataset)
        versions.append((dataset, data))
        mark = read_mark(store, dataset)
        if _is_settled(mark, data):
            continue
        try:
            if mark is not None and mark.version == data:  # only an intent is open
                with store.try_lock(lock_name(dataset)) as free:
                    if free:
                        settle(store, dataset)
            else:
                with store.lock(lock_name(dataset)):
                    settle(store, dataset)
        except Exception as exc:
            if storage_error(exc) is None:
                raise
            log.error("could not settle %s on open: %s", dataset, exc)
    return StoreVersion(tuple(versions))


def recover(store: Store) -> None:
    """Everything recovery does, for every dataset, whatever the marks say: settle it, bring
    its derived tables up to its data (rebuilding what the catalog now reads differently),
    close every intent left open, and give every version without an audit entry one."""
    with ExitStack() as held:
        for dataset in DATASETS:  # in one order, so two recoveries never wait on each other
            held.enter_context(store.lock(lock_name(dataset)))
        for dataset in DATASETS:
            settle(store, dataset)
            derived.refresh(store, dataset, period_values=False)
        derived.period_table.refresh(store)
        _close_intents(store)


def _close_intents(store: Store) -> None:
    """The outcome of every open intent (its writer is dead: the caller holds every
    dataset's lock), and an entry for every version that has none."""
    rows = audit_log.read(store)
    entries = audit_log.entries_of(rows)
    fresh = []
    for dataset in DATASETS:
        commits = store.history(dataset)
        landed = {str(c["intent"]): int(c["version"]) for c in commits if c.get("intent")}
        for entry_id in audit_log.open_intents(rows, dataset):
            status = COMMITTED if entry_id in landed else NOT_COMMITTED
            fresh.append(audit_log.outcome_row(entry_id, dataset, status, landed.get(entry_id)))
        ours = entries[(entries["dataset"] == dataset) & (entries["status"] == COMMITTED)]
        audited = {int(v) for v in ours["version"].dropna()} | {
            landed[i] for i in audit_log.open_intents(rows, dataset) if i in landed
        }
        # (A commit whose intent row was lost keeps its intent's id: one entry, not two.)
        fresh += [
            audit_log.reconstructed_row(dataset, c)
            | ({"entry_id": c["intent"]} if c.get("intent") else {})
            for c in commits
            if int(c["version"]) not in audited
        ]
    audit_log.append(store, fresh)
