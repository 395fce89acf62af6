"""Community uploads: validate a file against the data contract, preview, commit, annotate.

The upload page and `python -m metrics ingest` call the same four functions:

    v = validate(data, filename, dataset, community_id, store, period=..., progress=...)
    v.ok, v.problems, v.row_count, v.unknown_columns   # show every problem at once
    d = preview(store, v, replace=False)               # new / changed / unchanged / deleted
    r = commit(store, v, user="...", replace=False)    # one atomic Delta commit (or none)
    annotated_file(v)                                  # the file back with a 错误说明 column

Validation is column-at-a-time (pyarrow compute, DuckDB, pandas): a million rows take
seconds, and Python only loops over the rows that have problems.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics import export
from metrics.i18n import t
from metrics.periods import Period
from metrics.readers import RawTable, UploadError, read_upload
from metrics.schemas import (
    CODE_PATTERN,
    DATASETS,
    SCORE_PARTS,
    STAR_BANDS,
    TOTAL_TOLERANCE,
    Dataset,
    Field,
)
from metrics.store import Store

Progress = Callable[[float, str], None]

# Dates that must not come before another date of the same row: (earlier, later).
DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "cases": (("reported_on", "resolved_on"),),
    "wishes": (
        ("registered_on", "claimed_on"),
        ("claimed_on", "fulfilled_on"),
        ("registered_on", "fulfilled_on"),
    ),
}
# What each status needs filled in (first) and left empty (second).
STATUS_RULES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "cases": {
        "办理中": ((), ("resolved_on",)),
        "已化解": (("resolved_on",), ()),
        "未化解": (("resolved_on",), ()),
    },
    "wishes": {
        "待认领": ((), ("claimed_on", "claimed_by", "fulfilled_on")),
        "已认领": (("claimed_on", "claimed_by"), ("fulfilled_on",)),
        "已实现": (("claimed_on", "claimed_by", "fulfilled_on"), ()),
    },
}
TRUE_WORDS = ["是", "y", "yes", "1", "true", "t", "对", "√"]
FALSE_WORDS = ["否", "n", "no", "0", "false", "f", "不", "×"]
EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (1900 date system)
# No ledger holds a date before 2000: an earlier one is a typo or a number taken for a
# date ('2026' as an Excel serial is 1905-07-18), so it is refused, and only numbers from
# 36526 (2000-01-01) on are read as Excel serial dates.
MIN_DATE = dt.date(2000, 1, 1)
EXCEL_MIN_SERIAL = 36526
# The template's example row is marked in this field (its value starts with 示例 or
# EXAMPLE) and refused on upload: unchanged, it would overwrite or invent real records.
EXAMPLE_FIELD = {
    "communities": "name",
    "grids": "grid_id",
    "cases": "case_id",
    "wishes": "wish_id",
    "employment": "month",
    "property_ratings": "compound",
}
EXAMPLE_MARKS = ("示例", "example")

_DATE_PARTS = (
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"
_DATE_ISO = r"^\d{4}-\d{2}-\d{2}$"  # a subset of _DATE_PARTS, with the same parts
_MONTH_PARTS = r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?$"
_MONTH_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})$"
_QUARTER = r"^(?P<y>\d{4})\s*(?:年|-)?\s*(?:第\s*)?[Qq]?\s*(?P<q>[1-4一二三四])\s*(?:季度?)?$"
_SERIAL = r"^\d{1,5}(?:\.\d+)?$"


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (Excel row, column header as in the file), what, and why."""

    row: int | None  # None: the file as a whole
    column: str | None
    value: str | None
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        return t(self.key, lang, **self.params)

    @property
    def zh(self) -> str:
        return self.message("zh")

    @property
    def en(self) -> str:
        return self.message("en")


class IngestError(ValueError):
    """A request that cannot be carried out (not a problem in the file), with its message
    in either language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(t(key, "en", **params))
        self.problem = Problem(None, None, None, key, params)

    def message(self, lang: str = "zh") -> str:
        return self.problem.message(lang)


@dataclass
class Validation:
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


@dataclass(frozen=True)
class Diff:
    """What a commit would do to the community's stored rows."""

    new: pa.Table  # key columns of rows not stored yet
    changed: pa.Table  # key columns + changed_fields (list of field names)
    unchanged: int
    deleted: pa.Table  # key columns of rows that `replace` removes
    row_status: pa.Array  # per upload row: "new", "changed" or "unchanged"

    @property
    def is_empty(self) -> bool:
        return not (self.new.num_rows or self.changed.num_rows or self.deleted.num_rows)

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new.num_rows,
            "changed": self.changed.num_rows,
            "unchanged": self.unchanged,
            "deleted": self.deleted.num_rows,
        }


