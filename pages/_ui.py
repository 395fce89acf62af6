"""What every page shares: the cached calls into metrics/, the filters, and the widgets
that draw KPI cards, rankings, trends and record tables. Not a page itself.

Caching lives here only. Results are keyed by the store's version token, so a new upload
is seen on the next rerun without clearing anything by hand.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from metrics import access, catalog, demo, periods, queries, targets
from metrics.access import Principal
from metrics.catalog import Scope
from metrics.export import to_csv_bytes, to_xlsx_bytes
from metrics.i18n import delta, fmt_delta, fmt_number, name_label, t, value_label
from metrics.periods import KINDS, Period, add_months, periods_between
from metrics.schemas import DATASETS
from metrics.store import Store, StoreVersion

log = logging.getLogger("govdash.ui")

ALL = "__all__"  # the "whole city" / "all grids" choice in the filters
PALETTE = ["#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"]


# -- text from data is shown as text ----------------------------------------------------
# Names and other values come from uploads. In Markdown they must not become links,
# images, colour directives or HTML; in Plotly labels, not tags.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """`text` for st.markdown, every character that means something escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def plot_text(text: str) -> str:
    """`text` for a Plotly label: Plotly reads <b>, <a href> and the like as markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- language ----------------------------------------------------------------------------
def lang() -> str:
    value = st.session_state.get("lang")
    return value if value in ("zh", "en") else "zh"


def tr(key: str, **values: Any) -> str:
    return t(key, lang(), **values)


# The filters' choices, kept apart from the widgets: Streamlit forgets a widget's state
# when a page that does not draw it runs, so without this copy every switch of page through
# the sidebar would start again at the whole city and the latest month.
_KEPT = "_kept_choices"


def kept_choices() -> dict[str, Any]:
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT, {})
    return kept


def _from_url(key: str, options: Sequence[str], param: str) -> None:
    """Start a widget at the choice in the URL (?param=value) if it is a valid one, else at
    the choice last made on any page (kept_choices), else at the first option."""
    chosen = st.session_state.get(key)
    if chosen not in options:
        wanted = st.query_params.get(param)
        kept = kept_choices().get(key)
        chosen = wanted if wanted in options else kept if kept in options else options[0]
    # Set even when unchanged: a widget of the same key on another page is another widget,
    # and takes the choice up only from a value set before it is drawn.
    st.session_state[key] = chosen


def _to_url(param: str, value: str, default: str) -> None:
    """Keep a choice in the URL so a link or a reload opens the same view."""
    if value != default:
        st.query_params[param] = value
    elif param in st.query_params:
        del st.query_params[param]


def language_switch() -> None:
    """Chinese first; English one click away, kept in the URL as ?lang=en."""
    _from_url("lang", ["zh", "en"], "lang")
    st.sidebar.segmented_control(
        "语言 / Language",
        options=["zh", "en"],
        format_func=lambda v: "中文" if v == "zh" else "English",
        key="lang",
        required=True,
    )
    _to_url("lang", lang(), "zh")


def url_choice(
    label: str, options: Sequence[str], *, key: str, param: str, format_func: Callable[[str], str]
) -> str:
    """A sidebar select box whose choice is kept in the URL; the first option is the default."""
    _from_url(key, options, param)
    value = st.sidebar.selectbox(label, options, format_func=format_func, key=key)
    kept_choices()[key] = value
    _to_url(param, value, options[0])
    return str(value)


# -- the store, cached once per process and per version ----------------------------------
@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    store = Store()
    if demo.ensure(store):
        log.info("no store found: built the demo store in %s", store.tables_dir)
    return store


# A standard page reads one version of the store from its first query to its last: looking
# the version up opens every table's log, which a page did about ten times per run.
_pinned: ContextVar[StoreVersion | None] = ContextVar("govdash_pinned_version", default=None)


def version() -> StoreVersion:
    return _pinned.get() or get_store().version()


@contextmanager
def one_version() -> Iterator[None]:
    """Every read inside sees the store's version as it was on entry."""
    reset = _pinned.set(get_store().version())
    try:
        yield
    finally:
        _pinned.reset(reset)


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(token: str) -> Any:
    store = get_store()
    pinned = StoreVersion(tuple((n, int(v)) for n, v in (p.split("@") for p in token.split(","))))
    return store.connect(pinned)


def con() -> Any:
    return _connection(version().token)


# -- who is reading ----------------------------------------------------------------------
DEMO_VIEWER = Principal("demo", "leader", name="演示 / demo")
LOCAL_ADMIN = Principal("local", "admin", name="本机 / local")


def auth_configured() -> bool:
    """Sign-in is on when .streamlit/secrets.toml has an [auth] section (OIDC)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def local_mode() -> bool:
    """Single-user local mode: every right, no sign-in. Off unless switched on explicitly,
    and only for a server that listens on this machine alone."""
    if os.environ.get("GOVDASH_LOCAL_MODE", "").strip().lower() not in ("1", "true", "yes"):
        return False
    if st.get_option("server.address") not in LOOPBACK:
        log.warning("GOVDASH_LOCAL_MODE ignored: server.address is not a loopback address")
        return False
    return True


@st.cache_data(show_spinner=False, ttl=30, max_entries=1000)
def _resolve(email: str | None, subject: str | None) -> Principal | None:
    return access.resolve(get_store(), email, subject)


def clear_access_cache() -> None:
    """After a roles edit: the next run resolves everyone again."""
    _resolve.clear()


def principal() -> Principal | None:
    """The signed-in user's role and community; None when not signed in or not known, and
    in demo mode when the store holds real data (demo mode shows demo data only)."""
    if auth_configured():
        if not st.user.is_logged_in:
            return None
        return _resolve(_email(), _claim("sub"))
    if local_mode():
        return LOCAL_ADMIN
    return DEMO_VIEWER if get_store().is_demo else None


def _claim(name: str) -> str | None:
    value = st.user.get(name)
    return str(value) if value else None


def _email() -> str | None:
    """The e-mail claim, unless the provider says it is not verified: a self-chosen address
    must not match somebody's entry in the roles list."""
    return None if st.user.get("email_verified") is False else _claim("email")


