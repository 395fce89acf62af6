"""What the store derives from its datasets, when, and how a connection reads it.

Three kinds of table, each a Delta table of its own under `<store>/_rollups/`, each
computed from the records alone (a cache, never a second source of truth):

- rollups (`rollups.py`): cases and wishes per community and month, the additive measures
  their metrics are made of, and histograms of days for the exact medians;
- city counts (`city_counts.py`): the city's records per month and breakdown value;
- period values (`period_table.py`, rows computed by `metrics/period_values.py`): each
  rollup metric's value per community and standard period, what KPI cards look up.

When: after every commit to cases or wishes, as part of bringing everything that follows
from the commit up to it (`recovery.settle`, under the dataset's lock, by the writer or,
should it die, by the next reader or writer): the dataset's rollups, then its city counts,
then the period values, each in one commit. After an upload's commit (one commit, whose
metadata names the communities it touched) only those communities' rows and the city's are
rewritten; anything else (first build, a replace, a rollback, a recovery that finds a table
more than one commit behind) rebuilds the table whole. A bulk load (`refresh=False`) leaves
them behind until `Store.refresh_all` (`python -m metrics refresh`).

Every version of a derived table records the data version it reflects (`REFLECTS`), and
`attach` puts on a connection exactly the derived versions reflecting the data versions it
reads; where there are none (a reader between a commit and its refresh) the rollups are
computed from the records. The audit log (`audit_log.py`) and recovery (`recovery.py`, the
marks, `writing`, `ensure`, `recover`) live here too. Decisions:
docs/decisions/0005-scale.md, 0006-period-values.md, 0008-store-kinds-and-recovery.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from metrics.delta import load_sql, open_table
from metrics.derived import city_counts, period_table, rollups
from metrics.derived.period_table import COVERS, PERIOD_DATASETS, PERIOD_VALUES
from metrics.derived.rollups import REFLECTS, ROLLUPS
from metrics.schemas import DATASETS

if TYPE_CHECKING:
    from metrics.store import Store, StoreVersion

__all__ = [
    "COVERS",
    "PERIOD_DATASETS",
    "PERIOD_VALUES",
    "REFLECTS",
    "ROLLUPS",
    "attach",
    "refresh",
    "refresh_all",
]


def refresh(
    store: Store,
    dataset: str,
    communities: list[str] | None = None,
    *,
    since: int | None = None,
    period_values: bool = True,
) -> None:
    """Bring what is derived from `dataset` up to its data version; each table is left as
    it is when it reflects that version already.

    With `communities` and `since` (the data version before the one commit that touched
    them), a table reflecting exactly `since` gets only those communities' rows and the
    city's rewritten; any other table is rebuilt whole. `period_values=False` leaves the
    period values for a later `period_table.refresh` (a bulk load).
    """
    data = store.table_version(dataset)
    if dataset not in ROLLUPS or data < 0:
        return
    one_commit = since is not None and since + 1 == data
    if not (one_commit and communities and len(communities) <= rollups.INCREMENTAL_MAX):
        communities = None
    with store.lock(f"rollup-{dataset}"):
        reflected = rollups.reflected(store, dataset)
        if reflected != data:
            # Only their rows anew when the rollups reflect the version before and have
            # rows to keep (an empty ledger's rollups have no files to read).
            some = reflected == since and _has_rows(store, dataset)
            rollups.build(store, dataset, data, communities if some else None)
    city_counts.refresh(store, dataset, data, communities)
    if dataset in PERIOD_DATASETS and period_values:
        period_table.refresh(store, (dataset, data, communities) if communities else None)


def _has_rows(store: Store, dataset: str) -> bool:
    tables = [open_table(store.rollup_path(name)) for name in ROLLUPS[dataset]]
    return all(table is not None and table.file_uris() for table in tables)


def refresh_all(store: Store) -> None:
    """Every dataset's derived tables, the period values once at the end (a bulk load)."""
    for dataset in DATASETS:
        refresh(store, dataset, period_values=False)
    period_table.refresh(store)


def attach(
    store: Store,
    con: duckdb.DuckDBPyConnection,
    version: StoreVersion,
    *,
    period_values: bool = True,
    communities: tuple[str, str] | None = None,
    touched: list[str] | None = None,
) -> None:
    """The derived tables reflecting `version` on a connection that has the datasets' views
    and sql/_macros.sql (Store.connect), with the macros that read them."""
    load_sql(con, "_rollups.sql")
    rollups.attach(store, con, version, communities, touched)
    load_sql(con, "_rollup_reads.sql")
    city_counts.attach(store, con, version, communities)
    wanted = period_values and communities is None
    period_table.attach(con, period_table.files_at(store, version) if wanted else None)
