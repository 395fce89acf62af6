"""validate(): read an upload, match its headers to the contract's fields, parse and check
every cell, and collect every problem in a Validation. Nothing is written."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from metrics import periods
from metrics.i18n import t
from metrics.ingest.checks import Checker
from metrics.ingest.lookups import registered_communities
from metrics.ingest.problems import IngestError, Problem
from metrics.periods import Period
from metrics.readers import RawTable, UploadError, read_upload
from metrics.schemas import CODE_PATTERN, DATASETS, Dataset
from metrics.store import Store

Progress = Callable[[float, str], None]


@dataclass
class Validation:
    """What validate() found: the rows in the contract's types, every problem and note."""

    dataset: str
    community_id: str
    file_name: str
    file_sha256: str
    file_format: str
    data: bytes
    period: Period | None = None
    raw: RawTable | None = None
    rows: pa.Table | None = None  # the contract's columns and types, one row per data row
    row_numbers: pa.Array | None = None  # Excel row number of each row of `rows`
    problems: list[Problem] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    # What the clerk should know but need not fix (ignored columns, title lines skipped,
    # the sheet read): shown whether the file is accepted or not.
    notes: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.rows is not None

    @property
    def row_count(self) -> int:
        return self.rows.num_rows if self.rows is not None else 0

    @property
    def bad_row_count(self) -> int:
        return len({p.row for p in self.problems if p.row is not None})

    def summary(self, lang: str = "zh") -> str:
        if self.ok:
            return t("ingest_summary_ok", lang, rows=self.row_count)
        return t(
            "ingest_summary_bad",
            lang,
            rows=self.row_count,
            problems=len(self.problems),
            bad_rows=self.bad_row_count,
        )

    def problem_frame(self, lang: str = "zh") -> pd.DataFrame:
        """Problems as a table for the page or a report: row, column, value, message."""
        return pd.DataFrame(
            {
                t("ingest_row", lang): [p.row for p in self.problems],
                t("ingest_column", lang): [p.column or "" for p in self.problems],
                t("ingest_value", lang): [p.value or "" for p in self.problems],
                t("ingest_message", lang): [p.message(lang) for p in self.problems],
            }
        )


def validate(
    data: bytes,
    filename: str,
    dataset: str,
    community_id: str,
    store: Store,
    *,
    period: Period | None = None,
    sheet: str | None = None,
    today: dt.date | None = None,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Read and check an upload; every problem is collected, nothing is written."""
    report = progress or (lambda fraction, message: None)
    if dataset not in DATASETS:
        raise IngestError("ingest_unknown_dataset", dataset=dataset)
    if not re.match(CODE_PATTERN, community_id):
        raise IngestError("ingest_bad_community", community=community_id)
    spec = DATASETS[dataset]
    today = today or periods.today()
    result = Validation(
        dataset=dataset,
        community_id=community_id,
        file_name=filename,
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_format="csv",
        data=data,
        period=period,
    )
    report(0.05, "reading")
    try:
        raw = read_upload(data, filename, sheet=sheet, max_bytes=max_bytes)
    except UploadError as exc:
        result.problems.append(Problem(None, None, None, exc.key, exc.params))
        report(1.0, "done")
        return result
    result.raw = raw
    result.file_format = raw.format
    result.row_numbers = raw.row_numbers
    report(0.3, "headers")
    _file_notes(raw, result)
    columns = _match_headers(spec, raw, result)
    if raw.cells.num_rows == 0:
        result.problems.append(Problem(None, None, None, "ingest_no_rows"))
    if dataset != "communities" and community_id not in registered_communities(store):
        result.problems.append(
            Problem(None, None, community_id, "ingest_unregistered", {"community": community_id})
        )
    checker = Checker(spec, raw, columns, result.problems, today)
    parsed: dict[str, pa.Array] = {}
    for i, f in enumerate(spec.fields):
        report(0.3 + 0.4 * i / len(spec.fields), f.name)
        parsed[f.name] = checker.parse(f)
    rows = pa.Table.from_arrays([parsed[f.name] for f in spec.fields], schema=spec.arrow_schema)
    result.rows = rows
    report(0.75, "rules")
    checker.row_rules(rows, today)
    checker.community_rules(rows, community_id, store, period)
    checker.duplicates(rows)
    examples = checker.example_rows()
    if examples:  # the example row gets the one message that says what to do with it
        result.problems = [
            p for p in result.problems if p.row not in examples or p.key == "ingest_example_row"
        ]
    result.problems.sort(key=lambda p: (p.row or 0, _column_order(raw, p.column)))
    report(1.0, "done")
    return result


def _column_order(raw: RawTable, column: str | None) -> int:
    return raw.headers.index(column) if column in raw.headers else -1


# -- which column of the file is which field ----------------------------------------------
def normalise_header(text: str) -> str:
    """Headers compare without case, spaces, full-width forms or a trailing * or ：."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s*:：]+", "", folded)