@dataclass(frozen=True)
class CommitResult:
    dataset: str
    version: int  # the table version after the commit (unchanged when nothing changed)
    committed: bool  # False when the data were identical and no version was written
    diff: Diff
    upload_path: Path


# -- validate ----------------------------------------------------------------------------
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
    today = today or dt.date.today()
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
    checker = _Checker(spec, raw, columns, result.problems, today)
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


def registered_communities(store: Store) -> set[str]:
    """The community codes in the community register (empty when there is none)."""
    con = store.connect(rollups=False)
    try:
        ids = _arrow(con, "SELECT DISTINCT community_id FROM communities").column(0)
    finally:
        con.close()
    return {str(c) for c in ids.to_pylist() if c is not None}


def _column_order(raw: RawTable, column: str | None) -> int:
    return raw.headers.index(column) if column in raw.headers else -1


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


class _Checker:
    """Column checks that append Problems for the failing rows only."""

    def __init__(
        self,
        spec: Dataset,
        raw: RawTable,
        columns: dict[str, int],
        problems: list[Problem],
        today: dt.date,
    ) -> None:
        self.spec = spec
        self.raw = raw
        self.columns = columns
        self.problems = problems
        self.today = today
        self.n = raw.cells.num_rows

    def header(self, name: str) -> str:
        return (
            self.raw.headers[self.columns[name]]
            if name in self.columns
            else self.spec.field(name).zh
        )

    def cells(self, name: str) -> pa.Array:
        return self.raw.cells.column(self.columns[name]).combine_chunks()

    def flag(self, mask: pa.Array, name: str, key: str, **params: Any) -> None:
        """A Problem for each row where `mask` is true, in column `name`."""
        mask = pc.fill_null(mask, False)
        if not pc.any(mask).as_py():
            return
        index = pc.indices_nonzero(mask)
        rows = self.raw.row_numbers.take(index).to_pylist()
        values = (
            self.cells(name).take(index).to_pylist() if name in self.columns else [""] * len(rows)
        )
        header = self.header(name)
        self.problems.extend(
            Problem(r, header, v, key, params) for r, v in zip(rows, values, strict=True)
        )

    def flag_each(
        self, mask: pa.Array, name: str, key: str, params: Iterable[dict[str, Any]]
    ) -> None:
        """Like flag, with per-row parameters (only computed for the failing rows)."""
        index = pc.indices_nonzero(pc.fill_null(mask, False))
        rows = self.raw.row_numbers.take(index).to_pylist()
        values = (
            self.cells(name).take(index).to_pylist() if name in self.columns else [""] * len(rows)
        )
        header = self.header(name)
        self.problems.extend(
            Problem(r, header, v, key, p) for r, v, p in zip(rows, values, params, strict=True)
        )

    # -- one field at a time -------------------------------------------------------------
    def parse(self, f: Field) -> pa.Array:
        arrow_type = self.spec.arrow_schema.field(f.name).type
        if f.name not in self.columns:
            return pa.nulls(self.n, arrow_type)
        raw = self.cells(f.name)
        free_text = f.type == "text" and not f.allowed and not f.required
        if free_text:
            # Stored exactly as written, formula-like prefixes included (export neutralises).
            return pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
        text = pc.utf8_trim_whitespace(raw if f.type == "text" else _nfkc(raw))
        empty = pc.equal(text, "")
        if not f.nullable:
            self.flag(empty, f.name, "ingest_required")
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
        values, bad = _PARSERS[f.type](text)
        self.flag(bad, f.name, f"ingest_bad_{f.type}")
        if f.allowed:
            bad_choice = pc.invert(pc.is_in(values, pa.array(f.allowed)))
            self.flag(
                pc.and_(pc.is_valid(values), bad_choice),
                f.name,
                "ingest_not_allowed",
                allowed="、".join(f.allowed),
            )
            values = pc.if_else(bad_choice, pa.scalar(None, arrow_type), values)
        if f.min_value is not None:
            self.flag(
                pc.less(values, f.min_value), f.name, "ingest_below_min", limit=f"{f.min_value:g}"
            )
        if f.max_value is not None:
            self.flag(
                pc.greater(values, f.max_value),
                f.name,
                "ingest_above_max",
                limit=f"{f.max_value:g}",
            )
        if f.type in ("date", "month"):
            self.flag(
                pc.greater(values, pa.scalar(self.today, pa.date32())),
                f.name,
                "ingest_future_date",
                today=self.today.isoformat(),
            )
            self.flag(
                pc.less(values, pa.scalar(MIN_DATE, pa.date32())),
                f.name,
                "ingest_date_too_early",
                first=MIN_DATE.isoformat(),
            )
        if f.type == "quarter":
            self.flag(
                pc.less(values, f"{MIN_DATE.year}Q1"),
                f.name,
                "ingest_date_too_early",
                first=MIN_DATE.isoformat(),
            )
            this_quarter = f"{self.today.year}Q{(self.today.month - 1) // 3 + 1}"
            self.flag(
                pc.greater(values, this_quarter),
                f.name,
                "ingest_future_date",
                today=self.today.isoformat(),
            )
        return values

    # -- several fields of a row ---------------------------------------------------------
    def row_rules(self, rows: pa.Table, today: dt.date) -> None:
        """Rules across the fields of a row; a rule on a column the file lacks is left out
        (the missing column is reported once, not again on every row)."""
        spec = self.spec
        present = self.columns.keys()
        for earlier, later in DATE_ORDER.get(spec.name, ()):
            if earlier in present and later in present:
                mask = pc.less(rows.column(later), rows.column(earlier))
                self.flag(mask, later, "ingest_date_order", other=self.header(earlier))
        rules = STATUS_RULES.get(spec.name, {}) if "status" in present else {}
        for value, (needs, forbids) in rules.items():
            is_status = pc.equal(rows.column("status"), value)
            for names, test, key in (
                (needs, pc.is_null, "ingest_status_needs"),
                (forbids, pc.is_valid, "ingest_status_forbids"),
            ):
                for name in names:
                    if name in present:
                        mask = pc.and_(is_status, test(rows.column(name)))
                        self.flag(mask, name, key, status=value)
        if spec.name == "property_ratings" and present >= {*SCORE_PARTS, "total_score"}:
            self._property_rules(rows)

    def _property_rules(self, rows: pa.Table) -> None:
        parts = (
            np.column_stack(
                [rows.column(p).to_numpy(zero_copy_only=False) for p in SCORE_PARTS]
            ).astype(float)
            if rows.num_rows
            else np.zeros((0, len(SCORE_PARTS)))
        )
        mean = parts.mean(axis=1) if rows.num_rows else np.zeros(0)
        total = rows.column("total_score").to_numpy(zero_copy_only=False).astype(float)
        wrong_total = np.abs(total - mean) > TOTAL_TOLERANCE  # NaN (missing) compares False
        index = np.flatnonzero(wrong_total)
        self.flag_each(
            pa.array(wrong_total),
            "total_score",
            "ingest_total_mismatch",
            ({"expected": f"{mean[i]:.1f}", "tolerance": f"{TOTAL_TOLERANCE:g}"} for i in index),
        )
        stars = rows.column("stars").to_numpy(zero_copy_only=False).astype(float)
        lowers = [lower for lower, _ in STAR_BANDS]
        bands = [s for _, s in STAR_BANDS]
        expected = np.select([total >= low for low in lowers], bands, default=1)
        wrong_stars = ~np.isnan(total) & ~np.isnan(stars) & (stars != expected)
        self.flag_each(
            pa.array(wrong_stars),
            "stars",
            "ingest_stars_mismatch",
            (
                {"total": f"{total[i]:g}", "expected": int(expected[i])}
                for i in np.flatnonzero(wrong_stars)
            ),
        )

    def community_rules(
        self, rows: pa.Table, community_id: str, store: Store, period: Period | None
    ) -> None:
        spec = self.spec
        other = pc.not_equal(rows.column("community_id"), community_id)
        values = rows.column("community_id").combine_chunks()
        index = pc.indices_nonzero(pc.fill_null(other, False))
        self.flag_each(
            other,
            "community_id",
            "ingest_other_community",
            ({"value": v, "community": community_id} for v in values.take(index).to_pylist()),
        )
        con = store.connect(rollups=False)
        try:
            if spec.has_grid and spec.name != "grids":
                grids = _arrow(
                    con,
                    "SELECT grid_id FROM grids WHERE community_id = $community",
                    {"community": community_id},
                ).column("grid_id")
                grid = rows.column("grid_id")
                foreign = pc.and_(
                    pc.is_valid(grid), pc.invert(pc.is_in(grid, grids.combine_chunks()))
                )
                self.flag(foreign, "grid_id", "ingest_foreign_grid", community=community_id)
            if "community_id" not in spec.key:
                self._keys_elsewhere(con, rows, community_id)
        finally:
            con.close()
        if period is not None and spec.period_field is not None:
            kind = spec.field(spec.period_field).type
            column = rows.column(spec.period_field)
            if kind == "month":
                outside = pc.or_(
                    pc.less(column, pa.scalar(period.start, pa.date32())),
                    pc.greater(column, pa.scalar(period.end, pa.date32())),
                )
                self.flag(outside, spec.period_field, "ingest_outside_period", period=period.code)
            elif kind == "quarter":
                outside = pc.invert(
                    pc.is_in(column, pa.array(quarters_in(period.start, period.end)))
                )
                self.flag(
                    pc.and_(pc.is_valid(column), outside),
                    spec.period_field,
                    "ingest_outside_period",
                    period=period.code,
                )

    def _keys_elsewhere(self, con: Any, rows: pa.Table, community_id: str) -> None:
        """Keys that the store already holds under another community (which one is not
        said: a clerk may not learn what other communities' records are)."""
        found = keys_elsewhere(con, self.spec, rows, community_id)
        if len(found) == 0:
            return
        mask = np.zeros(rows.num_rows, bool)
        mask[found.to_numpy()] = True
        self.flag(pa.array(mask), self.spec.key[0], "ingest_key_elsewhere")

    def example_rows(self) -> set[int]:
        """Rows that are the template's example (marked 示例/EXAMPLE), each flagged."""
        name = EXAMPLE_FIELD[self.spec.name]
        if name not in self.columns or self.n == 0:
            return set()
        text = pc.utf8_lower(pc.utf8_trim_whitespace(_nfkc(self.cells(name))))
        marked = pc.starts_with(text, EXAMPLE_MARKS[0])
        for mark in EXAMPLE_MARKS[1:]:
            marked = pc.or_(marked, pc.starts_with(text, mark))
        if not pc.any(marked).as_py():
            return set()
        self.flag(marked, name, "ingest_example_row")
        return set(self.raw.row_numbers.filter(marked).to_pylist())

    def duplicates(self, rows: pa.Table) -> None:
        key = list(self.spec.key)
        if len(key) == 1:
            values = rows.column(key[0]).drop_null()
            if len(pc.unique(values)) == len(values):
                return  # no key twice: the usual case, found without pandas
        frame = rows.select(key).to_pandas()
        complete = frame.notna().all(axis=1).to_numpy()
        dup = frame.duplicated(keep=False).to_numpy() & complete
        if not dup.any():
            return
        numbers = self.raw.row_numbers.to_numpy()
        group = frame.groupby(key, sort=False, dropna=False).ngroup().to_numpy()
        first = pd.Series(numbers).groupby(group).transform("min").to_numpy()
        later = dup & (numbers != first)
        label = "、".join(self.header(k) for k in key)
        self.flag_each(
            pa.array(later),
            key[0],
            "ingest_duplicate_key",
            ({"first": int(first[i]), "fields": label} for i in np.flatnonzero(later)),
        )