@st.cache_resource(show_spinner=False)
def _audited_sign_ins() -> set[str]:
    return set()


def _sign_in_once(record: Callable[[str], None]) -> None:
    """Call `record(sign_in_id)` once per sign-in (ID token), not once per browser tab or
    reload: a sign-in is the token's subject and issue time."""
    sign_in = hashlib.sha256(f"{_claim('sub')}|{_claim('iat')}".encode()).hexdigest()[:16]
    seen = _audited_sign_ins()
    if sign_in not in seen:
        seen.add(sign_in)
        record(sign_in)


def who() -> Principal:
    """The current principal; pages run only after app.py's gate let someone in."""
    current = principal()
    if current is None:
        raise access.AccessDenied("access_denied_action", action="view")
    return current


def signin_page() -> None:
    """Drawn instead of every page when nobody may read: the sign-in, a polite refusal, or
    (no sign-in configured and real data in the store) what the operator has to do."""
    if not auth_configured():
        st.title(tr("setup_title"))
        st.write(tr("setup_text"))
        log.warning("no [auth] configured and the store holds real data: nothing shown")
        return
    if not st.user.is_logged_in:
        st.title(tr("login_title"))
        st.write(tr("login_text"))
        if st.button(tr("login_button"), type="primary", key="login"):
            st.login()
        return
    st.title(tr("denied_title"))
    user = _email() or _claim("sub") or "?"
    st.text(tr("denied_text", user=user))
    if st.button(tr("logout_button"), key="logout_denied"):
        st.logout()
    _sign_in_once(lambda sign_in: access.audit_refused(get_store(), user, sign_in=sign_in))
    log.warning("unknown user refused: %s", user)


def mode_banner(current: Principal) -> None:
    """Who is reading, in the sidebar; each sign-in is recorded once in the audit log."""
    if auth_configured():
        _sign_in_once(lambda sign_in: access.audit(get_store(), current, "login", sign_in=sign_in))
        name = md_escape(current.name or current.user)  # from the roles list: text only
        st.sidebar.caption(tr("signed_in_as", name=name, role=tr(f"role_{current.role}")))
        if st.sidebar.button(tr("logout_button"), key="logout"):
            st.logout()
    elif current is DEMO_VIEWER:
        st.sidebar.info(tr("demo_mode"))
    else:
        st.sidebar.warning(tr("local_mode"))


def _reader(token: str) -> access.Reader:
    return access.Reader(_connection(token), who())


# Cached reads: the principal's key is part of every cache key, so a clerk's results are
# never served to anyone else (and the Reader scopes them in the data layer anyway).
@st.cache_data(show_spinner=False, max_entries=2000)
def _totals(  # type: ignore[no-untyped-def]
    token: str, pkey: str, names: tuple[str, ...], period: str, cid: str | None, gid: str | None
):
    return _reader(token).totals(list(names), Period.parse(period), Scope(cid, gid))


@st.cache_data(show_spinner=False, max_entries=500)
def _by_unit(  # type: ignore[no-untyped-def]
    token: str, pkey: str, names: tuple[str, ...], period: str, cid: str | None, by: str
):
    # The units follow from (token, pkey, by, cid), so they are not part of the cache key:
    # hashing 11,000 community ids on every call cost more than the cached read itself.
    units = _unit_names(token, pkey, by, cid)
    return _reader(token).by_unit(
        list(names),
        Period.parse(period),
        list(units),
        Scope(cid),
        by,  # type: ignore[arg-type]
    )


@st.cache_data(show_spinner=False, max_entries=500)
def _trend(  # type: ignore[no-untyped-def]
    token: str, pkey: str, names: tuple[str, ...], period: str, cid: str | None, gid: str | None
):
    return _reader(token).trend(list(names), Period.parse(period), Scope(cid, gid))


@st.cache_data(show_spinner=False, max_entries=50)
def _communities(token: str, pkey: str) -> pd.DataFrame:
    return _reader(token).communities()


@st.cache_data(show_spinner=False, max_entries=200)
def _grids(token: str, pkey: str, cid: str | None) -> pd.DataFrame:
    return _reader(token).grids(cid)


@st.cache_data(show_spinner=False, max_entries=200)
def _unit_names(token: str, pkey: str, by: str, cid: str | None) -> dict[str, str]:
    """{id: name} of the communities, or of the grids of community `cid` (by == "grid")."""
    if by == "grid":
        frame = _grids(token, pkey, cid)
        return dict(zip(frame["grid_id"], frame["name"], strict=True))
    frame = _communities(token, pkey)
    return dict(zip(frame["community_id"], frame["name"], strict=True))


@st.cache_data(show_spinner=False, max_entries=50)
def _data_months(token: str) -> tuple[Any, Any] | None:
    return queries.data_months(_connection(token))


@st.cache_data(show_spinner=False, max_entries=200)
def _breakdown(  # type: ignore[no-untyped-def]
    token: str, pkey: str, dataset: str, column: str, period: str, cid: str | None, gid: str | None
):
    return _reader(token).breakdown(dataset, column, Scope(cid, gid), Period.parse(period))


@st.cache_data(show_spinner=False, max_entries=20)
def _targets(version: int | None) -> targets.Targets:
    return targets.load(get_store(), version)


def current_targets() -> targets.Targets:
    """The targets in force (an administrator's latest edit, else the shipped defaults)."""
    return _targets(targets.current_version(get_store()))


# -- filters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    period: Period
    scope: Scope
    community_name: str | None
    grid_name: str | None


def unit_names(by: str, cid: str | None = None) -> dict[str, str]:
    """{id: name} of the communities (or of community `cid`'s grids) as the reader sees
    them: in English the demo's "（示例）" mark reads "(example)"."""
    language = lang()
    names = _unit_names(version().token, who().key, by, cid)
    return {k: name_label(v, language) for k, v in names.items()}


def community_names() -> dict[str, str]:
    return unit_names("community")


