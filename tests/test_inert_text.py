"""Text that comes from uploads is shown as text: never as a Markdown link, image, colour
directive or HTML, nor as Plotly markup. The 515 strings of the Big List of Naughty Strings
go through the escaping helpers and, as case notes, through the store and the pages; a
hostile string as every name and free-text field (community, street, grid, category,
beneficiary group, compound, company, a file name) goes through every page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics.store import Store
from pages._text import md_escape, plot_text
from tests.conftest import fixture_table

BLNS = Path(__file__).resolve().parent / "fixtures/corpora/big-list-of-naughty-strings/blns.json"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOSTILE = "[点我](javascript:alert(1))<img src=x onerror=alert(1)>**粗** :red[红] $x$"
SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def naughty() -> list[str]:
    strings: list[str] = json.loads(BLNS.read_text(encoding="utf-8"))
    assert len(strings) == 515
    return strings


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_markdown_escaping_leaves_no_active_character() -> None:
    for s in naughty():
        escaped = md_escape(s)
        # Every special character is preceded by a backslash, and nothing else changed.
        assert unescape(escaped) == s
        i = 0
        while i < len(escaped):
            if escaped[i] == "\\":
                i += 2
                continue
            assert escaped[i] not in SPECIAL, (s, escaped)
            i += 1


def test_plotly_labels_carry_no_tags() -> None:
    for s in naughty():
        label = plot_text(s)
        assert "<" not in label and ">" not in label
        assert label.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == s


def hostile(table: pa.Table, *columns: str) -> pa.Table:
    """`table` with every value of `columns` replaced by HOSTILE (numbered, so they differ)."""
    rows = table.to_pylist()
    for i, row in enumerate(rows):
        for column in columns:
            row[column] = f"{HOSTILE}{i}"
    return pa.Table.from_pylist(rows)


def build_hostile_store(root: Path) -> Store:
    """The fixture store with HOSTILE as every name and free-text field, and one September
    case per naughty string as its note."""
    store = Store(root)
    tables = {
        "communities": hostile(fixture_table("communities"), "name", "street"),
        "grids": hostile(fixture_table("grids"), "name"),
        "wishes": hostile(fixture_table("wishes"), "beneficiary_group", "wish_category"),
        "employment": fixture_table("employment"),
        "property_ratings": hostile(fixture_table("property_ratings"), "compound", "company"),
    }
    cases = hostile(fixture_table("cases"), "category").to_pylist()
    template = next(c for c in cases if c["reported_on"].startswith("2025-09"))
    for i, note in enumerate(naughty()):
        cases.append(
            {
                **template,
                "case_id": f"N{i:03d}",
                "note": note,
                "resolved_on": None,
                "status": "办理中",
            }
        )
    tables["cases"] = pa.Table.from_pylist(cases)
    for name, table in tables.items():
        store.replace_all(name, table, refresh=False)
    store.refresh_all()
    return store


@pytest.fixture
def hostile_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    store = build_hostile_store(tmp_path / "data")
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")  # real data: shown in local mode only
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


def test_naughty_notes_are_stored_and_read_back_identical(hostile_store: Store) -> None:
    con = hostile_store.connect()
    notes = dict(con.execute("SELECT case_id, note FROM cases WHERE case_id LIKE 'N%'").fetchall())
    assert [notes[f"N{i:03d}"] for i in range(515)] == naughty()


# Markdown that would be live: a link or image, HTML, a colour directive, bold.
ACTIVE = re.compile(r"\]\(javascript|(?<!\\)<img|(?<!\\):red\[|(?<!\\)\*\*粗")
MARKDOWN_ELEMENTS = (
    "markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success",
)  # fmt: skip


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@pytest.mark.parametrize(
    "page",
    [
        "overview",
        "meeting",
        "cases",
        "wishes",
        "employment",
        "property",
        "registry",
        "upload",
        "admin",
    ],
)
def test_hostile_text_stays_text_on_every_page(hostile_store: Store, page: str) -> None:
    if page in ("upload", "admin"):  # a hostile file name, in the history and the audit log
        from metrics import access, ingest

        upload = (
            "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注\n"
            f"H01,QTX01,QTX01-G01,矛盾纠纷,{HOSTILE},板凳会,否,2025-09-03,,办理中,{HOSTILE}\n"
        ).encode()
        validation = ingest.validate(upload, f"{HOSTILE}.csv", "cases", "QTX01", hostile_store)
        assert validation.ok, validation.problems
        access.commit_upload(hostile_store, validation, access.operator("pytest"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    at.query_params["period"] = "2025-09"
    at.query_params["community"] = "QTX01"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = 0
    for kind in MARKDOWN_ELEMENTS:
        for element in at.get(kind):
            assert not ACTIVE.search(element.value), (kind, element.value)
            shown += "点我" in element.value
    for element in [*at.metric, *at.expander, *at.tabs]:
        assert not ACTIVE.search(element.label), element.label
    for chart in at.get("plotly_chart"):
        for text in strings(json.loads(chart.proto.spec)):
            assert not re.search(r"<[a-zA-Z/!]", text), text  # Plotly reads tags, not Markdown
    if page in ("overview", "meeting", "cases", "registry"):
        assert shown, "a hostile name is on the page, as text"