def keys_elsewhere(con: Any, spec: Dataset, rows: pa.Table, community_id: str) -> pa.Array:
    """Indexes of `rows` whose key the store holds under another community."""
    key = list(spec.key)
    upload = rows.select(key).append_column(
        "_i", pa.array(np.arange(rows.num_rows, dtype=np.int64))
    )
    con.register("upload_keys", upload)
    on = " AND ".join(f"u.{k} = s.{k}" for k in key)
    statement = (
        f"SELECT u._i FROM upload_keys u JOIN {spec.name} s ON {on} "
        "WHERE s.community_id <> $community ORDER BY u._i"
    )
    found = _arrow(con, statement, {"community": community_id})
    con.unregister("upload_keys")
    return found.column("_i").combine_chunks()


def _nfkc(text: pa.Array) -> pa.Array:
    """NFKC-normalised text; a column of plain ASCII (codes, ISO dates) is that already."""
    if pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return text
    return pc.utf8_normalize(text, "NFKC")


# -- value parsers: text (trimmed, NFKC, None for empty) → (values, bad mask) ------------
ParseResult = tuple[pa.Array, pa.Array]


def _parse_text(text: pa.Array) -> ParseResult:
    return text, pa.array([False] * len(text), pa.bool_())


def _parse_code(text: pa.Array) -> ParseResult:
    bad = pc.invert(pc.match_substring_regex(text, CODE_PATTERN))
    return pc.if_else(bad, pa.scalar(None, pa.string()), text), bad


