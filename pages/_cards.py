"""KPI cards: a metric's value for the period, its change (环比) and year-on-year change
(同比), its target status, and a sparkline of its last twelve months."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from metrics import access
from metrics.i18n import delta, fmt_delta
from metrics.periods import Period, add_months
from pages import _cache
from pages._filters import Filters
from pages._signin import who
from pages._text import lang, metric_label, metric_value, month_label, tr

DeltaColour = Literal["normal", "inverse", "off"]

REGISTRY_DATASETS = ("communities", "grids")  # undated: the registry as it stands
DELTA_COLOURS: dict[str, DeltaColour] = {"up": "normal", "down": "inverse"}  # better is green
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


def _spark_colour(change: float | None, delta_color: DeltaColour) -> str:
    """The colour st.metric would give the chart: that of the delta."""
    if not change or delta_color == "off":
        return SPARK_COLOURS["off"]
    good = change > 0 if delta_color == "normal" else change < 0
    return SPARK_COLOURS["good" if good else "bad"]


def compared(names: Sequence[str], f: Filters) -> dict[str, tuple[Period, Period]]:
    """Per metric, the periods its figure is compared with: (环比, 同比)."""
    return {n: access.compared_periods(n, f.period) for n in names}


def _totals_in(periods: dict[str, Period], f: Filters, token: str) -> dict[str, float | None]:
    """Each metric's total for its own period (metrics differ in what they compare with);
    none ("—") for a period that starts before the metric's data begin."""
    out: dict[str, float | None] = {}
    wanted: dict[str, list[str]] = {}
    for name, period in periods.items():
        wanted.setdefault(period.code, []).append(name)
    for code, group in wanted.items():
        cid, gid = f.scope.community_id, f.scope.grid_id
        out.update(_cache.totals(token, who(), tuple(group), code, cid, gid, compared=True))
    return out


def change_label(key: str, period: Period, other: Period) -> str:
    """环比 / 同比, said as what it is when the comparison is not with a period of the same
    kind: a month of quarterly ratings is compared with the previous quarter."""
    if other.kind == "quarter" and period.kind != "quarter":
        return tr(f"{key}_quarter")
    return tr(key)


@dataclass(frozen=True)
class _Figures:
    """One metric's value for the period and for the periods it is compared with."""

    now: float | None
    previous: float | None  # 环比
    year_ago: float | None  # 同比
    against: tuple[Period, Period]  # the periods of `previous` and `year_ago`


def kpi_cards(names: Sequence[str], f: Filters, per_row: int = 4) -> dict[str, float | None]:
    """KPI cards: value for the period, 环比 as the delta, 同比 and the meaning in the help.

    A share's change is in percentage points and mean stars' in stars (i18n.fmt_delta)."""
    token = _cache.version().token
    cid, gid = f.scope.community_id, f.scope.grid_id
    now = _cache.totals(token, who(), tuple(names), f.period.code, cid, gid)
    against = compared(names, f)
    prev = _totals_in({n: p for n, (p, _) in against.items()}, f, token)
    ago = _totals_in({n: a for n, (_, a) in against.items()}, f, token)
    tg = _cache.current_targets()
    # The last 12 months as a sparkline in each monthly card.
    spark = None
    if f.period.kind == "month":
        last_year = Period.span(add_months(f.period.start, -11), f.period.end)
        spark = _cache.trend(token, who(), tuple(names), last_year.code, cid, gid)
    for start in range(0, len(names), per_row):
        # A row that wraps (LAYOUT_CSS): two cards a row on a narrow screen, not four cut short.
        row = st.container(horizontal=True, gap="small")
        for name in names[start : start + per_row]:
            figures = _Figures(now[name], prev[name], ago[name], against[name])
            _card(row.container(key=f"kpi_{name}"), name, f.period, figures, tg, spark)
    return now


def _card(
    col: DeltaGenerator,
    name: str,
    period: Period,
    v: _Figures,
    tg: access.Targets,
    spark: pd.DataFrame | None,
) -> None:
    language = lang()
    m = access.metric(name)
    mom = delta(m.format, v.now, v.previous)
    card_delta = fmt_delta(m.format, v.now, v.previous, language, minus="-")
    if card_delta.startswith("±"):  # no change as far as the figure shows
        mom = 0.0
    elif mom is None and v.previous == 0 and v.now:  # up from nothing: no %
        card_delta = tr("delta_from_zero")
    state = access.target_status(name, v.now, tg)
    cue = f"{access.target_cue(state, language)} · " if state else ""
    if m.dataset in REGISTRY_DATASETS:
        # The registry is as it stands, not dated: no change or sparkline to show.
        col.metric(
            metric_label(name),
            metric_value(name, v.now),
            help=m.text("description", language),
            border=True,
        )
        col.caption(cue.removesuffix(" · ") or tr("registry_current"))
        return
    mom_label = change_label("mom", period, v.against[0])
    yoy_label = change_label("yoy", period, v.against[1])
    yoy_text = fmt_delta(m.format, v.now, v.year_ago, language)
    help_text = "\n\n".join(
        [
            m.text("description", language),
            tr(
                "change_help",
                what=mom_label,
                change=fmt_delta(m.format, v.now, v.previous, language),
                value=metric_value(name, v.previous),
            ),
            tr(
                "change_help", what=yoy_label, change=yoy_text, value=metric_value(name, v.year_ago)
            ),
        ]
    )
    delta_color: DeltaColour = "off" if not mom else DELTA_COLOURS.get(m.direction, "off")
    card = col.container(border=True) if spark is not None else col
    card.metric(
        metric_label(name),
        metric_value(name, v.now),
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
            f"{month_label(d)}: {metric_value(name, None if pd.isna(x) else x)}"
            for d, x in zip(spark.index, spark[name].tolist(), strict=True)
        ]
        colour = _spark_colour(mom, delta_color)
        card.html(sparkline(values, tips, bars=m.additive, colour=colour))
    col.caption(f"{cue}{yoy_label} {yoy_text}")
