"""The audit log's table, `_audit`: a Delta side table of the store that rows are only ever
appended to (metrics.access.audit is the door for pages and CLI, with the rights).

Most entries are one row: a sign-in, a refusal, a change of targets or roles. The entry of
a data version (an upload, a rollback, a load) is written around its Delta commit, so that
none is lost whatever is killed when (docs/decisions/0008-store-kinds-and-recovery.md):

- its intent, before the commit: who, what, the file's hash and the version it expects to
  create, under an `entry_id` that the commit's metadata carries too (`intent`);
- its outcome, after it: `committed` with the version, or `not_committed`.

Recovery (recovery.py) writes the outcome of an intent whose writer died, and gives a version
that has no entry at all (a bulk load such as the demo's or `init`'s, a store older than
intents) one entry made from its commit's metadata, under the id `<dataset>@<version>`: the
id an upload or rollback logged after its commit by earlier releases reads as, too. Rows of
one id are one entry (`entries`), so an outcome written twice (a kill between writing it
and recording that it was written) is still one entry.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from metrics import periods

if TYPE_CHECKING:
    from metrics.store import Store

AUDIT_TABLE = "_audit"
SCHEMA = pa.schema(
    [
        ("at", pa.timestamp("ms", tz="UTC")),
        ("user", pa.string()),
        ("role", pa.string()),
        ("community_id", pa.string()),
        ("action", pa.string()),
        ("detail", pa.string()),
        # The entries of data versions only (null for the others):
        ("entry_id", pa.string()),
        ("status", pa.string()),  # intent, committed, not_committed
        ("dataset", pa.string()),
        ("version", pa.int64()),
    ]
)
# What `entries` says of an entry of a data version.
COMMITTED, NOT_COMMITTED, PENDING = "committed", "not_committed", "pending"
# The actions of the entries that a version's commit carries (history's `action` too).
VERSION_ACTIONS = ("upload", "rollback", "load")


@dataclass(frozen=True)
class Actor:
    """Who writes: the user as the history records them, their role and community."""

    user: str
    role: str | None = None
    community_id: str | None = None


@dataclass(frozen=True)
class Intent:
    """What a writer is about to commit, for the entry of the version it creates."""

    actor: Actor
    action: str  # upload, rollback or load
    detail: Mapping[str, Any] = field(default_factory=dict)


def new_entry_id() -> str:
    return uuid.uuid4().hex


def _now() -> dt.datetime:
    return periods.now().astimezone(dt.UTC)


def event_row(actor: Actor, action: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """An entry of one row (a sign-in, a change of targets or roles)."""
    return {
        "at": _now(),
        "user": actor.user,
        "role": actor.role,
        "community_id": actor.community_id,
        "action": action,
        "detail": json.dumps(dict(detail), ensure_ascii=False, default=str),
    }


def intent_row(entry_id: str, dataset: str, version: int, intent: Intent) -> dict[str, Any]:
    """The intent of the commit that is to create `version` of `dataset`."""
    row = event_row(intent.actor, intent.action, {**intent.detail, "expected_version": version})
    return {**row, "entry_id": entry_id, "status": "intent", "dataset": dataset, "version": version}


def outcome_row(entry_id: str, dataset: str, status: str, version: int | None) -> dict[str, Any]:
    """How the intent `entry_id` ended: committed as `version`, or not committed."""
    return {
        "at": _now(),
        "entry_id": entry_id,
        "status": status,
        "dataset": dataset,
        "version": version,
    }


def action_of(commit: Mapping[str, Any]) -> str:
    """What a commit of a dataset's history is: a rollback, an upload (it names the
    uploading community) or a load (a whole-table write such as the demo's or init's)."""
    if commit.get("operation") == "RESTORE" or "rolled_back_to" in commit:
        return "rollback"
    return "upload" if commit.get("community_id") else "load"


def reconstructed_row(dataset: str, commit: Mapping[str, Any]) -> dict[str, Any]:
    """The entry of a version that never had one, from its commit's time and metadata."""
    skip = {"version", "committed_at", "user", "role", "dataset", "intent"}
    detail = {k: v for k, v in commit.items() if k not in skip and not k.startswith("num_")}
    detail["reconstructed"] = True
    return {
        "at": commit["committed_at"],
        "user": commit.get("user") or "",
        "role": commit.get("role"),
        "community_id": commit.get("community_id"),
        "action": action_of(commit),
        "detail": json.dumps(detail, ensure_ascii=False, default=str),
        "entry_id": f"{dataset}@{commit['version']}",
        "status": COMMITTED,
        "dataset": dataset,
        "version": int(commit["version"]),
    }


