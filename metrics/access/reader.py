"""The store a page reads, and `Reader`: every dashboard read, with the principal's scope
applied first, so a page that forgot to hide something still gets nothing it may not show.
"""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pandas as pd

from metrics import catalog, demo, queries
from metrics.access.principals import Principal, scope_for
from metrics.catalog import By, Scope
from metrics.derived import recovery
from metrics.periods import Period
from metrics.store import Store, StoreVersion

Connection = duckdb.DuckDBPyConnection
log = logging.getLogger(__name__)


# -- the store handle ----------------------------------------------------------------------------
def shown_store_dir() -> str:
    """Where the store the app shows is, looked at on every call (a file read): the real
    store of $GOVDASH_DATA_DIR once there is one (`python -m metrics init`), else the demo's."""
    real = Store()
    return str(real.tables_dir if real.kind == "real" else demo.store_at().tables_dir)


def open_store() -> Store:
    """The store the app shows ($GOVDASH_DATA_DIR, default data/): the real store when
    there is one, else the demo store (`demo/`, built now if missing, so a fresh machine
    shows the demo). Recovery runs first, so a reader never waits for a later commit."""
    store = Store()
    if store.kind != "real":
        store = demo.store_at()
        if demo.ensure(store):
            log.info("no store found: built the demo store in %s", store.tables_dir)
    recovery.ensure(store)
    return store


def store_version(store: Store) -> StoreVersion:
    """The version of every table now, with what follows from it in place (recovery on
    open: cheap while nothing is behind); its token names what a page or report read."""
    return recovery.ensure(store)


def is_demo(store: Store) -> bool:
    """Whether `store` is the demo: the badge and the banner say so exactly then."""
    return store.is_demo


def connect(store: Store, token: str) -> Connection:
    """A read connection to the store at the version `token` names (StoreVersion.token)."""
    return store.connect(pinned_version(token))


def pinned_version(token: str) -> StoreVersion:
    """The StoreVersion a StoreVersion.token names."""
    return StoreVersion(tuple((n, int(v)) for n, v in (p.split("@") for p in token.split(","))))


# -- reads, scoped -------------------------------------------------------------------------------
class Reader:
    """Every read a page makes, with the principal's scope applied first. `today`: the day
    the figures are read on (the store's clock, access.clock), which a metric that judges
    by the date (the fulfilment rate's 30 days) needs; default the clock's today."""

    def __init__(self, con: Connection, principal: Principal, today: dt.date | None = None) -> None:
        self.con = con
        self.principal = principal
        self.today = today

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

    def totals(
        self, names: list[str], period: Period, scope: Scope, *, compared: bool = False
    ) -> dict[str, float | None]:
        """`compared`: `period` is one a figure is compared with (环比, 同比), and a metric
        whose data begin after it starts has no value there (catalog.comparable)."""
        return catalog.totals(
            self.con, names, period, self.scope(scope), compared=compared, today=self.today
        )

    def trend(self, names: list[str], period: Period, scope: Scope) -> pd.DataFrame:
        return catalog.trend(self.con, names, period, self.scope(scope), today=self.today)

    def by_unit(
        self,
        names: list[str],
        period: Period,
        units: list[str],
        scope: Scope,
        by: By = "community",
        *,
        compared: bool = False,
    ) -> pd.DataFrame:
        """Per community (or per grid of one community). A clerk gets their own community
        only; the city-wide comparison for clerks is `ranking_scores`, names and scores.
        `compared` as for `totals` (the period a rank change is against)."""
        scoped = self.scope(scope)
        if by == "community" and not self.principal.can("view_city"):
            units = [u for u in units if u == self.principal.community_id]
        return catalog.by_unit(
            self.con, names, period, units, scoped, by, compared=compared, today=self.today
        )

    def records(
        self, dataset: str, scope: Scope, period: Period | None, *, limit: int, offset: int
    ) -> tuple[pd.DataFrame, int]:
        return queries.records(
            self.con, dataset, self.scope(scope), period, limit=limit, offset=offset
        )

    def breakdown(self, dataset: str, column: str, scope: Scope, period: Period) -> pd.DataFrame:
        return queries.breakdown(self.con, dataset, column, self.scope(scope), period)

    def property_league(self, period: Period, scope: Scope) -> pd.DataFrame:
        """The property companies ranked across communities (queries.property_league); a
        clerk's covers the ratings of their own community."""
        return queries.property_league(self.con, period, self.scope(scope))