def _parse_number(text: pa.Array, pattern: str, arrow_type: pa.DataType) -> ParseResult:
    plain = pc.replace_substring(text, ",", "")
    good = pc.match_substring_regex(plain, pattern)
    clean = pc.if_else(good, plain, pa.scalar(None, pa.string()))
    if arrow_type == pa.int64():
        clean = pc.replace_substring_regex(clean, r"\.0*$", "")
    return pc.cast(clean, arrow_type), pc.invert(good)


def _parse_int(text: pa.Array) -> ParseResult:
    return _parse_number(text, r"^[+-]?\d{1,15}(\.0*)?$", pa.int64())


def _parse_float(text: pa.Array) -> ParseResult:
    return _parse_number(text, r"^[+-]?(\d{1,15}(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$", pa.float64())


def _parse_bool(text: pa.Array) -> ParseResult:
    lower = pc.utf8_lower(text)
    is_true = pc.is_in(lower, pa.array(TRUE_WORDS))
    is_false = pc.is_in(lower, pa.array(FALSE_WORDS))
    known = pc.or_(is_true, is_false)
    values = pc.if_else(known, is_true, pa.scalar(None, pa.bool_()))
    return values, pc.and_(pc.is_valid(text), pc.invert(known))  # empty: "required" says it


def _ymd(years: pa.Array, months: pa.Array, days: pa.Array) -> pa.Array:
    """A date from text parts; null where the parts are no real date (2025-02-30)."""
    text = pc.binary_join_element_wise(
        years, pc.utf8_lpad(months, 2, "0"), pc.utf8_lpad(days, 2, "0"), "-"
    )
    return _real_date(text, months, days)