def period_filter(kinds: Sequence[str] = KINDS) -> Period:
    """Period type and period in the sidebar, kept in the URL; the latest period first."""
    span = _data_months(version().token)
    kind = url_choice(
        tr("period_kind"),
        list(kinds),
        key="kind",
        param="kind",
        format_func=lambda k: tr(f"kind_{k}"),
    )
    if span is None:
        st.info(tr("empty_store"))
        st.stop()
    first, last = span
    if kind == "range":
        months = [
            add_months(first, i)
            for i in range((last.year - first.year) * 12 + last.month - first.month + 1)
        ]
        labels = {
            m.strftime("%Y-%m"): Period.parse(m.strftime("%Y-%m")).label(lang()) for m in months
        }
        codes = list(labels)
        chosen = st.session_state.get("range")
        if not (isinstance(chosen, tuple) and set(chosen) <= set(codes)):
            # As for the other filters: the URL's range (?period=2025-01..2025-06), else
            # the one last chosen, else the last twelve months.
            wanted = str(st.query_params.get("period", "")).split("..")
            kept = kept_choices().get("range")
            st.session_state["range"] = (
                tuple(wanted)
                if len(wanted) == 2 and set(wanted) <= set(codes)
                else kept
                if isinstance(kept, tuple) and set(kept) <= set(codes)
                else (codes[max(0, len(codes) - 12)], codes[-1])
            )
        else:
            st.session_state["range"] = chosen  # for the widget of another page (_from_url)
        start, end = st.sidebar.select_slider(
            tr("period_range"),
            options=codes,
            format_func=lambda c: labels[c],
            key="range",
        )
        kept_choices()["range"] = (start, end)
        st.query_params["period"] = f"{start}..{end}"
        return Period.parse(f"{start}..{end}")
    options = [p.code for p in periods_between(first, last, kind)]  # type: ignore[arg-type]
    code = url_choice(
        tr("period"),
        options,
        key=f"period_{kind}",
        param="period",
        format_func=lambda c: Period.parse(c).label(lang()),
    )
    return Period.parse(code or options[0])


def filters(with_grid: bool = True) -> Filters:
    """The sidebar: period type and period, community, and grid where the data has one."""
    st.sidebar.markdown(f"**{tr('filters')}**")
    period = period_filter()
    names = community_names()
    # A clerk's only choice is their own community (the Reader enforces it anyway).
    choices = [ALL, *names] if who().can("view_city") else list(names)
    cid = url_choice(
        tr("community"),
        choices,
        key="community",
        param="community",
        format_func=lambda c: tr("whole_city") if c == ALL else names.get(c, c),
    )
    community = None if cid in (None, ALL) else cid
    grid = None
    grid_name = None
    if not (with_grid and community is not None) and "grid" in st.query_params:
        del st.query_params["grid"]
    if with_grid and community is not None:
        grid_names = unit_names("grid", community)
        gid = url_choice(
            tr("grid"),
            [ALL, *grid_names],
            key=f"grid_{community}",
            param="grid",
            format_func=lambda g: tr("all_grids") if g == ALL else grid_names.get(g, g),
        )
        if gid not in (None, ALL):
            grid, grid_name = gid, grid_names.get(gid)
    return Filters(
        period, Scope(community, grid), names.get(community) if community else None, grid_name
    )


def place_label(f: Filters) -> str:
    """Where the figures are from: the city, a community, or a community · grid."""
    parts = [f.community_name or tr("whole_city")]
    if f.grid_name:
        parts.append(f.grid_name)
    return " · ".join(parts)


def scope_label(f: Filters) -> str:
    return place_label(f) + " · " + f.period.label(lang())


def month_label(day: Any) -> str:
    """A month as the reader writes it: 2024年1月 / Jan 2024."""
    return Period.parse(f"{day.year}-{day.month:02d}").label(lang())


# -- drawing -----------------------------------------------------------------------------
def header(title_key: str, intro_key: str) -> None:
    st.title(tr(title_key))
    st.caption(tr(intro_key))
    if get_store().is_demo:
        st.badge(tr("demo_badge"), icon=":material/science:", color="orange", help=tr("demo_note"))


def metric_label(name: str) -> str:
    return catalog.metric(name).text("label", lang())


def metric_value(name: str, value: float | None) -> str:
    m = catalog.metric(name)
    unit = m.text("unit", lang())
    text = fmt_number(value, m.format, lang())
    if value is None or not unit or m.format == "pct":
        return text
    if lang() == "zh":
        return f"{text}{unit}"
    # English units are long ("households", "per 10,000") and the label already says what
    # is counted, so an English card shows the number alone and cannot be cut short.
    return text


# Cards and charts that wrap on a narrow screen (a laptop at 800 px with the sidebar open
# leaves the page about 470 px): st.columns keeps four cards a row however narrow, and cuts
# their figures short. Each keyed container (class st-key-<key>) sits in a layout wrapper,
# the item of a wrapping horizontal container: a card is at least 13.5rem wide (room for
# "18.3人/万人"; two a row at 800 px) and at most a quarter of the row, its title wrapping
# rather than cut short; the trend and the ranking chart share a row 3:2 where both fit.
_ITEM = '[data-testid="stLayoutWrapper"]:has(> {})'
LAYOUT_CSS = f"""
{_ITEM.format('[class*="st-key-kpi_"]')} {{
    flex: 1 1 13.5rem; min-width: 13.5rem; max-width: calc((100% - 3rem) / 4);
}}
{_ITEM.format(".st-key-chart_trend")} {{ flex: 3 1 22rem; min-width: min(22rem, 100%); }}
{_ITEM.format(".st-key-chart_ranking")} {{ flex: 2 1 18rem; min-width: min(18rem, 100%); }}
{_ITEM.format('[class*="st-key-breakdown_"]')} {{ flex: 1 1 18rem; min-width: min(18rem, 100%); }}
[class*="st-key-kpi_"] [data-testid="stMetricLabel"] * {{
    white-space: normal; overflow: visible; text-overflow: clip;
}}
"""
REGISTRY_DATASETS = ("communities", "grids")  # undated: the registry as it stands
DELTA_COLOURS = {"up": "normal", "down": "inverse"}  # so that better is always green
# st.metric's own colours for a rise, a fall and "no colour", used by the sparklines too.
SPARK_COLOURS = {"good": "#079464", "bad": "#d94a57", "off": "#6b7280"}
SPARK_HEIGHT = 56  # px, as st.metric draws its chart


