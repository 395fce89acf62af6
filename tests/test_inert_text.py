"""Text that comes from uploads is shown as text: never as a Markdown link, image, colour
directive or HTML, nor as Plotly markup. The 515 strings of the Big List of Naughty Strings
go through the escaping helpers, and a hostile community name through every page.
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
from pages._ui import md_escape, plot_text
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


@pytest.fixture
def hostile_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    store = Store(tmp_path / "data")
    for name in ("grids", "cases", "wishes", "employment", "property_ratings"):
        store.replace_all(name, fixture_table(name))
    communities = fixture_table("communities").to_pylist()
    communities[0]["name"] = HOSTILE
    store.replace_all("communities", pa.Table.from_pylist(communities))
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")  # real data: shown in local mode only
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.mark.parametrize("page", ["overview", "meeting", "cases", "registry"])
def test_a_hostile_community_name_stays_text(hostile_store: Store, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"pages/{page}.py")
    at.query_params["period"] = "2025-09"
    at.query_params["community"] = "QTX01"
    at.run()
    assert not at.exception
    active = re.compile(r"\]\(javascript|(?<!\\)<img|(?<!\\):red\[|(?<!\\)\*\*粗")
    for block in at.markdown:
        assert not active.search(block.value), block.value
    assert any("点我" in block.value for block in at.markdown), "the name is shown, as text"
