"""A CSV whose structure is broken is refused by row, in Chinese, with nothing written.

Found by an adversarial review: a lone CR inside an unquoted field crashed `ingest` (exit 1,
a `_csv.Error` traceback), and an unterminated quote silently swallowed every following
row into one cell. Both are now a row-level message (metrics/readers.py,
_check_quotes_and_line_ends), exit 2 from the CLI, the same message on the upload page.

Rows as Excel numbers them: the header is row 1. Hand-checked below: in BARE_CR the CR is
in the note of the second data row, so row 3; in OPEN_QUOTE the quote opens the note of
the first data row, row 2, whose quoted neighbour above does not count its line break.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics import readers
from metrics.i18n import t
from metrics.store import Store
from tests.test_access import cli

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
HEADER = "编号,社区编码,网格编码,类型,类别,来源渠道,是否督办,受理日期,办结日期,状态,备注"
ROW = "{id},QTX01,QTX01-G01,矛盾纠纷,邻里纠纷,板凳会,否,2025-09-03,,办理中,{note}"


def ledger(*notes: str, line_end: str = "\n") -> bytes:
    lines = [HEADER, *(ROW.format(id=f"Z{i}", note=n) for i, n in enumerate(notes, start=1))]
    return (line_end.join(lines) + line_end).encode("utf-8")


BARE_CR = ledger("已回访", "电话\r回访", "已结案")  # row 3
OPEN_QUOTE = ledger('"已回访', "下一行", "再下一行")  # row 2, to the end of the file
OPEN_QUOTE_LATER = ledger(
    '"两行\n备注"', '"未闭合', "下一行"
)  # row 3: the line break above is in a cell


def refusal(data: bytes) -> tuple[str, dict[str, object]]:
    with pytest.raises(readers.UploadError) as refused:
        readers.read_upload(data, "台账.csv")
    return refused.value.key, refused.value.params


def test_a_lone_cr_in_a_row_is_refused_by_row() -> None:
    key, params = refusal(BARE_CR)
    assert key == "ingest_csv_bare_cr"
    assert (params["row"], params["count"], params["rows"]) == (3, 1, "3")
    text = t(key, "zh", **params)
    assert text.startswith("第 3 行的单元格中有单独的回车符（CR）") and "电话↵回访" in text


def test_an_unterminated_quote_is_refused_by_row() -> None:
    key, params = refusal(OPEN_QUOTE)
    assert (key, params["row"]) == ("ingest_csv_open_quote", 2)
    assert t(key, "zh", **params).startswith("第 2 行的英文双引号没有配对")
    key, params = refusal(OPEN_QUOTE_LATER)
    assert (key, params["row"]) == ("ingest_csv_open_quote", 3)


@pytest.mark.parametrize(
    ("data", "notes"),
    [
        (ledger("a", "b", line_end="\r\n"), ["a", "b"]),  # Excel's CSV
        (ledger("a", "b", line_end="\r"), ["a", "b"]),  # old Mac Excel: CR ends every line
        (ledger("a", "b", line_end="\r\n")[:-1], ["a", "b"]),  # a last line ending in CR only
        (ledger('"电话\r回访"', '"两行\r\n备注"'), ["电话\r回访", "两行\r\n备注"]),  # quoted: kept
        (ledger('5"长', 'a""b'), ['5"长', 'a""b']),  # a quote inside a field is a character
        (ledger('"说""好"""', '""'), ['说"好"', ""]),
    ],
)
def test_what_is_not_broken_reads_as_before(data: bytes, notes: list[str]) -> None:
    raw = readers.read_upload(data, "台账.csv")
    assert raw.cells.column(10).to_pylist() == notes
    assert raw.row_numbers.to_pylist() == [2, 3]


@pytest.mark.parametrize(
    ("data", "key"), [(BARE_CR, "ingest_csv_bare_cr"), (OPEN_QUOTE, "ingest_csv_open_quote")]
)
def test_the_cli_says_which_row_exits_2_and_writes_nothing(
    store: Store, tmp_path: Path, data: bytes, key: str
) -> None:
    path = tmp_path / "台账.csv"
    path.write_bytes(data)
    before = store_files(store)
    done = cli(store, "ingest", str(path), "--dataset", "cases", "--community", "QTX01")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    row = "第 3 行" if key == "ingest_csv_bare_cr" else "第 2 行"
    assert row in done.stderr + done.stdout
    assert store_files(store) == before


@pytest.fixture
def local_app(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(store.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")  # real data, no sign-in: the local admin
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


def test_the_upload_page_shows_the_same_message(local_app: Store) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/upload.py")
    at.run()
    at.file_uploader[0].set_value(("台账.csv", BARE_CR, "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(e.startswith("第 3 行的单元格中有单独的回车符") for e in errors), errors


def store_files(store: Store) -> dict[str, bytes]:
    files = sorted(store.root.rglob("*"))
    return {str(p): p.read_bytes() for p in files if p.is_file() and "_audit" not in p.parts}


@pytest.mark.parametrize(
    ("body", "paired"),
    [
        (b'a,"b,c",d\n"e",f\n', True),  # every quote opens a field or closes it
        (b'a"b,"cd\n', False),  # two quotes, but the first is a character: "cd stays open
        (b'"a""b",c\n', False),  # "" inside: only the loop tells a pair from a close
        (b'"a",x"\n', False),  # an odd count
    ],
)
def test_the_quick_look_at_quotes_hands_doubt_to_the_loop(body: bytes, paired: bool) -> None:
    assert readers._quotes_simply_paired(body, b",") is paired


def test_a_stray_quote_before_an_open_one_is_still_found() -> None:
    # Two quotes, an even count, but the one in 甲"乙 (row 2) is a character, and "未闭合
    # opens a field that never closes: row 3 (the header is row 1).
    key, params = refusal(ledger('甲"乙', '"未闭合'))
    assert (key, params["row"]) == ("ingest_csv_open_quote", 3)
