"""Charts in the house style: the monthly trend, breakdowns of records, and bars against a
standard."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from metrics import access
from metrics.i18n import value_label
from metrics.periods import Period, add_months
from pages import _cache
from pages._filters import Filters, place_label, units
from pages._signin import who
from pages._text import lang, md_escape, metric_label, metric_unit_title, month_label, plot_text, tr

PALETTE = ["#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"]


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
    style(fig, tr("trend_title", scope=place_label(f)))
    fig.update_xaxes(title_text=tr("month"), type="category", tickangle=-45, nticks=12)
    unit_titles = {metric_unit_title(n) for n in names}
    fig.update_yaxes(
        title_text=unit_titles.pop() if len(unit_titles) == 1 else "", title_standoff=4
    )
    st.plotly_chart(fig, config={"displaylogo": False})


def standard_bars(name: str, f: Filters, title_key: str) -> None:
    """One bar per community (or grid) for a registry metric, with its standard drawn in."""
    by, names, cid = units(f, name)
    values = _cache.by_unit(_cache.version().token, who(), (name,), f.period.code, cid, by)[name]
    fig = go.Figure(
        go.Bar(x=[plot_text(names[u]) for u in values.index], y=values, marker_color=PALETTE[1])
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
    st.plotly_chart(fig, config={"displaylogo": False})


def households_histogram(f: Filters) -> None:
    """How many standard grids have how many households, with the 300–500 band drawn in."""
    frame = _cache.grids(_cache.version().token, who(), f.scope.community_id)
    standard = frame[~frame["is_micro"].astype(bool)]
    fig = go.Figure(
        go.Histogram(x=standard["households"], xbins={"size": 25}, marker_color=PALETTE[1])
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
    st.plotly_chart(fig, config={"displaylogo": False})


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
