"""就业服务 Employment service: job seekers, postings, positions, placements and the
placement rate."""

from pages._page import PageSpec, render

render(
    PageSpec(
        title_key="page_employment",
        intro_key="intro_employment",
        kpis=(
            "placement_rate",
            "job_seekers_registered",
            "job_postings",
            "positions_offered",
            "placed_stable",
            "placed_flexible",
        ),
        trend=("positions_offered", "placed_flexible", "job_postings", "placed_stable"),
        trend_kind="bar",
        ranking=(
            "placement_rate",
            "placed_flexible",
            "placed_stable",
            "positions_offered",
            "job_postings",
            "job_seekers_registered",
        ),
        rank_by="placement_rate",
        rank_ties=("job_seekers_registered", "placed_stable"),
        dataset="employment",
        with_grid=False,
        notes=("employment_note", "note_placement_rate"),
    )
)