def _real_date(text: pa.Array, months: pa.Array, days: pa.Array) -> pa.Array:
    """YYYY-MM-DD text as a date; null where it is no real date (month and day differ)."""
    stamp = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    date = pc.cast(stamp, pa.date32())
    real = pc.and_(
        pc.equal(pc.month(date), pc.cast(months, pa.int64())),
        pc.equal(pc.day(date), pc.cast(days, pa.int64())),
    )
    return pc.if_else(pc.fill_null(real, False), date, pa.scalar(None, pa.date32()))


def _extract(text: pa.Array, patterns: Iterable[str], names: tuple[str, ...]) -> list[pa.Array]:
    """The named groups of the first pattern that matches each value ("" where none does)."""
    out: list[pa.Array] = [pa.nulls(len(text), pa.string()) for _ in names]
    for pattern in patterns:
        found = pc.extract_regex(text, pattern)
        matched = pc.is_valid(found)
        for j, name in enumerate(names):
            part = pc.struct_field(found, name) if len(found) else pa.array([], pa.string())
            out[j] = pc.coalesce(out[j], pc.if_else(matched, part, pa.scalar(None, pa.string())))
    return out


def _parse_date(text: pa.Array) -> ParseResult:
    # The usual spelling (2025-03-07) is cut into its parts directly, as _DATE_PARTS would;
    # only the other values go through the slower regex extraction.
    iso = pc.fill_null(pc.match_substring_regex(text, _DATE_ISO), False)
    usual = pc.if_else(iso, text, pa.scalar(None, pa.string()))
    other = pc.if_else(iso, pa.scalar(None, pa.string()), text)
    parts = [pc.utf8_slice_codeunits(usual, a, b) for a, b in ((0, 4), (5, 7), (8, 10))]
    # _ymd of the usual spelling's parts would join them back into the same text.
    dates = _real_date(usual, parts[1], parts[2])
    years = parts[0]
    if other.null_count < len(other):
        found = _extract(other, (_DATE_PARTS, _DATE_COMPACT), ("y", "m", "d"))
        dates = pc.coalesce(dates, _ymd(*found))
        years = pc.coalesce(years, found[0])
    serial = pc.match_substring_regex(other, _SERIAL)  # never a value of the usual spelling
    serial = pc.and_(serial, pc.is_null(years))
    as_days = pc.cast(
        pc.floor(pc.cast(pc.if_else(serial, text, pa.scalar(None, pa.string())), pa.float64())),
        pa.int64(),
    )
    in_range = pc.and_(pc.greater_equal(as_days, EXCEL_MIN_SERIAL), pc.less_equal(as_days, 2958465))
    serial_dates = pc.cast(
        pc.cast(
            pc.subtract(
                pc.if_else(in_range, as_days, pa.scalar(None, pa.int64())), EXCEL_EPOCH_OFFSET
            ),
            pa.int32(),
        ),
        pa.date32(),
    )
    values = pc.coalesce(dates, serial_dates)
    return values, pc.and_(pc.is_valid(text), pc.is_null(values))


def _parse_month(text: pa.Array) -> ParseResult:
    years, months = _extract(text, (_MONTH_PARTS, _MONTH_COMPACT), ("y", "m"))
    ones = pc.if_else(pc.is_valid(years), "1", pa.scalar(None, pa.string()))
    by_month = _ymd(years, months, ones)
    as_date, _ = _parse_date(text)  # a full date (an Excel date cell) means its month
    values = pc.coalesce(by_month, _first_of_month(as_date))
    return values, pc.and_(pc.is_valid(text), pc.is_null(values))