def append(store: Store, rows: list[dict[str, Any]]) -> None:
    """Append rows to the log in one commit."""
    if rows:
        store.append_rows(AUDIT_TABLE, pa.Table.from_pylist(rows, schema=SCHEMA))


def read(store: Store) -> pd.DataFrame:
    """Every row as written, in SCHEMA's columns (null where an older row lacks one)."""
    table = store.read_rows(AUDIT_TABLE)
    frame = (table if table is not None else SCHEMA.empty_table()).to_pandas()
    for name in SCHEMA.names:
        if name not in frame:
            frame[name] = None
    frame["version"] = frame["version"].astype("Int64")
    out: pd.DataFrame = frame[SCHEMA.names]
    return out


def entries(store: Store) -> pd.DataFrame:
    """The log as entries, newest first: a row of its own for each one-row entry, and one
    row per data version's entry (its intent, or its reconstruction) with its `status`
    (committed, not_committed, pending) and the `version` it created."""
    return entries_of(read(store))


def entries_of(rows: pd.DataFrame) -> pd.DataFrame:
    """`entries` of the rows `read` gave."""
    frame = _with_legacy_ids(rows.copy())
    single = frame[frame["entry_id"].isna()]
    ids = frame[frame["entry_id"].notna()]
    # The entry's own row: its intent, else an upload logged after its commit by an earlier
    # release (status null), else its reconstruction.
    rank = ids["status"].map({"intent": 0, COMMITTED: 2}).fillna(1)
    heads = ids.assign(_rank=rank)[ids["action"].notna()].sort_values(["_rank", "at"])
    heads = heads.drop_duplicates("entry_id").drop(columns="_rank")
    done = ids[ids["status"] == COMMITTED].drop_duplicates("entry_id")
    version = heads["entry_id"].map(done.set_index("entry_id")["version"])
    dropped = set(ids.loc[ids["status"] == NOT_COMMITTED, "entry_id"])
    legacy = heads["status"].isna()
    status = np.where(
        version.notna() | legacy,
        COMMITTED,
        np.where(heads["entry_id"].isin(dropped), NOT_COMMITTED, PENDING),
    )
    # The version an entry created: none for an intent that is pending or came to nothing
    # (the version it expected is in its detail).
    created = version.where(version.notna(), heads["version"].where(legacy))
    heads = heads.assign(status=status, version=created.astype("Int64"))
    out = pd.concat([single, heads], ignore_index=True) if len(heads) else single
    out = out.sort_values("at", ascending=False, kind="stable").reset_index(drop=True)
    out["version"] = out["version"].astype("Int64")
    return out


def _with_legacy_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Uploads and rollbacks logged after their commit (earlier releases: no entry id, the
    dataset and version in the detail) get the id `<dataset>@<version>`."""
    old = frame["entry_id"].isna() & frame["action"].isin(["upload", "rollback"])
    for i in frame.index[old]:
        try:
            detail = json.loads(str(frame.at[i, "detail"] or "{}"))
            dataset, version = str(detail["dataset"]), int(detail["version"])
        except (ValueError, KeyError, TypeError):
            continue
        frame.at[i, "entry_id"] = f"{dataset}@{version}"
        frame.at[i, "dataset"] = dataset
        frame.at[i, "version"] = version
    return frame


def open_intents(frame: pd.DataFrame, dataset: str) -> list[str]:
    """The ids of `dataset`'s intents (rows as `read` gives them) that have no outcome."""
    ours = frame[(frame["dataset"] == dataset) & frame["entry_id"].notna()]
    ended = set(ours.loc[ours["status"].isin([COMMITTED, NOT_COMMITTED]), "entry_id"])
    started = ours.loc[ours["status"] == "intent", "entry_id"]
    return sorted(set(started) - ended)
