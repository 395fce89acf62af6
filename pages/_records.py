"""Tables: the records behind the figures a page at a time, their columns in the reader's
language, and the CSV and Excel downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from metrics import access
from metrics.i18n import name_label, value_label
from metrics.periods import Period
from metrics.schemas import DATASETS
from pages import _cache
from pages._filters import Filters, community_names
from pages._signin import who
from pages._text import lang, tr


def records_table(dataset: str, f: Filters, *, page_size: int = 100) -> None:
    """The records behind the figures, for the scope and period, a page at a time."""
    spec = DATASETS[dataset]
    st.subheader(tr("records_title", dataset=spec.zh if lang() == "zh" else spec.en))
    token, me = _cache.version().token, who()

    def fetch(offset: int, limit: int) -> tuple[pd.DataFrame, int]:
        args = (f.period.code, f.scope.community_id, f.scope.grid_id, offset, limit)
        return _cache.records(token, me, dataset, *args)

    total = fetch(0, 1)[1]
    if total == 0:
        st.info(tr("no_records"))
        return
    page = page_picker(total, page_size, key=f"page_{dataset}")
    frame, _ = fetch((page - 1) * page_size, page_size)
    shown = _with_community_name(localise_columns(frame, dataset), frame, dataset)
    st.dataframe(
        shown,
        hide_index=True,
        placeholder="—",
        key=f"records_{dataset}",
        column_config=pinned(shown.columns),
    )
    from pages._track import track_record  # (late: _track imports this module)

    track_record(frame, dataset, key=f"rec_{dataset}")
    if total <= 100_000:  # larger extracts are the CLI's job
        full, _ = fetch(0, total)
        download_buttons(
            _with_community_name(localise_columns(full, dataset), full, dataset),
            f"{dataset}-{f.period.code}",
            key=f"rec_{dataset}",
        )


def _with_community_name(shown: pd.DataFrame, frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """`shown` with the community's name beside its code: a leader reads 北苑社区, not QTX01
    (the register of communities has its names already)."""
    if dataset == "communities" or "community_id" not in frame.columns:
        return shown
    names = community_names()
    at = list(frame.columns).index("community_id") + 1
    shown = shown.copy()
    shown.insert(at, tr("col_community"), [names.get(c, c) for c in frame["community_id"]])
    return shown


def page_picker(total: int, page_size: int, *, key: str) -> int:
    """Which page (from 1) of `total` rows to show, `page_size` at a time; the count beside."""
    pages = (total - 1) // page_size + 1
    if not 1 <= st.session_state.get(key, 1) <= pages:  # fewer pages than when it was chosen
        st.session_state[key] = 1
    c1, c2 = st.columns([1, 3])
    page = c1.number_input(tr("page_of", pages=pages), min_value=1, max_value=pages, key=key)
    c2.caption(tr("records_count", count=f"{total:,}"))
    return int(page)


def labelled(frame: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """The columns named in `headers` (column -> message key), in that order, each headed
    in the reader's language; columns the frame lacks are left out."""
    present = [c for c in headers if c in frame.columns]
    return frame[present].rename(columns={c: tr(headers[c]) for c in present})


def localise_columns(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Contract headers in the reader's language; dates as dates, not midnight timestamps."""
    spec = DATASETS[dataset]
    frame = frame.copy()
    for fld in spec.fields:
        if fld.name not in frame:
            continue
        if fld.type == "date":
            frame[fld.name] = pd.to_datetime(frame[fld.name]).dt.date
        elif fld.type == "month":  # 2025年12月 / Dec 2025, not 2025-12-01
            frame[fld.name] = [
                "" if pd.isna(d) else Period.parse(f"{d.year}-{d.month:02d}").label(lang())
                for d in pd.to_datetime(frame[fld.name])
            ]
        elif fld.type == "quarter":  # 2025年第3季度 / Q3 2025
            frame[fld.name] = [
                "" if pd.isna(q) else Period.parse(str(q)).label(lang()) for q in frame[fld.name]
            ]
        elif fld.allowed:  # the contract's fixed values in the reader's language; an
            # empty one in words where it has a meaning (an unclaimed wish), never "nan"
            frame[fld.name] = [value_label(v, lang(), fld.name) for v in frame[fld.name]]
        elif fld.name == "name":  # a community's or grid's name, "(example)" in English
            frame[fld.name] = [name_label(v, lang()) for v in frame[fld.name]]
        elif fld.type in ("text", "code"):
            frame[fld.name] = frame[fld.name].fillna("")  # an empty cell, not "None"
    return frame.rename(columns={fld.name: fld.label(lang()) for fld in spec.fields})


def download_buttons(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], stem: str, *, key: str
) -> None:
    """CSV and Excel of a table (or of what `frame()` makes, when only a press needs it);
    the files are made when a button is pressed, not per rerun."""

    def table() -> pd.DataFrame:
        return frame() if callable(frame) else frame

    row = st.container(horizontal=True)
    row.download_button(
        tr("download_csv"),
        data=lambda: access.csv_bytes(table()),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
    )
    row.download_button(
        tr("download_xlsx"),
        data=lambda: access.xlsx_bytes({stem[:31]: table()}),
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{key}",
        on_click="ignore",
    )


def pinned(
    columns: Iterable[Any], config: Mapping[str, Any] | None = None, *, first: int = 1
) -> dict[str, Any]:
    """`config` (st.dataframe's column_config) with the first `first` of `columns` pinned:
    a table wider than the screen (a phone, the 11 columns of a ranking) scrolls inside
    itself and its first column, which says what a row is, stays in view."""
    out: dict[str, Any] = dict(config or {})
    for column in list(columns)[:first]:
        given = out.get(str(column))
        if given is None:
            out[str(column)] = {"pinned": True}
        elif isinstance(given, dict):
            out[str(column)] = {**given, "pinned": True}
        else:  # a label only
            out[str(column)] = {"label": given, "pinned": True}
    return out


def table_height(rows: int) -> int:
    """Tall enough for every row without an empty one below (35 px rows, 800 px at most)."""
    return min(35 * (rows + 1) + 3, 800)
