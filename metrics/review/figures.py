"""The city figures the meeting opens with: each against its target, with 环比 and 同比,
and the 12-month trend."""

from __future__ import annotations

import duckdb
import pandas as pd

from metrics import catalog, targets
from metrics.catalog import metric
from metrics.i18n import delta
from metrics.periods import Period, add_months
from metrics.queries import compared_periods
from metrics.targets import Targets

# The city figures the meeting opens with, in the order they are read out.
HEADLINE = [
    "cases_received",
    "disputes_handled",
    "resolution_rate",
    "overdue_cases",
    "median_days_to_resolve",
    "problems_resolved",
    "wishes_fulfilled",
    "fulfillment_rate",
    "wishes_unclaimed_overdue",
    "positions_offered",
    "placed_flexible",
    "mean_stars",
    "workers_per_10k",
]
TREND_METRICS = ["cases_received", "resolution_rate"]


def headline(
    con: duckdb.DuckDBPyConnection, period: Period, tg: Targets, lang: str = "zh"
) -> pd.DataFrame:
    """City KPIs: value, previous period and 环比, same period last year and 同比, status.

    环比 and 同比 are i18n.delta: for a share the difference in percentage points (-13.0), for
    mean stars in stars, for anything else the relative change (0.2 = +20%); i18n.fmt_delta
    says them ("下降13.0个百分点" reads right, "下降13.5%" of a rate does not)."""
    now = catalog.totals(con, HEADLINE, period)
    # Each metric against its own earlier periods: a month of quarterly property ratings is
    # compared with the quarter before, not with the same quarter's ratings.
    compared = {n: compared_periods(metric(n).dataset, period) for n in HEADLINE}
    wanted: dict[Period, list[str]] = {}
    for name, pair in compared.items():
        for earlier in pair:
            wanted.setdefault(earlier, []).append(name)
    # None ("—") for a comparison period that starts before a metric's data begin.
    values = {
        earlier: catalog.totals(con, names, earlier, compared=True)
        for earlier, names in wanted.items()
    }
    before = {n: values[mom][n] for n, (mom, _) in compared.items()}
    year_ago = {n: values[yoy][n] for n, (_, yoy) in compared.items()}
    rows = []
    for name in HEADLINE:
        m, target = metric(name), tg.get(name)
        state = target.status(now[name]) if target else None
        rows.append(
            {
                "metric": name,
                "label": m.text("label", lang),
                "format": m.format,
                "value": now[name],
                "previous": before[name],
                "mom": delta(m.format, now[name], before[name]),
                "year_ago": year_ago[name],
                "yoy": delta(m.format, now[name], year_ago[name]),
                "target": target.text(lang) if target else "",
                "status": state,
                "cue": targets.cue(state, lang) if target else "",
            }
        )
    return pd.DataFrame(rows)


def trend(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """City totals of TREND_METRICS by month, the 12 months up to the period's end."""
    last = period.end.replace(day=1)
    window = Period.span(add_months(last, -11), last)
    frame = catalog.trend(con, TREND_METRICS, window).reset_index()
    return frame
