"""矛盾纠纷与诉求 Disputes and urgent problems: intake, resolution, backlog and overdue cases."""

from pages._page import PageSpec, render

render(
    PageSpec(
        title_key="page_cases",
        intro_key="intro_cases",
        kpis=(
            "cases_received",
            "disputes_handled",
            "problems_resolved",
            "resolution_rate",
            "median_days_to_resolve",
            "open_backlog",
            "overdue_cases",
            "supervision_orders",
        ),
        trend=("cases_received", "disputes_handled", "problems_resolved", "open_backlog"),
        ranking=(
            "resolution_rate",
            "cases_received",
            "median_days_to_resolve",
            "open_backlog",
            "overdue_cases",
            "supervision_orders",
        ),
        rank_by="resolution_rate",
        rank_ties=("cases_received", "overdue_cases"),
        dataset="cases",
        breakdowns=(("channel", "by_channel"), ("category", "by_category")),
        notes=("note_as_of_cases",),
    )
)
