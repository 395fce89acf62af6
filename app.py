"""基层治理数据看板: page configuration and navigation, nothing else.

Run: make run   (or: .venv/bin/streamlit run app.py)
"""

import logging

import streamlit as st

from pages import _ui

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# path, title, icon, URL, the permission it needs (None: anyone who may read)
PAGES = [
    ("pages/overview.py", "page_overview", ":material/dashboard:", "overview", None),
    ("pages/meeting.py", "page_meeting", ":material/event_note:", "meeting", None),
    ("pages/cases.py", "page_cases", ":material/gavel:", "cases", None),
    ("pages/wishes.py", "page_wishes", ":material/volunteer_activism:", "wishes", None),
    ("pages/employment.py", "page_employment", ":material/work:", "employment", None),
    ("pages/property.py", "page_property", ":material/apartment:", "property", None),
    ("pages/registry.py", "page_registry", ":material/groups:", "registry", None),
    ("pages/upload.py", "page_upload", ":material/upload_file:", "upload", "upload"),
    ("pages/admin.py", "page_admin", ":material/admin_panel_settings:", "admin", "admin"),
]

_ui.leave_legacy_mode()
st.set_page_config(
    page_title="基层治理数据看板", page_icon=":material/account_balance:", layout="wide"
)
_ui.sidebar_chrome()
_ui.hide_table_download()  # Streamlit's own table CSV keeps formulas live
who = _ui.principal()
if who is None:
    # Not signed in, or not on the roles list: every address shows the sign-in (or the
    # refusal), so a bookmarked page asks for a sign-in instead of "page not found".
    st.navigation(
        [
            st.Page(_ui.signin_page, title=_ui.tr("login_title"), url_path=url, default=i == 0)
            for i, (_, _, _, url, _) in enumerate(PAGES)
        ],
        position="hidden",
    ).run()
    st.stop()
_ui.mode_banner(who)
navigation = st.navigation(
    [
        st.Page(path, title=_ui.tr(title), icon=icon, url_path=url, default=(url == "overview"))
        for path, title, icon, url, needs in PAGES
        if needs is None or who.can(needs)
    ]
)
_ui.entrypoint_ran()
navigation.run()
