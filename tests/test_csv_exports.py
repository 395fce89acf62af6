"""No CSV the dashboard gives out opens as a formula, in a real LibreOffice.

Found by an adversarial review: a stored note "\\r=1+1" was exported as '\\r=1+1 (the
apostrophe only at the first character), and LibreOffice broke the row at the lone CR and
ran =1+1. Every CSV export goes through metrics.export.to_csv_bytes; here each kind the
pages offer (records, a ranking, the follow-up list, the audit log, the annotated upload,
the template) is made from a store whose names and notes are formula payloads, written
to disk, converted by `soffice --headless` (Debian's libreoffice-calc, installed by
scripts/install-system-packages.sh) in one call, and read back with openpyxl: not one
formula cell, and not one row more than the CSV has.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from metrics import access, export, readers
from metrics.access import Principal, Reader, Scope
from metrics.periods import Period
from metrics.store import Store
from tests.conftest import fixture_table

ADMIN = Principal("admin@qtx.gov.cn", "admin")
SEPTEMBER = Period.parse("2025-09")
# What a cell may hold to be run as a formula: the sign first, or after blanks, controls,
# invisible characters or a line break; full-width signs; the classic payloads.
PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\r=1+1",
    "\n=1+1",
    "\r\n=1+1",
    " =1+1",
    "\t=1+1",
    "\u3000=1+1",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\ufeff=1+1",
    "\x0b=1+1",
    "a\r=1+1",
    "a\n@SUM(1,1)",
    "x\r\r-1+1",
    "＝1+1",
    "'=1+1",
    '=HYPERLINK("http://evil.example","点我")',
    "=cmd|' /C calc'!A0",
]


def payload(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def formula_store(root: Path) -> Store:
    """The fixture store with a payload as every name and free-text field and as each case's
    note; September cases open, so that the follow-up list has them."""
    store = Store(root)
    tables = {
        "communities": _with(fixture_table("communities"), "name", "street"),
        "grids": _with(fixture_table("grids"), "name"),
        "wishes": _with(fixture_table("wishes"), "beneficiary_group", "wish_category"),
        "employment": fixture_table("employment"),
        "property_ratings": _with(fixture_table("property_ratings"), "compound", "company"),
        "cases": _with(fixture_table("cases"), "note", "category"),
    }
    for name, table in tables.items():
        store.replace_all(name, table, refresh=False)
    store.refresh_all()
    return store


def _with(table: pa.Table, *columns: str) -> pa.Table:
    rows = table.to_pylist()
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            row[column] = payload(i + j)
    return pa.Table.from_pylist(rows, schema=table.schema)


def exports(store: Store, tmp_path: Path) -> dict[str, bytes]:
    """Each CSV the pages offer, made by the functions they call."""
    token = access.store_version(store).token
    reader = Reader(access.connect(store, token), ADMIN)
    files = {}
    for dataset in ("cases", "wishes", "property_ratings", "communities", "grids"):
        frame, _ = reader.records(dataset, Scope(), None, limit=10_000, offset=0)
        files[f"records-{dataset}"] = access.csv_bytes(frame)
    names = dict(
        zip(reader.communities()["community_id"], reader.communities()["name"], strict=True)
    )
    ranking = reader.by_unit(["cases_received"], SEPTEMBER, list(names), Scope())
    ranking.insert(0, "社区", [names[u] for u in ranking.index])
    files["ranking"] = access.csv_bytes(ranking.reset_index(drop=True))
    review = access.meeting_review(store, SEPTEMBER, ADMIN)
    assert not review.follow_ups.empty, "no follow-up items to export"
    files["followups"] = access.csv_bytes(review.follow_ups)
    for i, text in enumerate(PAYLOADS):  # hostile user names and file names in the log
        access.audit(store, Principal(text, "admin"), "upload", file_name=f"{text}.csv", n=i)
    files["audit"] = access.csv_bytes(access.audit_log(store, ADMIN))
    upload = fixture_table("cases").to_pandas().astype(str).replace("None", "")
    upload["备注"] = [payload(i) for i in range(len(upload))]
    upload.loc[0, "channel"] = "微信群"  # one problem, so the annotated file is offered
    validation = access.validate_upload(
        store, export.to_csv_bytes(upload), "台账.csv", "cases", "QTX01", ADMIN
    )
    annotated, name = access.annotated_file(validation)
    assert name.endswith(".csv") and not validation.ok
    files["annotated"] = annotated
    template = next(
        f for f in access.upload_templates(store, "cases", "QTX01", "zh", ADMIN) if f.fmt == "csv"
    )
    files["template"] = template.data
    return files


def libreoffice_cells(files: dict[str, bytes], tmp_path: Path) -> dict[str, list[list[object]]]:
    """Each CSV as LibreOffice opens it (UTF-8, comma, formulas evaluated as by default),
    saved as XLSX: its cells, and which of them are formulas (as "FORMULA:<text>")."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("no LibreOffice (apt-get install libreoffice-calc)")
    source, target = tmp_path / "csv", tmp_path / "xlsx"
    source.mkdir()
    paths = []
    for name, data in files.items():
        path = source / f"{name}.csv"
        path.write_bytes(data)
        paths.append(str(path))
    profile = tmp_path / "lo-profile"  # its own profile: no clash with another soffice
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless",
         "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(target), *paths],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    out = {}
    for name in files:
        sheet = openpyxl.load_workbook(target / f"{name}.xlsx").active
        out[name] = [
            [f"FORMULA:{c.value}" if c.data_type == "f" else c.value for c in row]
            for row in sheet.iter_rows()
        ]
    return out


