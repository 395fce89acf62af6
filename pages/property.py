"""红色物业 Property ratings: quarterly stars of property companies, failures and sanctions."""

from pages import _ui


def _extra(f: _ui.Filters) -> None:
    left, right = _ui.st.columns(2)
    with left:
        _ui.breakdown_chart("property_ratings", "stars", f, "by_stars")
    with right:
        _ui.breakdown_chart("property_ratings", "outcome", f, "by_outcome")


_ui.render(
    _ui.PageSpec(
        title_key="page_property",
        intro_key="intro_property",
        kpis=("mean_stars", "share_four_stars", "failing_companies", "property_sanctions"),
        trend=("mean_stars",),
        ranking=("mean_stars", "share_four_stars", "failing_companies", "property_sanctions"),
        rank_by="mean_stars",
        dataset="property_ratings",
        with_grid=False,
        extra=_extra,
    )
)
