"""基层治理数据看板: page configuration and navigation, nothing else.

Run: make run   (or: .venv/bin/streamlit run app.py)
"""

import logging

import streamlit as st

from pages import _ui

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(
    page_title="基层治理数据看板", page_icon=":material/account_balance:", layout="wide"
)

_ui.sidebar_chrome()
who = _ui.gate()
PAGES = [
    ("pages/overview.py", "page_overview", ":material/dashboard:", "overview"),
    ("pages/meeting.py", "page_meeting", ":material/event_note:", "meeting"),
    ("pages/cases.py", "page_cases", ":material/gavel:", "cases"),
    ("pages/wishes.py", "page_wishes", ":material/volunteer_activism:", "wishes"),
    ("pages/employment.py", "page_employment", ":material/work:", "employment"),
    ("pages/property.py", "page_property", ":material/apartment:", "property"),
    ("pages/registry.py", "page_registry", ":material/groups:", "registry"),
]
if who.can("upload"):
    PAGES.append(("pages/upload.py", "page_upload", ":material/upload_file:", "upload"))
if who.can("admin"):
    PAGES.append(("pages/admin.py", "page_admin", ":material/admin_panel_settings:", "admin"))
navigation = st.navigation(
    [
        st.Page(path, title=_ui.tr(title), icon=icon, url_path=url, default=(url == "overview"))
        for path, title, icon, url in PAGES
    ]
)
_ui.entrypoint_ran()
navigation.run()
