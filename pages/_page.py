"""A page: its declaration (PageSpec), how a standard page is drawn from one (render), and
how any page runs through app.py (run_page). Where a page author looks first.

Every other shared module is named for what it holds: _text (language, escaping), _cache
(the store and every cached read), _signin, _filters, _cards, _charts, _rankings, _records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from metrics import access
from metrics.periods import Period
from pages import _cache
from pages._cards import kpi_cards
from pages._charts import breakdown_chart, trend_chart
from pages._filters import Filters, filters, language_switch, period_note, scope_label
from pages._map import grid_map
from pages._rankings import ranked, ranking, ranking_chart
from pages._records import records_table
from pages._signin import principal
from pages._text import lang, md_escape, tr

log = logging.getLogger("govdash.ui")


@dataclass(frozen=True)
class PageSpec:
    """A page is its metrics and a few declarations; `chart` draws anything particular."""

    title_key: str
    intro_key: str
    kpis: tuple[str, ...]
    trend: tuple[str, ...]
    ranking: tuple[str, ...]
    rank_by: str
    # Tie-breaks of the ranking, in order; each in its better direction, a neutral metric
    # (the volume behind a rate) more first. Said under the ranking table.
    rank_ties: tuple[str, ...] = ()
    dataset: str | None = None
    with_grid: bool = True
    trend_kind: str = "line"
    chart: Callable[[Filters], None] | None = None  # drawn instead of the trend chart
    breakdowns: tuple[tuple[str, str], ...] = ()  # (column of `dataset`, title key), side by side
    notes: tuple[str, ...] = field(default_factory=tuple)
    sections: tuple[Callable[[Filters], None], ...] = ()  # a page's own, after the ranking


def header(title_key: str, intro_key: str) -> None:
    st.title(tr(title_key))
    st.caption(tr(intro_key))
    demo_badge()


def demo_badge() -> None:
    """演示数据, on every page that shows the demo's figures."""
    if access.is_demo(_cache.get_store()):
        st.badge(tr("demo_badge"), icon=":material/science:", color="orange", help=tr("demo_note"))


def period_line(period: Period, stamp: str | None = None) -> None:
    """Which period the page shows and whether it is closed, and which data: 数据截至 …
    （版本 …）, the same words as the meeting page and its PDF and XLSX for the same data
    (`stamp`: the meeting's own). A period not closed yet is said louder: its ledgers may
    not all be in."""
    note, stamp, closed = period_state(period, stamp)
    if closed:
        st.caption(f"{md_escape(note)}　·　{md_escape(stamp)}")
    else:
        st.warning(md_escape(note), icon="⏳")
        st.caption(md_escape(stamp))


def period_state(period: Period, stamp: str | None = None) -> tuple[str, str, bool]:
    """What period_line says: the period's note, the data stamp, and whether it is closed."""
    store = _cache.get_store()
    token = _cache.version().token
    stamp = stamp or _cache.data_stamp(token, access.targets_version(store), lang())
    closed = access.is_closed(period, _cache.clock(), _cache.current_targets().deadline_day)
    return period_note(period), stamp, closed


def sidebar_chrome() -> None:
    """What every page has in the sidebar besides the filters: language, the app's name."""
    language_switch()
    st.sidebar.markdown(f"**{tr('app_title')}**")
    st.sidebar.caption(tr("app_subtitle"))


def entrypoint_ran() -> None:
    """Called by app.py before it runs the chosen page."""
    st.session_state["_entrypoint_ran"] = True
    st.session_state["_entrypoint_seen"] = True


def leave_legacy_mode() -> None:
    """First thing app.py does (see _through_entrypoint for the why).

    On a cold start Streamlit runs app.py itself in its legacy mode, where widget ids
    change after the first run (a click is lost) and the sidebar lists every file in
    pages/. Leave the mode and, once per session, run again in the normal one.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get("_entrypoint_seen"):
            st.rerun()


def _through_entrypoint() -> None:
    """Make sure app.py (page config, language, navigation) ran before this page.

    Streamlit keeps a legacy mode for apps with a `pages/` folder: until the first
    st.navigation call in the process, a URL such as /cases runs pages/cases.py on its own.
    On such a cold start, leave that mode and run again through app.py. (AppTest resets
    that mode on every run; there we draw app.py's sidebar and carry on, so that a click
    is not lost to a rerun.)
    """
    if st.session_state.pop("_entrypoint_ran", False):
        return
    PagesManager.uses_pages_directory = False
    if not st.session_state.get("_entrypoint_seen"):
        st.rerun()
    sidebar_chrome()


def run_page(body: Callable[[], None], name: str | None = None) -> None:
    """Run a page's body through app.py; any failure is logged and shown as a plain message."""
    _through_entrypoint()
    try:
        body()
    except ScriptControlException:  # st.stop() and st.rerun() are not failures
        raise
    except access.AccessDenied as denied:
        log.warning("denied on %s for %s: %s", name, principal(), denied)
        st.warning(denied.message(lang()))
    except Exception:
        log.exception("page %s failed", name or getattr(body, "__module__", "?"))
        st.error(tr("page_error"))


def render(spec: PageSpec) -> None:
    """Draw a standard page from its spec."""

    def body() -> None:
        with _cache.one_version():
            _draw(spec)

    run_page(body, spec.title_key)


def _draw(spec: PageSpec) -> None:
    header(spec.title_key, spec.intro_key)
    f = filters(with_grid=spec.with_grid)
    st.markdown(f"##### {md_escape(scope_label(f))}")
    period_line(f.period)
    kpi_cards(spec.kpis, f)
    # Side by side (3:2) where there is room, one above the other where not (pages/_style.py).
    charts = st.container(horizontal=True, gap="large")
    with charts.container(key="chart_trend"):
        if spec.chart is not None:
            spec.chart(f)
        else:
            trend_chart(spec.trend, f, kind=spec.trend_kind)
    ranks = ranked(f, spec.rank_by, spec.rank_ties, spec.ranking)  # for chart and table
    with charts.container(key="chart_ranking"):
        ranking_chart(spec.rank_by, f, spec.rank_ties, ranks)
    ranking(
        spec.ranking,
        f,
        sort_by=spec.rank_by,
        key=spec.title_key,
        ties=spec.rank_ties,
        with_grid=spec.with_grid,
        r=ranks,
    )
    grid_map(f, ranks, spec.ranking, spec.rank_by, key=spec.title_key, with_grid=spec.with_grid)
    for note in spec.notes:
        st.caption(tr(note))
    for section in spec.sections:
        section(f)
    if spec.breakdowns and spec.dataset is not None:
        row = st.container(horizontal=True, gap="large")
        for column, title_key in spec.breakdowns:
            with row.container(key=f"breakdown_{column}"):
                breakdown_chart(spec.dataset, column, f, title_key)
    if spec.dataset is not None:
        records_table(spec.dataset, f)
