"""The app's style sheet: every CSS rule of the app, injected once per script run by app.py
(`inject`). Constants of this file only: no uploaded or user text goes in.

Sections, each with its own reason: LAYOUT_CSS (how cards and charts wrap on narrow
screens), A11Y_CSS (contrast and focus for GB/T 37668-2019 / WCAG 2.x AA), and
TABLE_DOWNLOAD_CSS (Streamlit's own table CSV is hidden: it keeps formulas live).
Meeting mode's large type stays in pages/meeting.py, which alone uses it.
"""

from __future__ import annotations

import streamlit as st

# Cards and charts that wrap on a narrow screen (a laptop at 800 px with the sidebar open
# leaves the page about 470 px): st.columns keeps four cards a row however narrow, and cuts
# their figures short. Each keyed container (class st-key-<key>) sits in a layout wrapper,
# the item of a wrapping horizontal container: a card is at least 13.5rem wide (room for
# "18.3人/万人"; two a row at 800 px) and at most a quarter of the row, its title wrapping
# rather than cut short; the trend and the ranking chart share a row 3:2 where both fit.
# On a phone (under 640 px, where two 13.5rem cards never fit; the sidebar starts collapsed
# there, app.py) one card a row, full width: the quarter would hold it at 13.5rem, half the
# screen. Wide tables scroll inside
# themselves with their first column pinned (column_config, pages/_records.py `pinned`);
# nothing here may make the page scroll sideways (tests/browser/test_screens.py).
_ITEM = '[data-testid="stLayoutWrapper"]:has(> {})'
LAYOUT_CSS = f"""
{_ITEM.format('[class*="st-key-kpi_"]')} {{
    flex: 1 1 13.5rem; min-width: 13.5rem; max-width: calc((100% - 3rem) / 4);
}}
{_ITEM.format(".st-key-chart_trend")} {{ flex: 3 1 22rem; min-width: min(22rem, 100%); }}
{_ITEM.format(".st-key-chart_ranking")} {{ flex: 2 1 18rem; min-width: min(18rem, 100%); }}
{_ITEM.format('[class*="st-key-breakdown_"]')} {{ flex: 1 1 18rem; min-width: min(18rem, 100%); }}
[class*="st-key-kpi_"] [data-testid="stMetricLabel"] * {{
    white-space: normal; overflow: visible; text-overflow: clip;
}}
@media (max-width: 640px) {{
    {_ITEM.format('[class*="st-key-kpi_"]')} {{ flex-basis: 100%; max-width: 100%; min-width: 0; }}
}}
"""

# Contrast for GB/T 37668-2019 / WCAG 2.x AA (docs/decisions/0015-accessibility.md).
# Streamlit draws captions (st.caption: page intros, the KPI cards' comparisons, the data's
# date) in the text colour at 60 % opacity: #797b7e on white, 4.24:1, and 4.11:1 on the
# sidebar's #f5f5f4, under the 4.5:1 that small text needs. No theme option sets it, so
# the caption colour is given here, opaque: #5f6368 reads 6.05:1 on white, 5.55:1 on the
# sidebar and 5.40:1 on a table header's #f0f2f6. The app's root in front outranks
# Streamlit's one class whichever style sheet comes first.
A11Y_CSS = """
[data-testid="stApp"] [data-testid="stCaptionContainer"] { color: #5f6368; opacity: 1; }
"""

# Streamlit writes its table toolbar's "Download as CSV" as the cells are, so a cell such
# as =HYPERLINK(...) or @SUM(...) would run as a formula in Excel; our own download buttons
# (metrics.export) neutralise such cells and stay. Keyed to the toolbar button's label
# (search and fullscreen stay).
TABLE_DOWNLOAD_CSS = (
    '[data-testid="stElementToolbarButton"]:has(button[aria-label^="Download as CSV"])'
    "{display: none !important;}"
)


def inject() -> None:
    """The whole style sheet, once per script run (app.py)."""
    st.html(f"<style>{LAYOUT_CSS}{A11Y_CSS}{TABLE_DOWNLOAD_CSS}</style>")