def sparkline(values: Sequence[float], tips: Sequence[str], *, bars: bool, colour: str) -> str:
    """A small chart of `values` for st.html: an SVG image, `tips` (one line a point) as its
    tooltip and alternative text.

    st.metric can draw this itself (chart_data), but does it with Vega-Lite: the browser then
    loads and runs Vega beside Plotly, and on the overview its eight small charts cost about
    0.3 s of a fresh page load on two cores. An image of a few SVG shapes costs next to
    nothing. (An <img>, because st.html keeps HTML only and drops inline <svg>.)
    """
    n = len(values)
    slot, h, pad = 10.0, float(SPARK_HEIGHT), 4.0
    low, high = min(values), max(values)
    if bars:
        low = min(low, 0.0)
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return round(h - pad - (v - low) / span * (h - 2 * pad), 2)

    if bars:
        base = y(max(low, 0.0))
        marks = "".join(
            f'<rect x="{i * slot + 2}" y="{min(y(v), base - 1)}" width="{slot - 4}" '
            f'height="{max(abs(base - y(v)), 1)}" rx="1"/>'
            for i, v in enumerate(values)
        )
        drawn = f'<g fill="{colour}">{marks}</g>'
    else:
        points = " ".join(f"{i * slot + slot / 2},{y(v)}" for i, v in enumerate(values))
        drawn = (
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
            'stroke-linecap="round" stroke-linejoin="round" vector-effect="non-scaling-stroke"/>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n * slot} {h}" '
        f'preserveAspectRatio="none">{drawn}</svg>'
    )
    text = html.escape("\n".join(tips), quote=True)
    source = base64.b64encode(svg.encode()).decode()
    return (
        f'<img src="data:image/svg+xml;base64,{source}" alt="{text}" title="{text}" '
        f'style="display:block;width:100%;height:{SPARK_HEIGHT}px">'
    )


def _spark_colour(change: float | None, delta_color: str) -> str:
    """The colour st.metric would give the chart: that of the delta."""
    if not change or delta_color == "off":
        return SPARK_COLOURS["off"]
    good = change > 0 if delta_color == "normal" else change < 0
    return SPARK_COLOURS["good" if good else "bad"]


def compared(names: Sequence[str], f: Filters) -> dict[str, tuple[Period, Period]]:
    """Per metric, the periods its figure is compared with: (环比, 同比)."""
    return {n: queries.compared_periods(catalog.metric(n).dataset, f.period) for n in names}


def _totals_in(periods: dict[str, Period], f: Filters, token: str) -> dict[str, float | None]:
    """Each metric's total for its own period (metrics differ in what they compare with)."""
    out: dict[str, float | None] = {}
    wanted: dict[str, list[str]] = {}
    for name, period in periods.items():
        wanted.setdefault(period.code, []).append(name)
    for code, group in wanted.items():
        cid, gid = f.scope.community_id, f.scope.grid_id
        out.update(_totals(token, who().key, tuple(group), code, cid, gid))
    return out


def change_label(key: str, period: Period, other: Period) -> str:
    """环比 / 同比, said as what it is when the comparison is not with a period of the same
    kind: a month of quarterly ratings is compared with the previous quarter."""
    if other.kind == "quarter" and period.kind != "quarter":
        return tr(f"{key}_quarter")
    return tr(key)


def kpi_cards(names: Sequence[str], f: Filters, per_row: int = 4) -> dict[str, float | None]:
    """KPI cards: value for the period, 环比 as the delta, 同比 and the meaning in the help.

    A share's change is in percentage points and mean stars' in stars (i18n.fmt_delta)."""
    token = version().token
    cid, gid = f.scope.community_id, f.scope.grid_id
    language = lang()
    now = _totals(token, who().key, tuple(names), f.period.code, cid, gid)
    against = compared(names, f)
    prev = _totals_in({n: p for n, (p, _) in against.items()}, f, token)
    ago = _totals_in({n: a for n, (_, a) in against.items()}, f, token)
    tg = current_targets()
    # The last 12 months as a sparkline in each monthly card.
    spark = None
    if f.period.kind == "month":
        last_year = Period.span(add_months(f.period.start, -11), f.period.end)
        spark = _trend(token, who().key, tuple(names), last_year.code, cid, gid)
    for start in range(0, len(names), per_row):
        # A row that wraps (LAYOUT_CSS): two cards a row on a narrow screen, not four cut short.
        row = st.container(horizontal=True, gap="small")
        for name in names[start : start + per_row]:
            col = row.container(key=f"kpi_{name}")
            m = catalog.metric(name)
            mom = delta(m.format, now[name], prev[name])
            card_delta = fmt_delta(m.format, now[name], prev[name], language, minus="-")
            if card_delta.startswith("±"):  # no change as far as the figure shows
                mom = 0.0
            elif mom is None and prev[name] == 0 and now[name]:  # up from nothing: no %
                card_delta = tr("delta_from_zero")
            state = targets.status(name, now[name], tg)
            cue = f"{targets.cue(state, language)} · " if state else ""
            if m.dataset in REGISTRY_DATASETS:
                # The registry is as it stands, not dated: no change or sparkline to show.
                col.metric(
                    metric_label(name),
                    metric_value(name, now[name]),
                    help=m.text("description", language),
                    border=True,
                )
                col.caption(cue.removesuffix(" · ") or tr("registry_current"))
                continue
            mom_label = change_label("mom", f.period, against[name][0])
            yoy_label = change_label("yoy", f.period, against[name][1])
            yoy_text = fmt_delta(m.format, now[name], ago[name], language)
            help_text = "\n\n".join(
                [
                    m.text("description", language),
                    tr(
                        "change_help",
                        what=mom_label,
                        change=fmt_delta(m.format, now[name], prev[name], language),
                        value=metric_value(name, prev[name]),
                    ),
                    tr(
                        "change_help",
                        what=yoy_label,
                        change=yoy_text,
                        value=metric_value(name, ago[name]),
                    ),
                ]
            )
            delta_color = "off" if not mom else DELTA_COLOURS.get(m.direction, "off")
            card = col.container(border=True) if spark is not None else col
            card.metric(
                metric_label(name),
                metric_value(name, now[name]),
                delta=None if card_delta == "—" else card_delta,
                delta_color=delta_color,
                delta_arrow="off" if mom == 0 else "auto",
                delta_description=mom_label,
                help=help_text,
                border=spark is None,
            )
            if spark is not None:
                values = spark[name].fillna(0).tolist()
                tips = [
                    f"{month_label(d)}: {metric_value(name, None if pd.isna(v) else v)}"
                    for d, v in zip(spark.index, spark[name].tolist(), strict=True)
                ]
                card.html(
                    sparkline(values, tips, bars=m.additive, colour=_spark_colour(mom, delta_color))
                )
            col.caption(f"{cue}{yoy_label} {yoy_text}")
    return now


