"""社区与网格 Communities and grids: the organisation and staffing against the standards."""

from pages._charts import households_histogram, standard_bars
from pages._filters import Filters
from pages._page import PageSpec, render


def _chart(f: Filters) -> None:
    # The ranking beside it already shows staffing; here, grid sizes against the standard.
    if f.scope.community_id:
        standard_bars("households_per_grid", f, "households_chart")
    else:
        households_histogram(f)


render(
    PageSpec(
        title_key="page_registry",
        intro_key="intro_registry",
        kpis=(
            "communities",
            "grids",
            "households_per_grid",
            "grids_within_standard",
            "community_workers",
            "workers_per_10k",
            "grid_party_branches",
            "party_member_households",
        ),
        trend=(),
        chart=_chart,
        ranking=(
            "workers_per_10k",
            "community_workers",
            "residents",
            "grids",
            "households_per_grid",
            "grids_within_standard",
            "party_groups",
        ),
        rank_by="workers_per_10k",
        rank_ties=("residents",),
        dataset="grids",
    )
)
