"""总览 Overview: the headline figures of every area, and the communities side by side."""

from pages._page import PageSpec, render

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
    )
)
