"""矛盾纠纷与诉求 Disputes and urgent problems: intake, resolution, backlog and overdue cases."""

from pages import _ui


def _extra(f: _ui.Filters) -> None:
    left, right = _ui.st.columns(2)
    with left:
        _ui.breakdown_chart("cases", "channel", f, "by_channel")
    with right:
        _ui.breakdown_chart("cases", "category", f, "by_category")


_ui.render(
    _ui.PageSpec(
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
        dataset="cases",
        extra=_extra,
    )
)
