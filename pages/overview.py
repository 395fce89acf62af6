"""总览 Overview: the headline figures of every area, and the communities side by side."""

import streamlit as st

from pages import _cache
from pages._filters import Filters
from pages._page import PageSpec, render
from pages._signin import who
from pages._text import tr


def _warnings(_f: Filters) -> None:
    """How many warnings there are now, linked to the 预警 page."""
    found = _cache.warnings(who())
    red = sum(w.level == "red" for w in found)
    st.markdown(f"[{tr('warn_count', red=red, amber=len(found) - red)}](/warnings)")


render(
    PageSpec(
        title_key="page_overview",
        intro_key="intro_overview",
        kpis=(
            "disputes_handled",
            "resolution_rate",
            "problems_resolved",
            "overdue_cases",
            "wishes_fulfilled",
            "fulfillment_rate",
            "placed_flexible",
            "mean_stars",
        ),
        trend=("disputes_handled", "problems_resolved", "supervision_orders"),
        ranking=(
            "resolution_rate",
            "overdue_cases",
            "fulfillment_rate",
            "wishes_fulfilled",
            "placed_flexible",
            "mean_stars",
            "workers_per_10k",
        ),
        rank_by="resolution_rate",
        rank_ties=("cases_received", "overdue_cases"),
        with_grid=False,
        sections=(_warnings,),
    )
)
