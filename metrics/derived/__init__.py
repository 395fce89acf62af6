"""What the store derives from its datasets, when, and how a connection reads it.

Three kinds of table, each a Delta table of its own under `<store>/_rollups/`, each
computed from the records alone (a cache, never a second source of truth):

- rollups (`rollups.py`): cases and wishes per community and month, the additive measures
  their metrics are made of, and histograms of days for the exact medians;
- city counts (`city_counts.py`): the city's records per month and breakdown value;
- period values (`period_table.py`, rows computed by `metrics/period_values.py`): each
  rollup metric's value per community and standard period, what KPI cards look up.

When: right after every commit to cases or wishes (`Store.replace_all`, `append`,
`upsert`, `rollback` call `refresh`): the dataset's rollups, then its city counts, then
the period values, each in one commit. An upload's refresh rewrites only the communities
it touched and the city; anything else (first build, a replace, a rollback, a refresh
that finds a table not exactly one commit behind) rebuilds the table whole. A bulk load
(`refresh=False`) leaves them behind until `refresh_all` (`python -m metrics refresh`).

Every version of a derived table records the data version it reflects (`REFLECTS`).
`Store.version()` names, per dataset, the newest data version its rollups reflect, and
`attach` puts on a connection exactly the derived versions reflecting that, so a page
never pairs new records with old rollups: should a refresh not happen (a crash between a
commit and its refresh), readers stay on the last reflected version until the next
refresh. Decisions: docs/decisions/0005-scale.md, 0006-period-values.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from metrics.delta import load_sql
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
    """Bring what is derived from `dataset` up to its data (Store.refresh_rollups).

    With `communities` and `since` (the data version before the commit that touched
    them), only those communities' rows and the city's are rewritten, provided the rollups
    reflect exactly `since`; otherwise the rollups are rebuilt whole. `period_values=False`
    leaves the period values for a later `period_table.refresh` (a bulk load).
    """
    if dataset not in ROLLUPS or store.table_version(dataset) < 0:
        return
    with store.lock(f"rollup-{dataset}"):
        reflected = rollups.reflected(store, dataset)
        incremental = (
            communities is not None
            and since is not None
            and reflected == since
            and len(communities) <= rollups.INCREMENTAL_MAX
        )
        target = since + 1 if incremental and since is not None else store.table_version(dataset)
        if reflected is not None and reflected >= target:
            city_counts.refresh(store, dataset, reflected)
            return
        touched = communities if incremental else None
        rollups.build(store, dataset, target, touched)
    city_counts.refresh(store, dataset, target, touched)
    if dataset in PERIOD_DATASETS and period_values:
        period_table.refresh(store, (dataset, target, touched) if touched else None)


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
