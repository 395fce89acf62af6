"""The store a page reads, and `Reader`: every dashboard read, with the principal's scope
applied first, so a page that forgot to hide something still gets nothing it may not show.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from metrics import catalog, demo, queries
from metrics.access.principals import Principal, scope_for
from metrics.catalog import By, Scope
from metrics.periods import Period
from metrics.store import Store, StoreVersion

Connection = duckdb.DuckDBPyConnection


# -- the store handle ----------------------------------------------------------------------------
def open_store() -> Store:
    """The store at $GOVDASH_DATA_DIR (default data/)."""
    return Store()


def ensure_demo(store: Store) -> str | None:
    """Build the demo store when there is no store at all: where it was built (for the
    log), or None when there was a store."""
    return str(store.tables_dir) if demo.ensure(store) else None


def store_version(store: Store) -> StoreVersion:
    """The version of every table now: its token names what a page or report read."""
    return store.version()


def is_demo(store: Store) -> bool:
    return store.is_demo


def connect(store: Store, token: str) -> Connection:
    """A read connection to the store at the version `token` names (StoreVersion.token)."""
    pinned = StoreVersion(tuple((n, int(v)) for n, v in (p.split("@") for p in token.split(","))))
    return store.connect(pinned)


# -- reads, scoped -------------------------------------------------------------------------------
class Reader:
    """Every read a page makes, with the principal's scope applied first."""

    def __init__(self, con: Connection, principal: Principal) -> None:
        self.con = con
        self.principal = principal

    def scope(self, requested: Scope) -> Scope:
        return scope_for(self.principal, requested)

    def data_months(self) -> tuple[dt.date, dt.date] | None:
        """First and last month with data: the same for every reader (no figures in it)."""
        return queries.data_months(self.con)

    def communities(self) -> pd.DataFrame:
        frame = queries.communities(self.con)
        if self.principal.can("view_city"):
            return frame
        return frame[frame["community_id"] == self.principal.community_id].reset_index(drop=True)

    def grids(self, community_id: str | None) -> pd.DataFrame:
        return queries.grids(self.con, self.scope(Scope(community_id)).community_id)

    def totals(self, names: list[str], period: Period, scope: Scope) -> dict[str, float | None]:
        return catalog.totals(self.con, names, period, self.scope(scope))

    def trend(self, names: list[str], period: Period, scope: Scope) -> pd.DataFrame:
        return catalog.trend(self.con, names, period, self.scope(scope))

    def by_unit(
        self,
        names: list[str],
        period: Period,
        units: list[str],
        scope: Scope,
        by: By = "community",
    ) -> pd.DataFrame:
        """Per community (or per grid of one community). A clerk gets their own community
        only; the city-wide comparison for clerks is `ranking_scores`, names and scores."""
        scoped = self.scope(scope)
        if by == "community" and not self.principal.can("view_city"):
            units = [u for u in units if u == self.principal.community_id]
        return catalog.by_unit(self.con, names, period, units, scoped, by)

    def records(
        self, dataset: str, scope: Scope, period: Period | None, *, limit: int, offset: int
    ) -> tuple[pd.DataFrame, int]:
        return queries.records(
            self.con, dataset, self.scope(scope), period, limit=limit, offset=offset
        )

    def breakdown(self, dataset: str, column: str, scope: Scope, period: Period) -> pd.DataFrame:
        return queries.breakdown(self.con, dataset, column, self.scope(scope), period)