@pytest.mark.slow
def test_no_csv_export_opens_as_a_formula_in_libreoffice(tmp_path: Path) -> None:
    store = formula_store(tmp_path / "data")
    files = exports(store, tmp_path)
    opened = libreoffice_cells(files, tmp_path)
    for name, data in files.items():
        records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        rows = opened[name]
        formulas = [
            c for row in rows for c in row if isinstance(c, str) and c.startswith("FORMULA:")
        ]
        assert not formulas, f"{name}: {formulas[:5]}"
        assert len(rows) == len(records), f"{name}: a line break split a row"
    # The payloads did go out, each whole in its cell, as text: behind an apostrophe where
    # they were formula-like (LibreOffice shows a CR inside a cell as a line feed).
    cells = {c for row in opened["records-cases"] for c in row if isinstance(c, str)}
    stored = fixture_table("cases").num_rows
    shown = {str(export.neutralise(payload(i))) for i in range(stored)}
    assert {s.replace("\r\n", "\n").replace("\r", "\n") for s in shown} <= cells
    assert {"'=1+1", "'@SUM(1,1)", "'\n=1+1", "'\u3000=1+1"} <= cells


# -- the rule, without LibreOffice --------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "formula_like"),
    [
        ("=1", True),
        ("+1", True),
        ("-1", True),
        ("@x", True),
        ("＝1", True),
        ("＠x", True),
        (" =1", True),
        ("\u3000\u3000-1", True),
        ("\u200b\ufeff=1", True),
        ("\r\n\t =1", True),
        ("\tplain", True),  # OWASP: a leading tab or CR, whatever follows
        ("\rplain", True),
        ("''=1", True),
        ("'plain", False),
        ("plain", False),
        ("a=1", False),
        ("1-2", False),
        ("已电话回访", False),
        ("   ", False),
        ("", False),
    ],
)
def test_what_counts_as_a_formula(text: str, formula_like: bool) -> None:
    assert export.is_formula_like(text) is formula_like


def test_an_export_sent_back_as_an_upload_gives_every_value_back() -> None:
    values = [*PAYLOADS, "plain", "'plain", "it's", "''@x", "-已回访", "5-3", "\t", "'\u3000'＠"]
    data = export.to_csv_bytes(pd.DataFrame({"k": range(len(values)), "v": values}))
    assert data.startswith(b"\xef\xbb\xbfk,v\r\n")
    raw = readers.read_upload(data, "back.csv")
    assert raw.cells.column(1).to_pylist() == values


def test_a_cell_with_a_line_break_is_quoted() -> None:
    data = export.to_csv_bytes(pd.DataFrame({"v": ["a\rb", "c\nd", "e"]})).decode("utf-8-sig")
    assert data == 'v\r\n"a\rb"\r\n"c\nd"\r\ne\r\n'