def trend_chart(names: Sequence[str], f: Filters, *, kind: str = "line", months: int = 24) -> None:
    """Monthly totals for the scope over the period, or the trailing `months` if longer."""
    start = min(f.period.start, add_months(f.period.start, -(months - f.period.months)))
    window = Period.span(start, f.period.end)
    frame = _trend(
        version().token, who().key, tuple(names), window.code, f.scope.community_id, f.scope.grid_id
    )
    fig = go.Figure()
    x = [month_label(d) for d in frame.index]
    for i, name in enumerate(names):
        trace_kw = {
            "name": metric_label(name),
            "x": x,
            "y": frame[name],
            "marker_color": PALETTE[i % len(PALETTE)],
        }
        fig.add_trace(
            go.Bar(**trace_kw) if kind == "bar" else go.Scatter(mode="lines+markers", **trace_kw)
        )
    fig.add_vrect(
        x0=month_label(f.period.start),
        x1=month_label(f.period.end),
        fillcolor="#b71c1c",
        opacity=0.07,
        line_width=0,
    )
    style(fig, tr("trend_title", scope=place_label(f)))
    fig.update_xaxes(title_text=tr("month"), type="category", tickangle=-45, nticks=12)
    units = {metric_unit_title(n) for n in names}
    fig.update_yaxes(title_text=units.pop() if len(units) == 1 else "", title_standoff=4)
    st.plotly_chart(fig, config={"displaylogo": False})


def metric_unit_title(name: str) -> str:
    m = catalog.metric(name)
    unit = m.text("unit", lang())
    return unit or ("%" if m.format == "pct" else "")


