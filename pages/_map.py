"""The grid map (网格地图): communities, or one community's grids, coloured by a metric of
the page's ranking with the ranking's own ✅/⚠️/❌ cues; a click on a marker drills down.

Drawn from the uploaded GeoJSON alone, as a cartesian Plotly figure (one filled trace per
polygon, the aspect corrected by the cosine of the latitude): no tile, style or topojson
server is contacted, so nothing leaves the machine (docs/decisions/0016-grid-map.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from metrics import access
from metrics.i18n import fmt_number
from pages import _cache
from pages._charts import show
from pages._filters import Filters
from pages._rankings import Ranked
from pages._signin import who
from pages._text import lang, md_escape, metric_label, plot_text, tr

NO_VALUE = "#cfd4da"  # a unit without a figure: grey, with "—" beside its name
# A metric without a target: light to dark with its value (never the status colours).
LOW, HIGH = (222, 235, 247), (8, 81, 156)
OUTLINE, CHOSEN = "#4a4a4a", "#111111"
FILL_OPACITY = 0.6
HEIGHT = 520


def cue_and_colour(
    name: str, value: float | None, low: float, high: float, tg: access.Targets
) -> tuple[str, str]:
    """A unit's status icon ("" without a target) and fill colour for metric `name`."""
    if value is None or pd.isna(value):
        return "", NO_VALUE
    state = access.target_status(name, value, tg)
    if state is not None:
        return access.TARGET_ICONS[state], access.STATUS_COLOURS[state]
    share = 0.5 if high <= low else (value - low) / (high - low)
    rgb = (round(a + (b - a) * share) for a, b in zip(LOW, HIGH, strict=True))
    return "", "#{:02x}{:02x}{:02x}".format(*rgb)


def _translucent(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{FILL_OPACITY})"


def figure(
    shapes: access.MapShapes,
    values: Mapping[str, float | None],
    names: Mapping[str, str],
    metric: str,
    tg: access.Targets,
    *,
    chosen: str | None = None,
) -> go.Figure:
    """The map: a filled outline per polygon, and at each shape's representative point a
    marker with the status cue, the unit's name and its figure (what a click reports)."""
    known = [float(v) for v in values.values() if v is not None and not pd.isna(v)]
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    fig = go.Figure()
    labels, hovers = [], []
    label = plot_text(metric_label(metric))
    for shape, unit in zip(shapes.shapes, _units(shapes, values, names, metric, tg), strict=True):
        icon, colour = cue_and_colour(metric, unit.number, low, high, tg)
        name = plot_text(unit.name)
        labels.append(f"{icon} {_wrapped(name)}<br>{unit.shown}".strip())
        hovers.append(f"{name}<br>{label}：{unit.shown}<br>{unit.cue}")
        width = 3 if shape.unit_id == chosen else 1
        line = {"color": CHOSEN if shape.unit_id == chosen else OUTLINE, "width": width}
        for xs, ys in shape.shells:
            fig.add_trace(_outline(xs, ys, _translucent(colour), line))
        for xs, ys in shape.holes:
            fig.add_trace(_outline(xs, ys, "white", line))
    points = [s.point for s in shapes.shapes]
    fig.add_trace(
        go.Scatter(
            x=[p[0] for p in points],
            y=[p[1] for p in points],
            mode="markers+text",
            text=labels,
            textposition="middle center",
            textfont={"size": 11, "color": "#111111"},
            marker={"size": 14, "color": "rgba(255,255,255,0.01)", "line": {"width": 0}},
            customdata=[s.unit_id for s in shapes.shapes],
            hovertext=hovers,
            hoverinfo="text",
            showlegend=False,
        )
    )
    _layout(fig, shapes)
    return fig


def _wrapped(name: str) -> str:
    """A name's note in brackets on a line of its own (北苑社区 / (example), 第三网格 / （微网格）):
    side by side, the labels of narrow shapes run into each other."""
    for bracket in ("（", " ("):
        head, found, tail = name.partition(bracket)
        if found and head:
            return f"{head}<br>{found.strip()}{tail}"
    return name


def _outline(
    xs: Sequence[float], ys: Sequence[float], fill: str, line: dict[str, object]
) -> go.Scatter:
    return go.Scatter(
        x=list(xs),
        y=list(ys),
        mode="lines",
        fill="toself",
        fillcolor=fill,
        line=line,
        hoveron="points",  # not "fills": a hovered fill would hide the marker from a click
        hoverinfo="skip",
        showlegend=False,
    )


