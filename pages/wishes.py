"""微心愿 Micro-wishes: registered, claimed and fulfilled, and who claims them."""

from pages._page import PageSpec, render

render(
    PageSpec(
        title_key="page_wishes",
        intro_key="intro_wishes",
        kpis=(
            "wishes_registered",
            "wishes_claimed",
            "wishes_fulfilled",
            "fulfillment_rate",
            "wishes_not_due",  # beside the rate: the wishes it does not judge yet
            "median_days_to_fulfil",
            "wishes_unclaimed_overdue",
        ),
        trend=("wishes_registered", "wishes_claimed", "wishes_fulfilled"),
        ranking=(
            "fulfillment_rate",
            "wishes_not_due",
            "wishes_registered",
            "wishes_fulfilled",
            "median_days_to_fulfil",
            "wishes_unclaimed_overdue",
        ),
        rank_by="fulfillment_rate",
        rank_ties=("wishes_registered", "wishes_unclaimed_overdue"),
        dataset="wishes",
        breakdowns=(("claimed_by", "by_claimant"), ("wish_category", "by_wish_category")),
        notes=("note_as_of_wishes",),
    )
)
