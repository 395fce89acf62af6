"""红色物业 Property ratings: quarterly stars of property companies, failures and sanctions,
and the companies ranked across communities."""

import pandas as pd
import streamlit as st

from metrics import access
from pages import _cache
from pages._filters import Filters
from pages._page import PageSpec, render
from pages._records import download_buttons, pinned
from pages._signin import who
from pages._text import lang, tr

# The league's columns (queries.property_league) and their headers; the communities'
# names last, as the longest.
LEAGUE_COLUMNS = {
    "company": "col_company",
    "mean_stars": "col_mean_stars",
    "worst_stars": "col_worst_stars",
    "worst_quarter": "col_worst_quarter",
    "sanctions": "col_sanctions",
    "ratings": "col_ratings",
    "compounds": "col_compounds",
    "community_count": "col_community_count",
    "communities": "col_company_communities",
}


def company_league(f: Filters) -> None:
    """物业企业榜: each company across the communities it serves, best first, for download."""
    st.markdown(f"**{tr('company_league_title', period=f.period.label(lang()))}**")
    league = _cache.property_league(
        _cache.version().token, who(), f.period.code, f.scope.community_id
    )
    if league.empty:
        st.info(tr("company_league_empty"))
        return
    shared = league["rank"].duplicated(keep=False)
    table = pd.DataFrame(
        {tr("rank"): [access.rank_text(r, s) for r, s in zip(league["rank"], shared, strict=True)]}
    )
    for column, key in LEAGUE_COLUMNS.items():
        values = league[column]
        table[tr(key)] = values.round(2) if column == "mean_stars" else values
    stars = st.column_config.NumberColumn(tr("col_mean_stars"), format="%.2f")
    config = pinned(table.columns[:2], {tr("col_mean_stars"): stars}, first=2)  # rank, company
    st.dataframe(table, hide_index=True, column_config=config)
    st.caption(tr("company_league_rule"))
    download_buttons(table, f"property-companies-{f.period.code}", key="company_league")


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
        sections=(company_league,),
    )
)
