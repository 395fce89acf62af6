"""基层治理数据看板: page configuration and navigation, nothing else.

Run: make run   (or: .venv/bin/streamlit run app.py)
"""

import logging
from pathlib import Path

import streamlit as st

from metrics.access import Action
from pages import _style as style
from pages._page import entrypoint_ran, leave_legacy_mode, sidebar_chrome
from pages._signin import mode_banner, principal, signin_page
from pages._text import tr

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# The favicon is the app's own file (an SVG sent inline): a Material icon name here makes
# the browser fetch it from fonts.gstatic.com. The pages' Material icons below are drawn
# with the font Streamlit serves itself.
ICON = Path(__file__).resolve().parent / "assets" / "icon.svg"
# path, title, icon, URL, the permission it needs (None: anyone who may read)
PAGES: list[tuple[str, str, str, str, Action | None]] = [
    ("pages/overview.py", "page_overview", ":material/dashboard:", "overview", None),
    ("pages/meeting.py", "page_meeting", ":material/event_note:", "meeting", None),
    ("pages/followups.py", "page_followups", ":material/assignment_turned_in:", "followups", None),
    ("pages/warnings.py", "page_warnings", ":material/notifications_active:", "warnings", None),
    ("pages/cases.py", "page_cases", ":material/gavel:", "cases", None),
    ("pages/wishes.py", "page_wishes", ":material/volunteer_activism:", "wishes", None),
    ("pages/employment.py", "page_employment", ":material/work:", "employment", None),
    ("pages/property.py", "page_property", ":material/apartment:", "property", None),
    ("pages/registry.py", "page_registry", ":material/groups:", "registry", None),
    ("pages/upload.py", "page_upload", ":material/upload_file:", "upload", "upload"),
    ("pages/admin.py", "page_admin", ":material/admin_panel_settings:", "admin", "admin"),
]

leave_legacy_mode()
# "auto": Streamlit 1.67 starts the sidebar collapsed where the window is no wider than its
# medium breakpoint (a phone; open at 800 px and up), unless the reader toggled it before.
st.set_page_config(
    page_title="基层治理数据看板",
    page_icon=str(ICON),
    layout="wide",
    initial_sidebar_state="auto",
)
sidebar_chrome()
style.inject()  # every CSS rule of the app: pages/_style.py
who = principal()
if who is None:
    # Not signed in, or not on the roles list: every address shows the sign-in (or the
    # refusal), so a bookmarked page asks for a sign-in instead of "page not found".
    st.navigation(
        [st.Page(signin_page, title=tr("login_title"), url_path="home", default=True)]
        + [
            st.Page(signin_page, title=tr("login_title"), url_path=url) for _, _, _, url, _ in PAGES
        ],
        position="hidden",
    ).run()
    st.stop()
mode_banner(who)
# The default page is served at "/" only: Streamlit answers its own url_path with "Page not
# found". So the overview is the default under another (never shown) path, and /overview,
# which links and bookmarks use, is the same page again, hidden from the menu.
navigation = st.navigation(
    [
        st.Page(path, title=tr(title), icon=icon, url_path=url, default=(url == "overview"))
        if url != "overview"
        else st.Page(path, title=tr(title), icon=icon, url_path="home", default=True)
        for path, title, icon, url, needs in PAGES
        if needs is None or who.can(needs)
    ]
    + [st.Page(PAGES[0][0], title=tr(PAGES[0][1]), url_path=PAGES[0][3], visibility="hidden")]
)
entrypoint_ran()
navigation.run()