def style(fig: go.Figure, title: str) -> None:
    """The house style of every chart. The title is drawn above the chart, not inside it,
    so a two-line legend never runs into it."""
    st.markdown(f"**{md_escape(title)}**")
    fig.update_layout(
        font={"family": "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=380,
        hovermode="x unified",
    )


def _units(f: Filters, name: str) -> tuple[str, dict[str, str], str | None]:
    """What a ranking compares: the communities, or the grids of the chosen community
    when the metric has grid detail. Returns (by, {unit_id: name}, community filter)."""
    if f.scope.community_id and catalog.metric(name).grid:
        cid = f.scope.community_id
        return "grid", unit_names("grid", cid), cid
    return "community", community_names(), None


CHART_ENDS = 10  # a ranking chart of more than twice this shows the best and the worst
RANKING_PAGE = 200  # rows of a ranking table sent to the browser at a time


@dataclass(frozen=True)
class Ranked:
    """Units (communities, or one community's grids) in ranking order, with their values,
    their competition rank (1, 2, 2, 4; NaN for a unit without a value) and the rank of
    the period compared with."""

    by: str
    names: dict[str, str]  # unit id -> display name
    values: pd.DataFrame  # one row per unit, in ranking order; a column per metric
    rank: pd.Series
    shared: pd.Series  # True where another unit has the same rank
    previous_rank: pd.Series
    previous: Period


def rank_units(values: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """Competition ranks by `keys` (the ranking metric, then its tie-breaks), each in its
    better direction (a neutral metric, the volume behind a rate: more first). Units equal
    on every key share a rank (1, 2, 2, 4); a unit without a value of the first key has
    no rank (NaN). Returned in the order of `values`."""
    ordered = pd.DataFrame(index=values.index)
    for name in keys:
        sign = 1.0 if catalog.metric(name).direction == "down" else -1.0
        # Rounded: 2/3 and 4/6 must tie however the division came out.
        ordered[name] = (values[name].astype(float) * sign).round(9)
    ordered = ordered[values[keys[0]].notna()]
    ordered = ordered.sort_values(list(keys), na_position="last", kind="stable")
    filled = ordered.fillna(float("inf"))
    same = (filled == filled.shift()).all(axis=1).to_numpy()
    positions = pd.Series(range(1, len(ordered) + 1), index=ordered.index, dtype=float)
    rank = positions.mask(same).ffill()
    return rank.reindex(values.index)


def ranked(f: Filters, sort_by: str, ties: Sequence[str], names: Sequence[str] = ()) -> Ranked:
    """The ranking by `sort_by` and its tie-breaks, for the scope and period of `f`."""
    token = version().token
    by, units, cid = _units(f, sort_by)
    keys = [sort_by, *(t for t in ties if by == "community" or catalog.metric(t).grid)]
    wanted = tuple(dict.fromkeys([sort_by, *names, *keys]))
    now = _by_unit(token, who().key, wanted, f.period.code, cid, by)
    previous = queries.compared_periods(catalog.metric(sort_by).dataset, f.period)[0]
    before = _by_unit(token, who().key, tuple(keys), previous.code, cid, by)
    rank = rank_units(now, keys)
    order = rank.sort_values(na_position="last", kind="stable").index
    rank = rank.reindex(order)
    return Ranked(
        by=by,
        names=units,
        values=now.reindex(order),
        rank=rank,
        shared=rank.duplicated(keep=False) & rank.notna(),
        previous_rank=rank_units(before, keys).reindex(order),
        previous=previous,
    )


def ranking_chart(name: str, f: Filters, ties: Sequence[str] = (), r: Ranked | None = None) -> None:
    """The ranking at a glance: one bar per community (or grid), best first (`r`, when the
    page has ranked them already)."""
    r = r or ranked(f, name, ties)
    values = r.values[name]
    units = r.names
    m = catalog.metric(name)
    title = tr("ranking_title", metric=metric_label(name), period=f.period.label(lang()))
    if len(values) > 2 * CHART_ENDS:
        # Thousands of communities (a province) make no readable bar chart: show both ends;
        # the table below has every one.
        values = pd.concat([values.head(CHART_ENDS), values.tail(CHART_ENDS)])
        title = tr("ranking_ends", title=title, n=CHART_ENDS)
    scale = 100 if m.format == "pct" else 1
    highlight = f.scope.grid_id or f.scope.community_id
    fig = go.Figure(
        go.Bar(
            x=values * scale,
            y=[plot_text(units[u]) for u in values.index],
            orientation="h",
            marker_color=[PALETTE[0] if u == highlight else PALETTE[1] for u in values.index],
            text=[fmt_number(None if pd.isna(v) else v, m.format, lang()) for v in values],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
        )
    )
    for bound in m.standard.values():
        fig.add_vline(x=bound, line_dash="dash", line_color=PALETTE[0])
    style(fig, title)
    # automargin: the left margin grows to fit the longest name instead of cutting it.
    fig.update_yaxes(autorange="reversed", title_text="", type="category", automargin=True)
    fig.update_xaxes(title_text=metric_unit_title(name))
    fig.update_layout(hovermode="closest", showlegend=False, height=max(380, 60 + 28 * len(values)))
    fig.update_layout(margin={"r": 60})  # room for the value written after the longest bar
    st.plotly_chart(fig, config={"displaylogo": False})


# How a value of each catalog format is written in a table (thousands separated).
CELL_FORMATS = {"pct": "{:.1f}%", "float1": "{:,.1f}", "stars": "{:.2f}", "days": "{:,.1f}"}
INT_FORMAT = "{:,.0f}"
# Decimals kept in a download, per format (a share is written in percent).
DOWNLOAD_DECIMALS = {"pct": 1, "float1": 1, "stars": 2, "days": 1}


def ranking(
    names: Sequence[str],
    f: Filters,
    *,
    sort_by: str,
    key: str,
    ties: Sequence[str] = (),
    with_grid: bool = True,
    r: Ranked | None = None,
) -> None:
    """Communities (or the community's grids) ranked by `sort_by` and its tie-breaks, with
    the rank change against the period compared with; other metrics as columns, each cell
    with its target status (✅ ⚠️ ❌) where the metric has a target. Selecting a row drills
    into that community (or grid)."""
    r = r or ranked(f, sort_by, ties, names)
    language = lang()
    unit_column = tr("grid" if r.by == "grid" else "community")
    ids = r.values.index.tolist()
    table = pd.DataFrame(
        {
            tr("rank"): r.rank.astype("Int64"),
            tr("rank_change"): [
                _rank_change(b, a)
                for b, a in zip(r.previous_rank.tolist(), r.rank.tolist(), strict=True)
            ],
            unit_column: [r.names[u] for u in ids],
        },
        index=r.values.index,
    )
    tg = current_targets()
    config: dict[str, Any] = {}
    shared = {int(v) for v in r.rank[r.shared]}  # ranks held by more than one unit: "3="
    formats: dict[str, Callable[[Any], str]] = {
        tr("rank"): lambda v: "—" if pd.isna(v) else f"{int(v)}{'=' if int(v) in shared else ''}"
    }
    for name in names:
        label = metric_label(name)
        m = catalog.metric(name)
        values = r.values[name]
        table[label] = values * (100 if m.format == "pct" else 1)
        config[label] = st.column_config.NumberColumn(label, help=m.text("description", language))
        formats[label] = _cell_format(name, values, tg)
    st.markdown(
        f"**{tr('ranking_title', metric=metric_label(sort_by), period=f.period.label(language))}**"
    )
    shown = table
    if len(table) > RANKING_PAGE:
        # A province's 11,000 communities: the browser gets a page of the ranking at a time
        # (all of it is a 1.4 MB message to decode and lay out); the downloads keep all.
        page = page_picker(len(table), RANKING_PAGE, key=f"rank_page_{key}")
        shown = table.iloc[(page - 1) * RANKING_PAGE : page * RANKING_PAGE]
    # A new table (scope or period) is a new widget: a selection never carries over.
    table_key = f"rank_{key}_{f.scope.community_id}_{f.period.code}"
    drill = r.by == "community" or with_grid
    ids = shown.index.tolist()
    st.dataframe(
        shown.style.format(formats, na_rep="—"),  # type: ignore[arg-type]
        hide_index=True,
        column_config=config,
        placeholder="—",
        key=table_key,
        height=table_height(len(shown)),
        on_select=(lambda: _drill(table_key, ids, r.by)) if drill else "ignore",
        selection_mode="single-row",
    )
    st.caption(ranking_rule(sort_by, ties, r.by, r.previous, drill=drill))
    columns = table.columns[:3]  # rank, rank change, name; the figures as the download has them
    download_buttons(
        lambda: ranking_download(table[columns], r, names, tg),
        f"{key}-ranking-{f.period.code}",
        key=f"rank_{key}",
    )


def ranking_download(
    head: pd.DataFrame, r: Ranked, names: Sequence[str], tg: targets.Targets
) -> pd.DataFrame:
    """The ranking as a file: each figure rounded as the catalog formats it, counts as whole
    numbers, a share in percent under a "（%）" header, and a status column per target."""
    language = lang()
    out = head.copy()
    for name in names:
        label = metric_label(name)
        m = catalog.metric(name)
        values = r.values[name]
        decimals = DOWNLOAD_DECIMALS.get(m.format)
        if m.format == "pct":
            out[tr("pct_column", label=label)] = (values * 100).round(decimals)
        elif decimals is None:
            out[label] = values.round().astype("Int64")
        else:
            out[label] = values.round(decimals)
        if tg.get(name) is not None:
            out[tr("status_column", label=label)] = [
                targets.cue(targets.status(name, v, tg), language) for v in values.tolist()
            ]
    return out


def _cell_format(name: str, values: pd.Series, tg: targets.Targets) -> Callable[[Any], str]:
    """A metric's cells as text: the number as the catalog formats it, after the target
    status icon where the metric has a target (never colour alone)."""
    m = catalog.metric(name)
    pattern = CELL_FORMATS.get(m.format, INT_FORMAT)
    if tg.get(name) is None:
        return lambda v: "—" if pd.isna(v) else pattern.format(v)
    scale = 100 if m.format == "pct" else 1

    def cell(v: Any) -> str:
        if pd.isna(v):
            return "—"
        state = targets.status(name, v / scale, tg)
        return f"{targets.ICONS[state]} {pattern.format(v)}" if state else pattern.format(v)

    return cell


def _drill(table_key: str, ids: list[str], by: str) -> None:
    """A row of the ranking was selected: show that community (or grid)."""
    rows = st.session_state[table_key].selection.rows
    if not rows:
        return
    unit = ids[rows[0]]
    if by == "grid":
        st.session_state[f"grid_{st.session_state.get('community')}"] = unit
    else:
        st.session_state["community"] = unit


def ranking_rule(
    sort_by: str, ties: Sequence[str], by: str, previous: Period, *, drill: bool = True
) -> str:
    """How the ranking is made, said under it: the order and its tie-breaks, shared ranks,
    the period the rank change compares with, the status icons, and that a row drills down."""

    def named(name: str) -> str:
        label = metric_label(name)
        return label if lang() == "zh" else label[:1].lower() + label[1:]

    tie_text = tr("rank_tie_sep").join(
        tr(
            "rank_tie_fewer" if catalog.metric(t).direction == "down" else "rank_tie_more",
            metric=named(t),
        )
        for t in ties
    )
    drill_key = "rank_rule_drill_community" if by == "community" else "rank_rule_drill_grid"
    return tr(
        "rank_rule",
        metric=named(sort_by),
        ties=tr("rank_rule_ties", ties=tie_text) if ties else "",
        previous=previous.label(lang()),
        drill=tr(drill_key) if drill else "",
    ).strip()


def _rank_change(before: float, after: float) -> str:
    """↑2 for a unit two places up on the period compared with; "—" when it has no rank in
    either period (no value) or kept its place."""
    if pd.isna(before) or pd.isna(after):
        return "—"
    delta = int(before - after)
    return f"↑{delta}" if delta > 0 else f"↓{-delta}" if delta < 0 else "—"


def standard_bars(name: str, f: Filters, title_key: str) -> None:
    """One bar per community (or grid) for a registry metric, with its standard drawn in."""
    by, units, cid = _units(f, name)
    values = _by_unit(version().token, who().key, (name,), f.period.code, cid, by)[name]
    fig = go.Figure(
        go.Bar(x=[plot_text(units[u]) for u in values.index], y=values, marker_color=PALETTE[1])
    )
    for bound in catalog.metric(name).standard.values():
        fig.add_hline(
            y=bound,
            line_dash="dash",
            line_color=PALETTE[0],
            annotation_text=f"{tr('standard')} {bound:g}",
        )
    style(fig, tr(title_key))
    fig.update_xaxes(tickangle=-45, title_text="")
    fig.update_yaxes(title_text=metric_unit_title(name))
    st.plotly_chart(fig, config={"displaylogo": False})


def households_histogram(f: Filters) -> None:
    """How many standard grids have how many households, with the 300–500 band drawn in."""
    frame = _grids(version().token, who().key, f.scope.community_id)
    standard = frame[~frame["is_micro"].astype(bool)]
    fig = go.Figure(
        go.Histogram(x=standard["households"], xbins={"size": 25}, marker_color=PALETTE[1])
    )
    band = catalog.metric("households_per_grid").standard
    fig.add_vrect(
        x0=band.get("low", 300),
        x1=band.get("high", 500),
        fillcolor=PALETTE[2],
        opacity=0.12,
        line_width=0,
        annotation_text=tr("standard"),
    )
    style(fig, tr("households_chart"))
    fig.update_xaxes(title_text=tr("households"))
    fig.update_yaxes(title_text=tr("grids_count"))
    fig.update_layout(hovermode="closest", showlegend=False)
    st.plotly_chart(fig, config={"displaylogo": False})


def breakdown_chart(dataset: str, column: str, f: Filters, title_key: str) -> None:
    frame = _breakdown(
        version().token,
        who().key,
        dataset,
        column,
        f.period.code,
        f.scope.community_id,
        f.scope.grid_id,
    )
    if frame.empty:
        st.info(tr("no_records"))
        return
    if column == "stars":  # five to one, not by count
        frame = frame.sort_values("value", ascending=False, key=lambda v: v.astype(int))
    labels = [
        f"{v}★" if column == "stars" else plot_text(value_label(v, lang(), column))
        for v in frame["value"]
    ]
    fig = go.Figure(
        go.Bar(
            x=frame["count"],
            y=labels,
            orientation="h",
            marker_color=PALETTE[1],
        )
    )
    style(fig, tr(title_key))
    fig.update_yaxes(autorange="reversed", title_text="", type="category", automargin=True)
    fig.update_xaxes(title_text=tr("count"))
    fig.update_layout(height=max(260, 60 + 32 * len(frame)), hovermode="closest")
    st.plotly_chart(fig, config={"displaylogo": False})


def records_table(dataset: str, f: Filters, *, page_size: int = 100) -> None:
    """The records behind the figures, for the scope and period, a page at a time."""
    spec = DATASETS[dataset]
    st.subheader(tr("records_title", dataset=spec.zh if lang() == "zh" else spec.en))
    token, key = version().token, who().key

    def fetch(offset: int, limit: int) -> tuple[pd.DataFrame, int]:
        args = (f.period.code, f.scope.community_id, f.scope.grid_id, offset, limit)
        result: tuple[pd.DataFrame, int] = _records(token, key, dataset, *args)
        return result

    total = fetch(0, 1)[1]
    if total == 0:
        st.info(tr("no_records"))
        return
    page = page_picker(total, page_size, key=f"page_{dataset}")
    frame, _ = fetch((page - 1) * page_size, page_size)
    shown = _with_community_name(localise_columns(frame, dataset), frame, dataset)
    st.dataframe(shown, hide_index=True, placeholder="—", key=f"records_{dataset}")
    if total <= 100_000:  # larger extracts are the CLI's job
        full, _ = fetch(0, total)
        download_buttons(
            _with_community_name(localise_columns(full, dataset), full, dataset),
            f"{dataset}-{f.period.code}",
            key=f"rec_{dataset}",
        )


def _with_community_name(shown: pd.DataFrame, frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """`shown` with the community's name beside its code: a leader reads 北苑社区, not QTX01
    (the register of communities has its names already)."""
    if dataset == "communities" or "community_id" not in frame.columns:
        return shown
    names = community_names()
    at = list(frame.columns).index("community_id") + 1
    shown = shown.copy()
    shown.insert(at, tr("col_community"), [names.get(c, c) for c in frame["community_id"]])
    return shown


def page_picker(total: int, page_size: int, *, key: str) -> int:
    """Which page (from 1) of `total` rows to show, `page_size` at a time; the count beside."""
    pages = (total - 1) // page_size + 1
    if not 1 <= st.session_state.get(key, 1) <= pages:  # fewer pages than when it was chosen
        st.session_state[key] = 1
    c1, c2 = st.columns([1, 3])
    page = c1.number_input(tr("page_of", pages=pages), min_value=1, max_value=pages, key=key)
    c2.caption(tr("records_count", count=f"{total:,}"))
    return int(page)


@st.cache_data(show_spinner=False, max_entries=200)
def _records(  # type: ignore[no-untyped-def]
    token: str,
    pkey: str,
    dataset: str,
    period: str,
    cid: str | None,
    gid: str | None,
    offset: int,
    limit: int,
):
    return _reader(token).records(
        dataset, Scope(cid, gid), Period.parse(period), limit=limit, offset=offset
    )


def labelled(frame: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """The columns named in `headers` (column -> message key), in that order, each headed
    in the reader's language; columns the frame lacks are left out."""
    present = [c for c in headers if c in frame.columns]
    return frame[present].rename(columns={c: tr(headers[c]) for c in present})


def localise_columns(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Contract headers in the reader's language; dates as dates, not midnight timestamps."""
    spec = DATASETS[dataset]
    frame = frame.copy()
    for fld in spec.fields:
        if fld.name not in frame:
            continue
        if fld.type == "date":
            frame[fld.name] = pd.to_datetime(frame[fld.name]).dt.date
        elif fld.type == "month":  # 2025年12月 / Dec 2025, not 2025-12-01
            frame[fld.name] = [
                "" if pd.isna(d) else Period.parse(f"{d.year}-{d.month:02d}").label(lang())
                for d in pd.to_datetime(frame[fld.name])
            ]
        elif fld.type == "quarter":  # 2025年第3季度 / Q3 2025
            frame[fld.name] = [
                "" if pd.isna(q) else Period.parse(str(q)).label(lang()) for q in frame[fld.name]
            ]
        elif fld.allowed:  # the contract's fixed values in the reader's language; an
            # empty one in words where it has a meaning (an unclaimed wish), never "nan"
            frame[fld.name] = [value_label(v, lang(), fld.name) for v in frame[fld.name]]
        elif fld.name == "name":  # a community's or grid's name, "(example)" in English
            frame[fld.name] = [name_label(v, lang()) for v in frame[fld.name]]
        elif fld.type in ("text", "code"):
            frame[fld.name] = frame[fld.name].fillna("")  # an empty cell, not "None"
    return frame.rename(columns={fld.name: fld.label(lang()) for fld in spec.fields})


def download_buttons(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], stem: str, *, key: str
) -> None:
    """CSV and Excel of a table (or of what `frame()` makes, when only a press needs it);
    the files are made when a button is pressed, not per rerun."""

    def table() -> pd.DataFrame:
        return frame() if callable(frame) else frame

    row = st.container(horizontal=True)
    row.download_button(
        tr("download_csv"),
        data=lambda: to_csv_bytes(table()),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
    )
    row.download_button(
        tr("download_xlsx"),
        data=lambda: to_xlsx_bytes({stem[:31]: table()}),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{key}",
        on_click="ignore",
    )


def table_height(rows: int) -> int:
    """Tall enough for every row without an empty one below (35 px rows, 800 px at most)."""
    return min(35 * (rows + 1) + 3, 800)


# -- a standard page ---------------------------------------------------------------------
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
        with one_version():
            draw()

    def draw() -> None:
        st.html(f"<style>{LAYOUT_CSS}</style>")
        header(spec.title_key, spec.intro_key)
        f = filters(with_grid=spec.with_grid)
        st.markdown(f"##### {md_escape(scope_label(f))}")
        kpi_cards(spec.kpis, f)
        # Side by side (3:2) where there is room, one above the other where not (LAYOUT_CSS).
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
        for note in spec.notes:
            st.caption(tr(note))
        if spec.breakdowns and spec.dataset is not None:
            row = st.container(horizontal=True, gap="large")
            for column, title_key in spec.breakdowns:
                with row.container(key=f"breakdown_{column}"):
                    breakdown_chart(spec.dataset, column, f, title_key)
        if spec.dataset is not None:
            records_table(spec.dataset, f)

    run_page(body, spec.title_key)


def local_time(moment: Any) -> str:
    """A stored UTC timestamp as the readers' wall-clock time (GOVDASH_TZ, default Beijing)."""
    return periods.local_time(moment)


def hide_table_download() -> None:
    """Hide the "Download as CSV" button in every table's toolbar, on every page.

    Streamlit writes that CSV as the cells are, so a cell such as =HYPERLINK(...) or
    @SUM(...) would run as a formula in Excel; our own download buttons (metrics.export)
    neutralise such cells and stay. Call once per script run, from app.py. The rule is
    constant CSS keyed to Streamlit's toolbar button label (search and fullscreen stay).
    """
    st.html(
        "<style>"
        '[data-testid="stElementToolbarButton"]:has(button[aria-label^="Download as CSV"])'
        "{display: none !important;}"
        "</style>"
    )
