"""Rankings of communities (or of one community's grids): the order and its tie-breaks, the
bar chart of both ends, and the table with rank changes, target status and drill-down."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import access
from metrics.i18n import fmt_number
from metrics.periods import Period
from pages import _cache
from pages._charts import PALETTE, show, style
from pages._filters import Filters, Unit, units
from pages._records import download_buttons, page_picker, pinned, table_height
from pages._signin import who
from pages._text import lang, metric_label, metric_unit_title, plot_text, tr
from pages._track import track_unit

CHART_ENDS = 10  # a ranking chart of more than twice this shows the best and the worst
RANKING_PAGE = 200  # rows of a ranking table sent to the browser at a time
# How a value of each catalog format is written in a table (thousands separated).
CELL_FORMATS = {"pct": "{:.1f}%", "float1": "{:,.1f}", "stars": "{:.2f}", "days": "{:,.1f}"}
INT_FORMAT = "{:,.0f}"
# Decimals kept in a download, per format (a share is written in percent).
DOWNLOAD_DECIMALS = {"pct": 1, "float1": 1, "stars": 2, "days": 1}


@dataclass(frozen=True)
class Ranked:
    """Units (communities, or one community's grids) in ranking order, with their values,
    their competition rank (1, 2, 2, 4; NaN for a unit without a value) and the rank of
    the period compared with."""

    by: Unit
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
        sign = 1.0 if access.metric(name).direction == "down" else -1.0
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
    token, me = _cache.version().token, who()
    by, unit_names, cid = units(f, sort_by)
    keys = [sort_by, *(t for t in ties if by == "community" or access.metric(t).grid)]
    wanted = tuple(dict.fromkeys([sort_by, *names, *keys]))
    now = _unsent_blank(_cache.by_unit(token, me, wanted, f.period.code, cid, by), f.period, cid)
    previous = access.compared_periods(sort_by, f.period)[0]
    before = _cache.by_unit(token, me, tuple(keys), previous.code, cid, by, compared=True)
    before = _unsent_blank(before, previous, cid)
    rank = rank_units(now, keys)
    order = rank.sort_values(na_position="last", kind="stable").index
    rank = rank.reindex(order)
    return Ranked(
        by=by,
        names=unit_names,
        values=now.reindex(order),
        rank=rank,
        shared=rank.duplicated(keep=False) & rank.notna(),
        previous_rank=rank_units(before, keys).reindex(order),
        previous=previous,
    )


def _unsent_blank(values: pd.DataFrame, period: Period, cid: str | None) -> pd.DataFrame:
    """No figure (—, ranked last) where a community sent none of the metric's ledger for
    the period and so reads 0: its 0 overdue cases would otherwise rank with the best. A
    figure the store does hold (a wish of August fulfilled in September) stays. Grids
    (`cid` given) go blank with their community."""
    gone = _cache.unreported(_cache.version().token, period.code)
    out = values.astype(float)
    for name in out.columns:
        unsent = gone.get(access.metric(name).dataset, frozenset())
        sent = cid not in unsent if cid else ~out.index.isin(list(unsent))
        out[name] = out[name].where(sent | (out[name] != 0))
    return out


def ranking_chart(name: str, f: Filters, ties: Sequence[str] = (), r: Ranked | None = None) -> None:
    """The ranking at a glance: one bar per community (or grid), best first (`r`, when the
    page has ranked them already)."""
    r = r or ranked(f, name, ties)
    values = r.values[name]
    m = access.metric(name)
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
            name=metric_label(name),
            x=values * scale,
            y=[plot_text(r.names[u]) for u in values.index],
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
    show(fig, title, tr(r.by))


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
    table = _ranking_table(r)
    tg = _cache.current_targets()
    config: dict[str, Any] = {}
    shared = {int(v) for v in r.rank[r.shared]}  # ranks held by more than one unit: "3="
    formats: dict[str, str | Callable[[Any], str] | None] = {
        tr("rank"): lambda v: access.rank_text(v, not pd.isna(v) and int(v) in shared)
    }
    for name in names:
        label = metric_label(name)
        m = access.metric(name)
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
        shown.style.format(formats, na_rep="—"),
        hide_index=True,
        # The rank and the name stay in view as the figures scroll (phones, English).
        column_config=pinned(table.columns[[0, 2]], config, first=2),
        placeholder="—",
        key=table_key,
        height=table_height(len(shown)),
        on_select=(lambda: _drill(table_key, ids, r.by)) if drill else "ignore",
        selection_mode="single-row",
    )
    st.caption(ranking_rule(sort_by, ties, r.by, r.previous, drill=drill))
    per_community = [metric_label(n) for n in names if not access.metric(n).grid]
    if r.by == "grid" and per_community:  # their grid cells are "—", never 0: say why
        st.caption(tr("not_by_grid_note", metrics=tr("nar_list_sep").join(per_community)))
    _track_unit(r, sort_by, f, key)
    columns = table.columns[:3]  # rank, rank change, name; the figures as the download has them
    download_buttons(
        lambda: ranking_download(table[columns], r, names, tg),
        f"{key}-ranking-{f.period.code}",
        key=f"rank_{key}",
    )


def _track_unit(r: Ranked, sort_by: str, f: Filters, key: str) -> None:
    """转为督办事项 under the ranking: a unit's figure of `sort_by` as the item's title."""
    m = access.metric(sort_by)
    language = lang()

    def title(unit: str) -> str:
        found = sort_by in r.values.columns and unit in r.values.index
        column = pd.to_numeric(r.values[sort_by], errors="coerce") if found else None
        value = column.get(unit) if column is not None else None
        number = None if value is None or pd.isna(value) else float(value)
        shown = fmt_number(number, m.format, language)
        period = f.period.label(language)
        return f"{r.names.get(unit, unit)} · {metric_label(sort_by)}：{shown}（{period}）"

    track_unit(list(r.values.index), r.names, r.by, f.scope.community_id, title, key=f"rank_{key}")


def _ranking_table(r: Ranked) -> pd.DataFrame:
    """The ranking's first columns: rank, rank change and the unit's name."""
    unit_column = tr("grid" if r.by == "grid" else "community")
    return pd.DataFrame(
        {
            tr("rank"): r.rank.astype("Int64"),
            tr("rank_change"): [
                _rank_change(b, a)
                for b, a in zip(r.previous_rank.tolist(), r.rank.tolist(), strict=True)
            ],
            unit_column: [r.names[u] for u in r.values.index.tolist()],
        },
        index=r.values.index,
    )


def ranking_download(
    head: pd.DataFrame, r: Ranked, names: Sequence[str], tg: access.Targets
) -> pd.DataFrame:
    """The ranking as a file: each figure rounded as the catalog formats it, counts as whole
    numbers, a share in percent under a "（%）" header, and a status column per target."""
    language = lang()
    out = head.copy()
    for name in names:
        label = metric_label(name)
        m = access.metric(name)
        values = r.values[name]
        decimals = DOWNLOAD_DECIMALS.get(m.format)
        if decimals is None:
            out[label] = values.round().astype("Int64")
        elif m.format == "pct":
            out[tr("pct_column", label=label)] = (values * 100).round(decimals)
        else:
            out[label] = values.round(decimals)
        if tg.get(name) is not None:
            out[tr("status_column", label=label)] = [
                access.target_cue(access.target_status(name, v, tg), language)
                for v in values.tolist()
            ]
    return out


def _cell_format(name: str, values: pd.Series, tg: access.Targets) -> Callable[[Any], str]:
    """A metric's cells as text: the number as the catalog formats it, after the target
    status icon where the metric has a target (never colour alone)."""
    m = access.metric(name)
    pattern = CELL_FORMATS.get(m.format, INT_FORMAT)
    if tg.get(name) is None:
        return lambda v: "—" if pd.isna(v) else pattern.format(v)
    scale = 100 if m.format == "pct" else 1

    def cell(v: Any) -> str:
        if pd.isna(v):
            return "—"
        state = access.target_status(name, v / scale, tg)
        return f"{access.TARGET_ICONS[state]} {pattern.format(v)}" if state else pattern.format(v)

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
            "rank_tie_fewer" if access.metric(t).direction == "down" else "rank_tie_more",
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
