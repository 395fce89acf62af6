"""Text in the reader's language: the language chosen, messages, metric labels and values,
months, and text from data made safe for Markdown and Plotly."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import streamlit as st

from metrics import access
from metrics.i18n import fmt_number, t
from metrics.periods import Period

# -- text from data is shown as text ----------------------------------------------------
# Names and other values come from uploads. In Markdown they must not become links,
# images, colour directives or HTML; in Plotly labels, not tags.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: str) -> str:
    """`text` for st.markdown, every character that means something escaped."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def plot_text(text: str) -> str:
    """`text` for a Plotly label: Plotly reads <b>, <a href> and the like as markup."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- language ----------------------------------------------------------------------------
def lang() -> str:
    value = st.session_state.get("lang")
    return value if value in ("zh", "en") else "zh"


def tr(key: str, **values: Any) -> str:
    return t(key, lang(), **values)


def month_label(day: dt.date) -> str:
    """A month as the reader writes it: 2024年1月 / Jan 2024."""
    return Period.parse(f"{day.year}-{day.month:02d}").label(lang())


# -- metrics as the reader reads them ------------------------------------------------------
def metric_label(name: str) -> str:
    return access.metric(name).text("label", lang())


def metric_value(name: str, value: float | None) -> str:
    m = access.metric(name)
    unit = m.text("unit", lang())
    text = fmt_number(value, m.format, lang())
    if value is None or not unit or m.format == "pct":
        return text
    if lang() == "zh":
        return f"{text}{unit}"
    # English units are long ("households", "per 10,000") and the label already says what
    # is counted, so an English card shows the number alone and cannot be cut short.
    return text


def metric_unit_title(name: str) -> str:
    m = access.metric(name)
    unit = m.text("unit", lang())
    return unit or ("%" if m.format == "pct" else "")