def header_names(spec: Dataset) -> dict[str, str]:
    """Every accepted header spelling (normalised) → field name."""
    names: dict[str, str] = {}
    for f in spec.fields:
        for spelling in (f.name, f.zh, *f.aliases):
            names[normalise_header(spelling)] = f.name
    return names


def _file_notes(raw: RawTable, result: Validation) -> None:
    """What the reader did that the clerk should know: title lines skipped, sheet read."""
    for row, text in raw.titles:
        result.notes.append(Problem(row, None, text, "ingest_title_skipped", {"row": row}))
    if raw.sheet is not None and len(raw.sheets) > 1:
        others = "、".join(s for s in raw.sheets if s != raw.sheet)
        result.notes.append(
            Problem(None, None, None, "ingest_sheet_read", {"sheet": raw.sheet, "others": others})
        )


def _match_headers(spec: Dataset, raw: RawTable, result: Validation) -> dict[str, int]:
    """Field name → column index in the file; unknown, duplicate and missing are reported,
    a missing column with the file's closest unknown header as a suggestion."""
    names = header_names(spec)
    columns: dict[str, int] = {}
    for i, header in enumerate(raw.headers):
        name = names.get(normalise_header(header))
        if name is None:
            result.unknown_columns.append(header)
        elif name in columns:
            result.problems.append(
                Problem(None, header, None, "ingest_duplicate_column", {"column": header})
            )
        else:
            columns[name] = i
    unknown = {normalise_header(h): h for h in result.unknown_columns}
    missing = False
    for f in spec.fields:
        if f.required and f.name not in columns:
            missing = True
            others = "、".join([f.name, *f.aliases])
            params = {"column": f.zh, "names": others}
            spellings = [normalise_header(x) for x in (f.zh, f.name, *f.aliases)]
            near = [
                unknown[m]
                for x in spellings
                for m in difflib.get_close_matches(x, list(unknown), n=1, cutoff=0.6)
            ]
            if near:
                result.problems.append(
                    Problem(
                        None, f.zh, None, "ingest_missing_column_near", {**params, "near": near[0]}
                    )
                )
            else:
                result.problems.append(Problem(None, f.zh, None, "ingest_missing_column", params))
    if result.unknown_columns:  # a note whether or not the file is refused
        columns_text = "、".join(result.unknown_columns)
        result.notes.append(
            Problem(None, None, None, "ingest_unknown_columns", {"columns": columns_text})
        )
    if raw.encoding == "gb18030" and result.problems and result.unknown_columns:
        result.problems.append(Problem(None, None, None, "ingest_read_as_gb18030"))
    if missing and raw.sheet is not None and len(raw.sheets) > 1:
        others = "、".join(s for s in raw.sheets if s != raw.sheet)
        result.problems.append(
            Problem(None, None, None, "ingest_other_sheets", {"sheet": raw.sheet, "others": others})
        )
    return columns
