"""The sidebar's choices: language, period, community and grid, each kept in the URL (so a
link or a reload opens the same view) and carried from page to page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import streamlit as st

from metrics import access
from metrics.access import Scope
from metrics.i18n import name_label
from metrics.periods import KINDS, MONTHS_IN, Period, PeriodKind, add_months, periods_between
from pages import _cache
from pages._signin import who
from pages._text import lang, tr

ALL = "__all__"  # the "whole city" / "all grids" choice in the filters
Unit = Literal["community", "grid"]

# The filters' choices, kept apart from the widgets: Streamlit forgets a widget's state
# when a page that does not draw it runs, so without this copy every switch of page through
# the sidebar would start again at the whole city and the latest month.
_KEPT = "_kept_choices"


def kept_choices() -> dict[str, Any]:
    kept: dict[str, Any] = st.session_state.setdefault(_KEPT, {})
    return kept


def _from_url(key: str, options: Sequence[str], param: str, default: str | None = None) -> None:
    """Start a widget at the choice in the URL (?param=value) if it is a valid one, else at
    the choice last made on any page (kept_choices), else at `default` (the first option
    if None)."""
    chosen = st.session_state.get(key)
    if chosen not in options:
        wanted = st.query_params.get(param)
        kept = kept_choices().get(key)
        first = default if default in options else options[0]
        chosen = wanted if wanted in options else kept if kept in options else first
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
    label: str,
    options: Sequence[str],
    *,
    key: str,
    param: str,
    format_func: Callable[[str], str],
    default: str | None = None,
) -> str:
    """A sidebar select box whose choice is kept in the URL; `default` (else the first
    option) when the URL and the earlier pages say nothing."""
    _from_url(key, options, param, default)
    value = st.sidebar.selectbox(label, options, format_func=format_func, key=key)
    kept_choices()[key] = value
    _to_url(param, value, default if default is not None and default in options else options[0])
    return str(value)


@dataclass(frozen=True)
class Filters:
    period: Period
    scope: Scope
    community_name: str | None
    grid_name: str | None


def unit_names(by: Unit, cid: str | None = None) -> dict[str, str]:
    """{id: name} of the communities (or of community `cid`'s grids) as the reader sees
    them: in English the demo's "（示例）" mark reads "(example)"."""
    language = lang()
    names = _cache.unit_names(_cache.version().token, who(), by, cid)
    return {k: name_label(v, language) for k, v in names.items()}


def community_names() -> dict[str, str]:
    return unit_names("community")


def units(f: Filters, name: str) -> tuple[Unit, dict[str, str], str | None]:
    """What a ranking of metric `name` compares: the communities, or the grids of the chosen
    community when the metric has grid detail. Returns (by, {unit_id: name}, community)."""
    if f.scope.community_id and access.metric(name).grid:
        cid = f.scope.community_id
        return "grid", unit_names("grid", cid), cid
    return "community", community_names(), None


def period_filter(kinds: Sequence[str] = KINDS) -> Period:
    """Period type and period in the sidebar, kept in the URL; the latest period first and
    the latest closed one chosen (default_period), the others not yet closed marked 未截止."""
    span = _cache.data_months(_cache.version().token, who())
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
    closed = default_period("month")
    if kind == "range":
        return _range_filter(first, last, closed.start)
    default = default_period(_period_kind(kind))
    # From the data's first period to its last, or to the latest closed one when no data
    # came in since (every community then reads 缺报 for it).
    # 本年累计 and 全部 end in each month from the data's first.
    earliest = first if kind in ("ytd", "all") else min(first, default.start)
    latest = max(last, default.end.replace(day=1))
    options = [p.code for p in periods_between(earliest, latest, _period_kind(kind))]
    code = url_choice(
        tr("period"),
        options,
        key=f"period_{kind}",
        param="period",
        format_func=_period_option,
        default=default.code,
    )
    return Period.parse(code or default.code)


def default_period(kind: PeriodKind) -> Period:
    """The latest closed period of `kind` (month, quarter, half, year): a month closes when
    its ledgers' deadline has passed, a longer period with its last month. What a page
    opens on, so that one clerk's upload of the current month does not move everyone.
    本年累计 and 全部 (`ytd`, `all`) end with the latest closed month."""
    if kind in ("ytd", "all"):
        month = default_period("month").start
        if kind == "ytd":
            return Period.year_to_date(month)
        span = _cache.data_months(_cache.version().token, who())
        return Period.since(min(span[0], month) if span else month, month)
    return access.latest_closed(kind, _cache.clock(), _cache.current_targets().deadline_day)


def _period_option(code: str) -> str:
    """A period in the select box: its label, marked 未截止 when it is not closed."""
    period = Period.parse(code)
    day = _cache.current_targets().deadline_day
    mark = "" if access.is_closed(period, _cache.clock(), day) else tr("period_open_mark")
    return period.label(lang()) + mark


def period_note(period: Period) -> str:
    """What the page says about its period: the latest closed one (the default), closed,
    or not closed yet with its deadline."""
    at, day = _cache.clock(), _cache.current_targets().deadline_day
    default = period.kind in MONTHS_IN and period == default_period(period.kind)
    return access.period_note(period, at, day, lang(), default=default)


def _period_kind(kind: str) -> PeriodKind:
    """`kind` as the type it is (url_choice gives it back as text)."""
    return next(k for k in KINDS if k == kind)


def _range_filter(first: dt.date, last: dt.date, closed: dt.date) -> Period:
    """A range of months on a slider, kept in the URL as ?period=2025-01..2025-06; the
    twelve months up to the latest closed one (`closed`) unless chosen otherwise."""
    months = [
        add_months(first, i)
        for i in range((last.year - first.year) * 12 + last.month - first.month + 1)
    ]
    labels = {m.strftime("%Y-%m"): Period.parse(m.strftime("%Y-%m")).label(lang()) for m in months}
    codes = list(labels)
    end = closed.strftime("%Y-%m")
    end_index = codes.index(end) if end in codes else len(codes) - 1
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
            else (codes[max(0, end_index - 11)], codes[end_index])
        )
    else:
        st.session_state["range"] = chosen  # for the widget of another page (_from_url)
    # A range slider, as its state is a pair (set above); the stubs know only `value=`.
    start, end = cast(
        tuple[str, str],
        st.sidebar.select_slider(
            tr("period_range"), options=codes, format_func=lambda c: labels[c], key="range"
        ),
    )
    kept_choices()["range"] = (start, end)
    st.query_params["period"] = f"{start}..{end}"
    return Period.parse(f"{start}..{end}")


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
