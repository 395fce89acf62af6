"""就业服务 Employment service: job seekers, postings, positions and placements."""

from pages._page import PageSpec, render

render(
    PageSpec(
        title_key="page_employment",
        intro_key="intro_employment",
        kpis=(
            "job_seekers_registered",
            "job_postings",
            "positions_offered",
            "placed_stable",
            "placed_flexible",
        ),
        trend=("positions_offered", "placed_flexible", "job_postings", "placed_stable"),
        trend_kind="bar",
        ranking=(
            "placed_flexible",
            "placed_stable",
            "positions_offered",
            "job_postings",
            "job_seekers_registered",
        ),
        rank_by="placed_flexible",
        rank_ties=("placed_stable", "positions_offered"),
        dataset="employment",
        with_grid=False,
        notes=("employment_note",),
    )
)