def _first_of_month(dates: pa.Array) -> pa.Array:
    years = pc.cast(pc.year(dates), pa.string())
    months = pc.cast(pc.month(dates), pa.string())
    return _ymd(years, months, pc.if_else(pc.is_valid(dates), "1", pa.scalar(None, pa.string())))


def _parse_quarter(text: pa.Array) -> ParseResult:
    (years, quarters) = _extract(text, (_QUARTER,), ("y", "q"))
    for chinese, digit in zip("一二三四", "1234", strict=True):
        quarters = pc.replace_substring(quarters, chinese, digit)
    values = pc.binary_join_element_wise(years, quarters, "Q")
    return values, pc.and_(pc.is_valid(text), pc.is_null(values))


_PARSERS: dict[str, Callable[[pa.Array], ParseResult]] = {
    "code": _parse_code,
    "text": _parse_text,
    "int": _parse_int,
    "float": _parse_float,
    "bool": _parse_bool,
    "date": _parse_date,
    "month": _parse_month,
    "quarter": _parse_quarter,
}


def quarters_in(start: dt.date, end: dt.date) -> list[str]:
    """Codes of the quarters that overlap start..end, as store.period_predicate selects."""
    out = []
    for year in range(start.year, end.year + 1):
        for q in range(1, 5):
            first = dt.date(year, 3 * q - 2, 1)
            last_month = 3 * q
            last = dt.date(year + last_month // 12, last_month % 12 + 1, 1) - dt.timedelta(days=1)
            if first <= end and last >= start:
                out.append(f"{year}Q{q}")
    return out


# -- preview and commit ------------------------------------------------------------------
def preview(store: Store, validation: Validation, replace: bool = False) -> Diff:
    """Compare the upload with the stored rows by natural key; nothing is written."""
    spec, rows = _checked(validation, replace)
    key = list(spec.key)
    others = [f.name for f in spec.fields if f.name not in spec.key]
    con = store.connect(rollups=False)
    try:
        con.register(
            "upload", rows.append_column("_i", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
        )
        on = " AND ".join(f"u.{k} = s.{k}" for k in key)
        distinct = ", ".join(
            f"CASE WHEN u.{c} IS DISTINCT FROM s.{c} THEN '{c}' END" for c in others
        )
        # New rows have nothing to differ from (and their changed_fields are never read).
        statement = (
            f"SELECT u._i, s.{key[0]} IS NULL AS is_new, "
            f"CASE WHEN s.{key[0]} IS NULL THEN []::VARCHAR[] "
            f"ELSE list_filter([{distinct}], lambda x: x IS NOT NULL) END AS changed_fields "
            f"FROM upload u LEFT JOIN {spec.name} s ON {on} ORDER BY u._i"
        )
        joined = _arrow(con, statement)
        deleted = _to_delete(con, spec, validation, key) if replace else None
    finally:
        con.close()
    is_new = joined.column("is_new").combine_chunks()
    fields = joined.column("changed_fields")
    has_change = pc.greater(pc.list_value_length(fields), 0)
    is_changed = pc.and_(pc.invert(is_new), has_change)
    status = pc.if_else(is_new, "new", pc.if_else(is_changed, "changed", "unchanged"))
    keys = rows.select(key)
    changed = keys.filter(is_changed).append_column("changed_fields", fields.filter(is_changed))
    return Diff(
        new=keys.filter(is_new),
        changed=changed,
        unchanged=int(pc.sum(pc.equal(status, "unchanged")).as_py() or 0),
        deleted=deleted if deleted is not None else rows.select(key).slice(0, 0),
        row_status=status,
    )


def _checked(validation: Validation, replace: bool) -> tuple[Dataset, pa.Table]:
    if not validation.ok or validation.rows is None:
        raise ValueError(t("ingest_not_valid", "en"))
    spec = DATASETS[validation.dataset]
    if replace and spec.period_field is None:
        raise ValueError(t("ingest_replace_no_period", "en", dataset=spec.name))
    if replace and validation.period is None:
        raise ValueError(t("ingest_replace_needs_period", "en"))
    if replace and rows_in_period(validation) == 0:
        # Most likely the wrong period was picked: replacing would delete that period's
        # records and keep none of it.
        assert validation.period is not None
        raise IngestError("ingest_replace_outside", period=validation.period.code)
    return spec, validation.rows


def rows_in_period(validation: Validation) -> int:
    """How many of the file's rows fall in the period chosen for it (by the dataset's period
    field: a date, a month or a quarter)."""
    spec = DATASETS[validation.dataset]
    period = validation.period
    if validation.rows is None or period is None or spec.period_field is None:
        return 0
    column = validation.rows.column(spec.period_field)
    if spec.field(spec.period_field).type == "quarter":
        inside = pc.is_in(column, pa.array(quarters_in(period.start, period.end)))
    else:
        start, end = (pa.scalar(d, pa.date32()) for d in (period.start, period.end))
        inside = pc.and_(pc.greater_equal(column, start), pc.less_equal(column, end))
    return int(pc.sum(pc.cast(pc.fill_null(inside, False), pa.int64())).as_py() or 0)


def _arrow(con: Any, statement: str, params: dict[str, Any] | None = None) -> pa.Table:
    """A bound query's result as Arrow (identifiers in `statement` come from the contract)."""
    result: pa.Table = con.sql(statement, params=params).to_arrow_table()
    return result


def _to_delete(con: Any, spec: Dataset, validation: Validation, key: list[str]) -> pa.Table:
    """Stored rows of the community in the period that the upload no longer has."""
    assert validation.period is not None and spec.period_field is not None
    period = validation.period
    columns = ", ".join(f"s.{k}" for k in key)
    on = " AND ".join(f"u.{k} = s.{k}" for k in key)
    column = f"s.{spec.period_field}"
    if spec.field(spec.period_field).type == "quarter":
        in_period = f"list_contains($quarters, {column})"
        params: dict[str, Any] = {"quarters": quarters_in(period.start, period.end)}
    else:
        in_period = f"{column} BETWEEN $start AND $end"
        params = {"start": period.start, "end": period.end}
    statement = (
        f"SELECT {columns} FROM {spec.name} s WHERE s.community_id = $community "
        f"AND {in_period} AND NOT EXISTS (SELECT 1 FROM upload u WHERE {on}) ORDER BY {columns}"
    )
    params["community"] = validation.community_id
    return _arrow(con, statement, params)


def commit(
    store: Store, validation: Validation, *, user: str, replace: bool = False
) -> CommitResult:
    """Upsert the community's rows in one Delta commit; identical data write no version.

    The raw file is kept as <data dir>/uploads/<dataset>/<sha256>.<format> (never under the
    uploaded name, which is only recorded in the commit's metadata).
    """
    spec, rows = _checked(validation, replace)
    # The raw file is written while the preview reads the store (disk beside CPU), and is
    # on disk before anything is committed.
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        store.lock(f"ingest-{spec.name}-{validation.community_id}"),
    ):
        kept = pool.submit(keep_upload, store, validation)
        diff = preview(store, validation, replace=replace)
        upload_path, new_file = kept.result()
        if diff.is_empty:
            version = store.version().of(spec.name)
            return CommitResult(spec.name, version, False, diff, upload_path)
        source = rows if replace else rows.filter(pc.not_equal(diff.row_status, "unchanged"))
        counts = diff.counts()
        meta = {
            "user": user,
            "community_id": validation.community_id,
            "dataset": spec.name,
            "period": validation.period.code if validation.period else "",
            "file_name": validation.file_name,
            "file_sha256": validation.file_sha256,
            "rows_new": str(counts["new"]),
            "rows_changed": str(counts["changed"]),
            "rows_unchanged": str(counts["unchanged"]),
            "rows_deleted": str(counts["deleted"]),
            "replace": "true" if replace else "false",
        }
        span = (
            (validation.period.start, validation.period.end)
            if replace and validation.period
            else None
        )
        # Validation refused keys another community held then; another community may have
        # committed one of them since. Commits of one dataset check and write one at a time
        # here, so of two communities sending the same new id only the first gets it.
        with _keys_lock(store, spec):
            taken = _keys_taken(store, spec, rows, validation.community_id)
            if taken:
                if new_file:
                    upload_path.unlink(missing_ok=True)
                raise IngestError("ingest_key_taken", count=len(taken), keys="、".join(taken[:10]))
            version = store.upsert(
                spec.name,
                source,
                community_id=validation.community_id,
                replace_period=span,
                meta=meta,
            )
    return CommitResult(spec.name, version, True, diff, upload_path)


def _keys_lock(store: Store, spec: Dataset) -> contextlib.AbstractContextManager[None]:
    """Held while checking and writing keys that must be unique across communities."""
    if "community_id" in spec.key:  # the key holds the community: nothing to collide
        return contextlib.nullcontext()
    return store.lock(f"ingest-{spec.name}-keys")


def _keys_taken(store: Store, spec: Dataset, rows: pa.Table, community_id: str) -> list[str]:
    """Keys of `rows` that the latest version holds under another community."""
    if "community_id" in spec.key:
        return []
    con = store.connect(rollups=False)
    try:
        found = keys_elsewhere(con, spec, rows, community_id)
    finally:
        con.close()
    return [str(k) for k in rows.column(spec.key[0]).take(found).to_pylist()]


def keep_upload(store: Store, validation: Validation) -> tuple[Path, bool]:
    """The raw file kept beside the history, and whether this call wrote it."""
    folder = store.root / "uploads" / validation.dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{validation.file_sha256}.{validation.file_format}"
    if path.exists():
        return path, False
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(validation.data)
    os.replace(partial, path)
    return path, True


def rollback(store: Store, dataset: str, version: int, *, user: str) -> int:
    """Restore `dataset` as it was at `version`; the restore is itself a new version.

    The whole table is restored: every community's commits after `version` are undone
    (their version numbers are kept in the rollback's metadata, `undid_versions`).
    """
    if dataset not in DATASETS:
        raise IngestError("ingest_unknown_dataset", dataset=dataset)
    undone = [str(e["version"]) for e in rollback_preview(store, dataset, version)]
    meta = {
        "user": user,
        "dataset": dataset,
        "rolled_back_to": str(version),
        "undid_versions": ",".join(undone),
    }
    return store.rollback(dataset, version, meta=meta)


def rollback_preview(store: Store, dataset: str, version: int) -> list[dict[str, Any]]:
    """The commits, newest first and of every community, that restoring `version` undoes."""
    entries = [_with_action(e) for e in store.history(dataset)]
    known = {e["version"] for e in entries}
    if version not in known or version == max(known):
        raise IngestError("ingest_no_such_version", dataset=dataset, version=version)
    return [e for e in entries if e["version"] > version]


def history(
    store: Store, dataset: str | None = None, community_id: str | None = None
) -> list[dict[str, Any]]:
    """Commits newest first, across datasets, each with its `action`: upload, rollback or
    load (a whole-table write such as the demo). For one community: its uploads, and every
    rollback and load, since those change every community's rows. A commit that a later
    rollback undid says which (`undone_by`: that rollback's version)."""
    names = [dataset] if dataset else list(DATASETS)
    entries = []
    for name in names:
        own = [_with_action(e) for e in store.history(name)]
        undone = {
            number: int(e["version"])
            for e in own
            for number in str(e.get("undid_versions") or "").split(",")
            if number
        }
        entries += [{**e, "undone_by": undone.get(str(e["version"]))} for e in own]
    if community_id:
        entries = [
            e
            for e in entries
            if e.get("community_id") == community_id or e["action"] in ("rollback", "load")
        ]
    return sorted(entries, key=lambda e: e["committed_at"], reverse=True)


def _with_action(entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("operation") == "RESTORE" or "rolled_back_to" in entry:
        action = "rollback"
    elif entry.get("community_id"):
        action = "upload"
    else:
        action = "load"
    return {**entry, "action": action}


# -- the file back, with the problems -----------------------------------------------------
def annotated_file(validation: Validation, lang: str = "zh") -> tuple[bytes, str]:
    """The upload with a 错误说明 column (XLSX for XLSX, else CSV): bytes and a file name.

    The data rows stay as they were, one problem column added (ignored when the file is
    sent back). What concerns the file as a whole goes on a second sheet (XLSX) or on one
    line above the header (CSV), which the reader skips as a title.
    """
    column = t("ingest_error_column", lang)
    about_file = [p.message(lang) for p in validation.problems if p.row is None]
    about_file += [p.message(lang) for p in validation.notes]
    raw = validation.raw
    if raw is None:
        frame = pd.DataFrame({column: about_file})
        about_file = []
    else:
        frame = raw.cells.to_pandas()
        frame.columns = pd.Index(_unique(raw.headers))
        by_row: dict[int, list[str]] = {}
        for p in validation.problems:
            if p.row is not None:
                # "…的数据；网格编码：…", not "…的数据。；网格编码：…"
                message = p.message(lang).rstrip("。")
                by_row.setdefault(p.row, []).append(f"{p.column}：{message}")
        numbers = raw.row_numbers.to_pylist()
        frame[column] = ["；".join(by_row.get(n, [])) for n in numbers]
    stem = "annotated"
    if validation.file_format == "xlsx":
        sheets = {(raw.sheet if raw is not None and raw.sheet else column): frame}
        if about_file:
            sheets[t("ingest_notes_sheet", lang)] = pd.DataFrame({column: about_file})
        return export.to_xlsx_bytes(sheets), f"{stem}.xlsx"
    data = export.to_csv_bytes(frame)
    if about_file:
        line = export.to_csv_bytes(pd.DataFrame({"": ["；".join(about_file)]}))
        title = line.decode("utf-8-sig").split("\n", 1)[1]  # the value, without the header
        data = codecs.BOM_UTF8 + title.encode("utf-8") + data[len(codecs.BOM_UTF8) :]
    return data, f"{stem}.csv"


def _unique(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    return out