def _layout(fig: go.Figure, shapes: access.MapShapes) -> None:
    """Equal distances on screen: a degree of latitude is 1/cos(latitude) degrees of
    longitude long. Axes hidden: the shapes are the map."""
    ys = [y for s in shapes.shapes for ring in s.shells for y in ring[1]]
    middle = (min(ys) + max(ys)) / 2 if ys else 0.0
    ratio = 1 / max(math.cos(math.radians(middle)), 0.01)
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True, scaleanchor="x", scaleratio=ratio)
    fig.update_layout(
        font={"family": "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif"},
        height=HEIGHT,
        margin={"l": 5, "r": 5, "t": 30 if shapes.schematic else 5, "b": 5},
        plot_bgcolor="white",
        dragmode=False,
        hovermode="closest",
        clickmode="event+select",
    )
    if shapes.schematic:
        fig.add_annotation(
            text=plot_text(tr("map_schematic")),
            xref="paper",
            yref="paper",
            x=0,
            y=1.0,
            yanchor="bottom",
            xanchor="left",
            showarrow=False,
            font={"size": 13, "color": "#8a4b00"},
        )


def grid_map(
    f: Filters, r: Ranked, metrics: Sequence[str], default: str, *, key: str, with_grid: bool
) -> None:
    """The map of the ranking's units (`r`) under the ranking: a select of the page's
    ranking metrics, the map, and what it leaves out."""
    language = lang()
    options = [n for n in metrics if n in r.values.columns] or [default]
    metric = st.selectbox(
        tr("map_metric"),
        options,
        index=options.index(default) if default in options else 0,
        format_func=metric_label,
        key=f"map_metric_{key}",
    )
    cid = f.scope.community_id if r.by == "grid" else None
    shapes = _cache.map_shapes(who(), r.by, cid, tuple(r.names))
    unit = tr("map_units_grid" if r.by == "grid" else "map_units_community")
    mark = tr("map_schematic_mark") if shapes.schematic else ""
    title = tr("map_title", unit=unit, metric=metric_label(metric), period=f.period.label(language))
    st.markdown(f"**{md_escape(title + mark)}**")
    if not shapes.shapes:
        st.info(tr("map_none"))
        return
    column = r.values[metric] if metric in r.values.columns else pd.Series(dtype=float)
    values = {str(u): (None if pd.isna(v) else float(v)) for u, v in column.items()}
    chosen = f.scope.grid_id or (None if r.by == "grid" else f.scope.community_id)
    fig = figure(shapes, values, r.names, metric, _cache.current_targets(), chosen=chosen)
    chart_key = f"map_{key}_{r.by}_{cid}_{f.period.code}_{metric}"
    drill = r.by == "community" or with_grid
    show(  # with its text alternative: the same figures and cues as a table
        fig,
        title,
        unit,
        table=map_table(shapes, values, r.names, metric, _cache.current_targets()),
        key=chart_key,
        on_select=(lambda: _drill(chart_key, r.by)) if drill else "ignore",
        selection_mode="points",
        config={"displaylogo": False, "displayModeBar": False, "scrollZoom": False},
    )
    notes = [tr("map_legend")]
    if drill:
        notes.append(tr("map_drill_community" if r.by == "community" else "map_drill_grid"))
    st.caption(" ".join(notes))
    if shapes.missing:
        missing = tr("nar_list_sep").join(r.names.get(u, u) for u in shapes.missing)
        st.caption(md_escape(tr("map_missing", units=missing)))


def map_table(
    shapes: access.MapShapes,
    values: Mapping[str, float | None],
    names: Mapping[str, str],
    metric: str,
    tg: access.Targets,
) -> pd.DataFrame:
    """What the map shows, as text: each drawn unit, its figure and its status in words."""
    rows = [
        {
            tr("map_units_name"): unit.name,
            metric_label(metric): unit.shown,
            tr("map_status"): unit.cue,
        }
        for unit in _units(shapes, values, names, metric, tg)
    ]
    return pd.DataFrame(rows)


class _Unit(NamedTuple):
    name: str
    number: float | None
    shown: str  # the number as the page writes it
    cue: str  # the status against the target, in words ("" without one)


def _units(
    shapes: access.MapShapes,
    values: Mapping[str, float | None],
    names: Mapping[str, str],
    metric: str,
    tg: access.Targets,
) -> list[_Unit]:
    """Each drawn unit's name, figure and status: what the map and its table both show."""
    kind = access.metric(metric).format
    out = []
    for shape in shapes.shapes:
        value = values.get(shape.unit_id)
        number = None if value is None or pd.isna(value) else float(value)
        cue = access.target_cue(access.target_status(metric, number, tg), lang())
        name = names.get(shape.unit_id, shape.unit_id)
        out.append(_Unit(name, number, fmt_number(number, kind, lang()), cue))
    return out


def _drill(chart_key: str, by: str) -> None:
    """A marker was clicked: show that community (its grids), or that grid."""
    points = st.session_state[chart_key].selection.points
    found = [p.get("customdata") for p in points if p.get("customdata")]
    if not found:
        return
    unit = found[0][0] if isinstance(found[0], list) else str(found[0])
    if by == "grid":
        st.session_state[f"grid_{st.session_state.get('community')}"] = unit
    else:
        st.session_state["community"] = unit
