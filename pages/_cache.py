"""Everything the pages cache, and the only module that does: the store handle and its
connections, every read (through metrics.access.Reader), the sign-in look-ups, the meeting's
review and an upload's validation.

Results are keyed by the store's version token, so a new upload is seen on the next rerun
without clearing anything by hand. Reads are keyed by the reader too (a Principal hashes as
its key: role, community, user), so a clerk's results are never served to anyone else, and
the Reader scopes them in the data layer anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pandas as pd
import streamlit as st

from metrics import access, periods
from metrics.access import By, Connection, Principal, Review, Scope, Store, StoreVersion
from metrics.periods import Period
from pages._text import lang, tr

log = logging.getLogger("govdash.ui")

_BY_READER: dict[str | type[Any], Callable[[Any], Any]] = {Principal: lambda p: p.key}


# -- the store, once per process and per version -------------------------------------------
def get_store() -> Store:
    """The store shown: the real one once the data directory holds it (looked at on every
    call, a file read, so a store made by `init` while the server runs is picked up), else
    the demo, built on first use. Recovery runs when it is opened (access.open_store)."""
    directory = access.shown_store_dir()
    if _shown.setdefault("directory", directory) != directory:
        # Another store is shown now: nothing read from the one before may be served for
        # it (a new real store and the demo can have equal version tokens).
        log.info("the store shown is now %s", directory)
        st.cache_data.clear()
        _connection_at.clear()
        _shown["directory"] = directory
    return _opened(directory)


_shown: dict[str, str] = {}  # the directory of the store shown last, for this process


@st.cache_resource(show_spinner=False)
def _opened(directory: str) -> Store:
    return access.open_store()


# A standard page reads one version of the store from its first query to its last: looking
# the version up opens every table's log, which a page did about ten times per run.
_pinned: ContextVar[StoreVersion | None] = ContextVar("govdash_pinned_version", default=None)


def version() -> StoreVersion:
    return _pinned.get() or access.store_version(get_store())


# The follow-up items' version, pinned the same way (they change without an upload).
_pinned_items: ContextVar[int | None] = ContextVar("govdash_pinned_items", default=None)


def items_version() -> int:
    pinned = _pinned_items.get()
    return pinned if pinned is not None else access.items_version(get_store())


@contextmanager
def one_version() -> Iterator[None]:
    """Every read inside sees the store's version (and the items') as it was on entry."""
    reset = _pinned.set(access.store_version(get_store()))
    reset_items = _pinned_items.set(access.items_version(get_store()))
    try:
        yield
    finally:
        _pinned_items.reset(reset_items)
        _pinned.reset(reset)


def _connection(token: str) -> Connection:
    # The follow-up items change without an upload (their closure rate is read on the
    # connection): their version keys the connection beside the data's.
    return _connection_at(token, items_version())


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection_at(token: str, items_version: int) -> Connection:
    return access.connect(get_store(), token)


def _reader(token: str, me: Principal, day: str | None = None) -> access.Reader:
    today = dt.date.fromisoformat(day) if day else None
    return access.Reader(_connection(token), me, today)


def _day() -> str:
    """The day figures are read on (the store's clock): in the key of every cached figure,
    as the fulfilment rate judges a wish once its 30 days are over, and so changes at
    midnight without any upload."""
    return clock().date().isoformat()


# -- who is reading ------------------------------------------------------------------------
# How long a server process may go on using a roles document another process has replaced:
# the version look-up is a millisecond, so at most once a second per process.
ROLES_RECHECK_SECONDS = 1


@st.cache_data(show_spinner=False, ttl=ROLES_RECHECK_SECONDS)
def _roles_version() -> tuple[str, int | None]:
    """Which roles document is in force: the shown store's (real or demo), and its version."""
    store = get_store()
    return str(store.tables_dir), access.roles_version(store)


@st.cache_data(show_spinner=False, max_entries=1000)
def _resolve(
    issuer: Any, subject: Any, email: Any, email_verified: Any, roles: tuple[str, int | None]
) -> tuple[Principal | None, str]:
    # `roles` is part of the key (no leading underscore: Streamlit leaves those out).
    claims = {"iss": issuer, "sub": subject, "email": email, "email_verified": email_verified}
    return access.resolve_claims(get_store(), claims)


def resolve(
    issuer: Any, subject: Any, email: Any, email_verified: Any
) -> tuple[Principal | None, str]:
    """Who a sign-in is, and why (access.resolve_claims), per version of the roles
    document: a role given or taken away in any server process counts within a second."""
    return _resolve(issuer, subject, email, email_verified, _roles_version())


def forget_roles() -> None:
    """After a roles edit in this process: look everyone up again on the next run."""
    _roles_version.clear()
    _resolve.clear()


@st.cache_resource(show_spinner=False)
def audited_sign_ins() -> set[str]:
    """The sign-ins already in the audit log, for this server process."""
    return set()


# -- reads, per store version and reader ---------------------------------------------------
def totals(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    gid: str | None,
    *,
    compared: bool = False,
) -> dict[str, float | None]:
    """`compared`: the period a figure is compared with (环比, 同比): "—" before the data."""
    return _totals(token, me, names, period, cid, gid, compared, _day())


@st.cache_data(show_spinner=False, max_entries=2000, hash_funcs=_BY_READER)
def _totals(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    gid: str | None,
    compared: bool,
    day: str,
) -> dict[str, float | None]:
    reader = _reader(token, me, day)
    return reader.totals(list(names), Period.parse(period), Scope(cid, gid), compared=compared)


def by_unit(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    by: By,
    *,
    compared: bool = False,
) -> pd.DataFrame:
    return _by_unit(token, me, names, period, cid, by, compared, _day())


@st.cache_data(show_spinner=False, max_entries=500, hash_funcs=_BY_READER)
def _by_unit(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    by: By,
    compared: bool,
    day: str,
) -> pd.DataFrame:
    # The units follow from (token, me, by, cid), so they are not part of the cache key:
    # hashing 11,000 community ids on every call cost more than the cached read itself.
    units = unit_names(token, me, by, cid)
    return _reader(token, me, day).by_unit(
        list(names), Period.parse(period), list(units), Scope(cid), by, compared=compared
    )


def trend(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    gid: str | None,
) -> pd.DataFrame:
    return _trend(token, me, names, period, cid, gid, _day())


@st.cache_data(show_spinner=False, max_entries=500, hash_funcs=_BY_READER)
def _trend(
    token: str,
    me: Principal,
    names: tuple[str, ...],
    period: str,
    cid: str | None,
    gid: str | None,
    day: str,
) -> pd.DataFrame:
    return _reader(token, me, day).trend(list(names), Period.parse(period), Scope(cid, gid))


@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def property_league(token: str, me: Principal, period: str, cid: str | None) -> pd.DataFrame:
    return _reader(token, me).property_league(Period.parse(period), Scope(cid))


@st.cache_data(show_spinner=False, max_entries=50, hash_funcs=_BY_READER)
def communities(token: str, me: Principal) -> pd.DataFrame:
    return _reader(token, me).communities()


@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def grids(token: str, me: Principal, cid: str | None) -> pd.DataFrame:
    return _reader(token, me).grids(cid)


@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def unit_names(token: str, me: Principal, by: str, cid: str | None) -> dict[str, str]:
    """{id: name} of the communities, or of the grids of community `cid` (by == "grid")."""
    if by == "grid":
        frame = grids(token, me, cid)
        return dict(zip(frame["grid_id"], frame["name"], strict=True))
    frame = communities(token, me)
    return dict(zip(frame["community_id"], frame["name"], strict=True))


@st.cache_data(show_spinner=False, max_entries=50)
def data_months(token: str, _me: Principal) -> tuple[dt.date, dt.date] | None:
    # The same months for every reader: the key is the version alone.
    return _reader(token, _me).data_months()


@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def breakdown(
    token: str,
    me: Principal,
    dataset: str,
    column: str,
    period: str,
    cid: str | None,
    gid: str | None,
) -> pd.DataFrame:
    return _reader(token, me).breakdown(dataset, column, Scope(cid, gid), Period.parse(period))


@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def records(
    token: str,
    me: Principal,
    dataset: str,
    period: str,
    cid: str | None,
    gid: str | None,
    offset: int,
    limit: int,
) -> tuple[pd.DataFrame, int]:
    return _reader(token, me).records(
        dataset, Scope(cid, gid), Period.parse(period), limit=limit, offset=offset
    )


@st.cache_data(show_spinner=False, max_entries=20)
def _targets(version: int | None) -> access.Targets:
    return access.load_targets(get_store(), version)


def current_targets() -> access.Targets:
    """The targets in force (an administrator's latest edit, else the shipped defaults)."""
    return _targets(access.targets_version(get_store()))


# -- the review meeting --------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=50)
def _review(
    token: str,
    view: str,
    targets_version: int | None,
    period: str,
    language: str,
    today: str,
    _me: Principal,
    items_version: int = -1,
) -> Review:
    # What a principal may see of the review is decided in metrics (access.meeting_review):
    # the whole review for readers of the city, the league's names and scores for clerks.
    # `view` says which, so leaders share one cached review instead of one each.
    # `today` (local date) is in the key because a ledger not in by its deadline turns
    # from 未到期 into 缺报 at midnight without any new upload.
    return access.meeting_review(get_store(), Period.parse(period), _me, language)


def meeting_review(period: Period, me: Principal) -> Review:
    """The review of `period` as `me` may see it, at the store's current version."""
    view = "city" if me.can("view_city") else "league"  # the page checked the league setting
    targets_version = access.targets_version(get_store())
    today = clock().date().isoformat()
    items = items_version()  # the carried items change between uploads
    return _review(version().token, view, targets_version, period.code, lang(), today, me, items)


# -- deadlines and the data stamp (metrics.deadlines, review.stamp) ---------------------------
def clock() -> dt.datetime:
    """The moment the store is read at: now, or the demo's own day (access.clock)."""
    return access.clock(get_store())


@st.cache_data(show_spinner=False, max_entries=50)
def data_stamp(token: str, targets_version: int | None, language: str) -> str:
    """数据截至 … （版本 …） of a data version and the targets in force (`targets_version`
    keys the cache only): the same words as the meeting page, PDF and XLSX."""
    return access.data_stamp(get_store(), token, language)


@st.cache_data(show_spinner=False, max_entries=200)
def unreported(token: str, period: str) -> dict[str, frozenset[str]]:
    """Ledger -> the communities that sent nothing of it for `period` (access.unreported)."""
    return access.unreported(get_store(), token, Period.parse(period))


# -- early warnings (预警) --------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=20)
def _warnings(token: str, targets_version: int | None, day: str) -> list[access.Warning]:
    # The same for everybody; `day` is in the key as a wish's age and a ledger's deadline
    # move with the date, without any upload.
    return access.all_warnings(get_store(), token)


def warnings(me: Principal) -> list[access.Warning]:
    """The warnings `me` may see, from the current data as of today (access.all_warnings,
    evaluated once per data version, targets version and day, then filtered per reader)."""
    found = _warnings(version().token, access.targets_version(get_store()), _day())
    return access.visible_warnings(found, me)


# -- an upload's validation ----------------------------------------------------------------
# Ticking a box on the upload page reruns it: without this, a large file was checked again
# each time (2.5–3.4 s for a million rows). The Validation is kept as it is, not copied
# (cache_resource: pickling a large one would cost a good part of that again); nothing
# changes it after validation. Per session, as it is one clerk's file.
@st.cache_resource(show_spinner=False, max_entries=4, scope="session", hash_funcs=_BY_READER)
def _validation(
    sha256: str,
    file_name: str,
    dataset: str,
    community: str,
    period: str | None,
    sheet: str | None,
    today: str,
    token: str,
    me: Principal,
    language: str,
    _data: bytes,
) -> access.Validation:
    # The bar is drawn in here so that a cached result replays it, and ends empty.
    bar = st.progress(0.0, text=tr("upload_checking"))

    def progress(fraction: float, _message: str) -> None:
        bar.progress(min(fraction, 1.0), tr("upload_checking"))

    result = access.validate_upload(
        get_store(),
        _data,
        file_name,
        dataset,
        community,
        me,
        period=Period.parse(period) if period else None,
        sheet=sheet,
        today=dt.date.fromisoformat(today),
        progress=progress,
    )
    bar.empty()
    return result


def validated_upload(
    data: bytes,
    file_name: str,
    dataset: str,
    community: str,
    me: Principal,
    *,
    period: Period | None,
    sheet: str | None,
) -> access.Validation:
    """Every problem of an uploaded file, checked once per file (its sha256) and inputs,
    and again for a new store version (registered communities, ids taken elsewhere)."""
    return _validation(
        hashlib.sha256(data).hexdigest(),
        file_name,
        dataset,
        community,
        period.code if period else None,
        sheet,
        periods.today().isoformat(),
        version().token,
        me,
        lang(),
        data,
    )


# -- the grid map (pages/_map.py): shapes keyed by the boundaries' version -------------------
@st.cache_data(show_spinner=False, max_entries=200, hash_funcs=_BY_READER)
def _map_shapes(
    boundaries: int | None,
    directory: str,
    me: Principal,
    unit: str,
    cid: str | None,
    unit_ids: tuple[str, ...],
) -> access.MapShapes:
    return access.map_shapes(get_store(), me, unit, cid, unit_ids)


def map_shapes(
    me: Principal, unit: str, cid: str | None, unit_ids: tuple[str, ...]
) -> access.MapShapes:
    """The shapes a map draws, read again when a community uploads new boundaries (and for
    the demo's schematic ones, which are keyed by the store shown)."""
    store = get_store()
    version = access.boundaries_version(store)
    return _map_shapes(version, str(store.tables_dir), me, unit, cid, unit_ids)
