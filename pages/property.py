"""红色物业 Property ratings: quarterly stars of property companies, failures and sanctions."""

from pages._page import PageSpec, render

render(
    PageSpec(
        title_key="page_property",
        intro_key="intro_property",
        kpis=("mean_stars", "share_four_stars", "failing_companies", "property_sanctions"),
        trend=("mean_stars",),
        ranking=("mean_stars", "share_four_stars", "failing_companies", "property_sanctions"),
        rank_by="mean_stars",
        rank_ties=("share_four_stars", "failing_companies"),
        dataset="property_ratings",
        with_grid=False,
        breakdowns=(("stars", "by_stars"), ("outcome", "by_outcome")),
    )
)
