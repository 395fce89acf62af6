"""Every chart has a text alternative: an accessible name, and its numbers as a table folded
under it (pages/_charts.py `show`), the same numbers the chart draws.

The registry's histogram, counted by hand from tests/fixtures/grids.csv: the standard
(not micro) grids have 400, 520, 300, 450 and 280 households, so in bins of 25
    275–299: 280 → 1     300–324: 300 → 1     400–424: 400 → 1
    450–474: 450 → 1     500–524: 520 → 1     (the micro grid's 80 is left out)
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from test_pages import data_dir, run_page  # noqa: F401 (data_dir: a fixture)

from metrics.i18n import t
from pages._charts import figure_table

PAGES = ["overview", "meeting", "cases", "wishes", "employment", "property", "registry"]
MD_ESCAPE = re.compile(r"\\(.)")


def in_order(node: Any) -> Iterator[Any]:
    """The elements of an AppTest tree in the order the page shows them."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for key in sorted(children):
            yield from in_order(children[key])


def charts_and_tables(at: Any, lang: str) -> list[tuple[dict[str, Any], str, pd.DataFrame]]:
    """Each Plotly chart of the page: its figure, its accessible name, and the table of the
    "Show as table" fold that follows it (shown as the reader reads it: Markdown undone)."""
    found: list[tuple[dict[str, Any], str, pd.DataFrame]] = []
    chart: Any = None
    for node in in_order(at._tree):
        kind = getattr(node, "type", None)
        if kind == "plotly_chart":
            assert chart is None, "a chart without its table"
            chart = node
        elif kind == "expander" and node.label == t("chart_as_table", lang):
            assert chart is not None, "a table fold without a chart"
            table = node.table[0].value.map(lambda s: MD_ESCAPE.sub(r"\1", str(s)))
            table.columns = [MD_ESCAPE.sub(r"\1", str(c)) for c in table.columns]
            found.append((json.loads(chart.proto.spec), chart.proto.alt, table))
            chart = None
    assert chart is None, "the last chart has no table"
    return found


def plotly_array(value: Any) -> list[Any] | None:
    """A trace's array as sent to the browser: Plotly sends numeric arrays packed (a dtype
    and base64 bytes)."""
    if isinstance(value, dict) and "bdata" in value:
        packed = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return [None if np.isnan(v) else v for v in packed.astype(float)]
    return value if value is None else list(value)


def number(cell: str) -> float | None:
    text = cell.replace(",", "").rstrip("%")
    return None if text in ("—", "") else float(text)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_has_its_numbers_as_a_table(data_dir: Path, page: str, lang: str) -> None:  # noqa: F811
    at = run_page(page, lang, period="2025-09")
    found = charts_and_tables(at, lang)
    assert found, "the page draws charts"
    assert len(found) == len(at.get("plotly_chart"))
    checked = 0
    for spec, alt, table in found:
        assert t("chart_as_table", lang) in alt, f"the chart's name points to its table: {alt}"
        label = table.columns[0]
        rows = table.set_index(label)
        for trace in spec["data"]:
            across = trace.get("orientation") == "h"
            keys = plotly_array(trace.get("y" if across else "x"))
            values = plotly_array(trace.get("x" if across else "y"))
            if keys is None or (trace["type"] == "bar" and trace.get("customdata")):
                continue  # the histogram: its bins are checked by hand below
            column = trace.get("name") or table.columns[1]
            cells = rows[column]
            texts = trace.get("text")
            for i, key in enumerate(keys):
                cell = cells.loc[html.unescape(str(key))]
                if isinstance(texts, list):
                    assert cell == texts[i], (alt, key, cell, texts[i])
                elif values[i] is None:
                    assert cell == "—", (alt, key, cell)
                else:
                    assert number(cell) == pytest.approx(values[i], abs=0.005), (alt, key, cell)
                checked += 1
    assert checked > 0, "no chart's numbers compared"


def test_the_households_histogram_table_by_hand(data_dir: Path) -> None:  # noqa: F811
    at = run_page("registry", period="2025-09")
    spec, alt, table = charts_and_tables(at, "zh")[0]
    assert alt == t("chart_alt", "zh", title=t("households_chart", "zh"))
    assert table.to_dict("list") == {
        "户数": ["275–299", "300–324", "400–424", "450–474", "500–524"],
        "网格数": ["1", "1", "1", "1", "1"],
    }
    assert plotly_array(spec["data"][0]["y"]) == [1, 1, 1, 1, 1]  # the bars drawn: the same counts


def test_figure_table_reads_the_traces() -> None:
    """Two lines over three months (the second lacks March), and bars that write their
    values: the written text is what the table shows, a name's escapes are undone."""
    lines = go.Figure(
        [
            go.Scatter(name="受理", x=["1月", "2月", "3月"], y=[3, 4.5, 1234]),
            go.Scatter(name="化解", x=["1月", "2月"], y=[2, None]),
        ]
    )
    assert figure_table(lines, "月份").to_dict("list") == {
        "月份": ["1月", "2月", "3月"],
        "受理": ["3", "4.5", "1,234"],
        "化解": ["2", "—", "—"],
    }
    bars = go.Figure(
        go.Bar(
            name="化解率",
            x=[64.6, 50.0],
            y=["A &amp; B社区", "南苑"],
            text=["64.6%", "50.0%"],
            orientation="h",
        )
    )
    assert figure_table(bars, "社区").to_dict("list") == {
        "社区": ["A & B社区", "南苑"],
        "化解率": ["64.6%", "50.0%"],
    }
