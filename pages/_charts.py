"""Charts in the house style: the monthly trend, breakdowns of records, and bars against a
standard; each drawn with its numbers as a table beside it (`show`), the chart's text
alternative for readers who cannot see it (docs/decisions/0015-accessibility.md)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import access
from metrics.i18n import value_label
from metrics.periods import Period, add_months
from pages import _cache
from pages._filters import Filters, place_label, units
from pages._signin import who
from pages._text import lang, md_escape, metric_label, metric_unit_title, month_label, plot_text, tr

# Colours a reader tells apart from each other and from white: every one is at least 3:1
# against the page (WCAG 1.4.11, graphics), the first three over 5:1 (text as well).
PALETTE = ["#b71c1c", "#1565c0", "#2e7d32", "#c25400", "#6a1b9a", "#00838f", "#5d4037"]
# Plotly's toolbar (zoom, download) shows over the chart's top right while the pointer is
# on it (on a phone, after a tap): the legend sits under the plot so it never covers it.
CONFIG: dict[str, Any] = {"displaylogo": False, "displayModeBar": "hover"}
HOUSEHOLD_BIN = 25  # households per bar of the registry's histogram


def style(fig: go.Figure, title: str) -> None:
    """The house style of every chart. The title is drawn above the chart, not inside it,
    so a two-line legend never runs into it; the legend goes below the plot, at the foot
    of the figure, where no toolbar comes at any width."""
    st.markdown(f"**{md_escape(title)}**")
    fig.update_layout(
        font={"family": "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"},
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0,
            "yanchor": "bottom",
            "x": 0,
            "xanchor": "left",
        },
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=380,
        hovermode="x unified",
    )


def show(
    fig: go.Figure, title: str, label: str, table: pd.DataFrame | None = None, **options: Any
) -> None:
    """Draw `fig` and, folded under it, the same numbers as a table: a screen reader reads
    no SVG (the chart is named for it by `title`), and a reader may want the figures
    themselves. `label` heads the first column (what the bars or points stand for);
    `table` only where the figure's traces do not hold the numbers (a map's do not);
    `options` go to st.plotly_chart (a key, on_select, another config)."""
    options = {"config": CONFIG, **options}
    st.plotly_chart(fig, alt=tr("chart_alt", title=title), **options)
    shown = figure_table(fig, label) if table is None else table
    with st.expander(tr("chart_as_table")):
        # st.table reads Markdown in its cells, and names come from uploads.
        st.table(
            shown.rename(columns=md_escape).map(md_escape),
            hide_index=True,
            alt=tr("chart_table_alt", title=title),
        )


def figure_table(fig: go.Figure, label: str) -> pd.DataFrame:
    """The numbers of a chart's bar and line traces, a row per category and a column per
    trace (its name; else the value axis' title): what the trace writes on the chart where
    it writes text, else the value itself. Plotly's escapes in names are undone."""
    columns: dict[str, dict[Any, str]] = {}
    order: list[Any] = []
    for trace in fig.data:
        across = getattr(trace, "orientation", None) == "h"
        keys, values = (trace.y, trace.x) if across else (trace.x, trace.y)
        if keys is None or values is None:
            continue
        axis = fig.layout.xaxis if across else fig.layout.yaxis
        name = trace.name or axis.title.text or tr("chart_value")
        texts = trace.text if isinstance(trace.text, list | tuple) else None
        cells = texts or [_number(v) for v in values]
        columns[name] = dict(zip(keys, cells, strict=True))
        order += [k for k in keys if k not in order]
    table = pd.DataFrame({label: [html.unescape(str(k)) for k in order]})
    for name, by_key in columns.items():
        table[name] = [by_key.get(k, "—") for k in order]
    return table


def _number(value: Any) -> str:
    """A value as the chart's hover shows it: whole numbers whole, others to two places."""
    if pd.isna(value):
        return "—"
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}".rstrip("0")


def trend_chart(names: Sequence[str], f: Filters, *, kind: str = "line", months: int = 24) -> None:
    """Monthly totals for the scope over the period, or the trailing `months` if longer."""
    start = min(f.period.start, add_months(f.period.start, -(months - f.period.months)))
    window = Period.span(start, f.period.end)
    frame = _cache.trend(
        _cache.version().token,
        who(),
        tuple(names),
        window.code,
        f.scope.community_id,
        f.scope.grid_id,
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
    title = tr("trend_title", scope=place_label(f))
    style(fig, title)
    fig.update_xaxes(title_text=tr("month"), type="category", tickangle=-45, nticks=12)
    unit_titles = {metric_unit_title(n) for n in names}
    fig.update_yaxes(
        title_text=unit_titles.pop() if len(unit_titles) == 1 else "", title_standoff=4
    )
    show(fig, title, tr("month"))


def standard_bars(name: str, f: Filters, title_key: str) -> None:
    """One bar per community (or grid) for a registry metric, with its standard drawn in."""
    by, names, cid = units(f, name)
    values = _cache.by_unit(_cache.version().token, who(), (name,), f.period.code, cid, by)[name]
    fig = go.Figure(
        go.Bar(
            name=metric_label(name),
            x=[plot_text(names[u]) for u in values.index],
            y=values,
            marker_color=PALETTE[1],
        )
    )
    for bound in access.metric(name).standard.values():
        fig.add_hline(
            y=bound,
            line_dash="dash",
            line_color=PALETTE[0],
            annotation_text=f"{tr('standard')} {bound:g}",
        )
    style(fig, tr(title_key))
    fig.update_xaxes(tickangle=-45, title_text="")
    fig.update_yaxes(title_text=metric_unit_title(name))
    show(fig, tr(title_key), tr(by))


def households_histogram(f: Filters) -> None:
    """How many standard grids have how many households, with the 300–500 band drawn in.
    Counted here, in bins of HOUSEHOLD_BIN, not by Plotly in the browser: the table under
    the chart holds the same counts."""
    frame = _cache.grids(_cache.version().token, who(), f.scope.community_id)
    standard = frame[~frame["is_micro"].astype(bool)]
    starts = (standard["households"].dropna().astype(int) // HOUSEHOLD_BIN) * HOUSEHOLD_BIN
    counts = starts.value_counts().sort_index()
    bins = [f"{s}–{s + HOUSEHOLD_BIN - 1}" for s in counts.index]
    fig = go.Figure(
        go.Bar(
            x=counts.index + HOUSEHOLD_BIN / 2,
            y=counts.to_numpy(),
            width=HOUSEHOLD_BIN,
            customdata=bins,
            hovertemplate="%{customdata}: %{y}<extra></extra>",
            marker={"color": PALETTE[1], "line": {"color": "white", "width": 1}},
        )
    )
    band = access.metric("households_per_grid").standard
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
    table = pd.DataFrame({tr("households"): bins, tr("grids_count"): [str(n) for n in counts]})
    show(fig, tr("households_chart"), tr("households"), table)


def breakdown_chart(dataset: str, column: str, f: Filters, title_key: str) -> None:
    frame = _cache.breakdown(
        _cache.version().token,
        who(),
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
            name=tr("count"),
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
    show(fig, tr(title_key), tr(title_key))
