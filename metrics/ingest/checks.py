"""The checks on an upload's cells, a column at a time: each appends a Problem for the
failing rows only, so Python loops over bad rows, never over all of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.ingest.cells import PARSERS, nfkc, quarters_in
from metrics.ingest.lookups import community_grids, keys_elsewhere
from metrics.ingest.problems import Problem
from metrics.periods import Period
from metrics.readers import RawTable
from metrics.schemas import (
    DATE_ORDER,
    EXAMPLE_FIELD,
    EXAMPLE_MARKS,
    MIN_DATE,
    SCORE_PARTS,
    STAR_BANDS,
    STATUS_RULES,
    TOTAL_TOLERANCE,
    Dataset,
    Field,
)
from metrics.store import Store


class Checker:
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
        """The field's typed values; empty, unreadable, disallowed and out-of-range cells
        flagged (a value that is not allowed is left empty)."""
        arrow_type = self.spec.arrow_schema.field(f.name).type
        if f.name not in self.columns:
            return pa.nulls(self.n, arrow_type)
        raw = self.cells(f.name)
        free_text = f.type == "text" and not f.allowed and not f.required
        if free_text:
            # Stored exactly as written, formula-like prefixes included (export neutralises).
            return pc.if_else(pc.equal(raw, ""), pa.scalar(None, pa.string()), raw)
        text = pc.utf8_trim_whitespace(raw if f.type == "text" else nfkc(raw))
        empty = pc.equal(text, "")
        if not f.nullable:
            self.flag(empty, f.name, "ingest_required")
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
        values, bad = PARSERS[f.type](text)
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
        self._limits(f, values)
        self._dates(f, values)
        return values

    def _limits(self, f: Field, values: pa.Array) -> None:
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

    def _dates(self, f: Field, values: pa.Array) -> None:
        """Dates, months and quarters from MIN_DATE up to today."""
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

    # -- the rows against the community, its grids and the period --------------------------
    def community_rules(
        self, rows: pa.Table, community_id: str, store: Store, period: Period | None
    ) -> None:
        spec = self.spec
        self._other_community(rows, community_id)
        con = store.connect(rollups=False)
        try:
            if spec.has_grid and spec.name != "grids":
                grid = rows.column("grid_id")
                foreign = pc.and_(
                    pc.is_valid(grid), pc.invert(pc.is_in(grid, community_grids(con, community_id)))
                )
                self.flag(foreign, "grid_id", "ingest_foreign_grid", community=community_id)
            if "community_id" not in spec.key:
                self._keys_elsewhere(con, rows, community_id)
        finally:
            con.close()
        if period is not None and spec.period_field is not None:
            self._outside_period(rows, spec.period_field, period)

    def _other_community(self, rows: pa.Table, community_id: str) -> None:
        other = pc.not_equal(rows.column("community_id"), community_id)
        values = rows.column("community_id").combine_chunks()
        index = pc.indices_nonzero(pc.fill_null(other, False))
        self.flag_each(
            other,
            "community_id",
            "ingest_other_community",
            ({"value": v, "community": community_id} for v in values.take(index).to_pylist()),
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

    def _outside_period(self, rows: pa.Table, name: str, period: Period) -> None:
        kind = self.spec.field(name).type
        column = rows.column(name)
        if kind == "month":
            outside = pc.or_(
                pc.less(column, pa.scalar(period.start, pa.date32())),
                pc.greater(column, pa.scalar(period.end, pa.date32())),
            )
            self.flag(outside, name, "ingest_outside_period", period=period.code)
        elif kind == "quarter":
            outside = pc.invert(pc.is_in(column, pa.array(quarters_in(period.start, period.end))))
            self.flag(
                pc.and_(pc.is_valid(column), outside),
                name,
                "ingest_outside_period",
                period=period.code,
            )

    # -- the file as a whole -----------------------------------------------------------
    def example_rows(self) -> set[int]:
        """Rows that are the template's example (marked 示例/EXAMPLE), each flagged."""
        name = EXAMPLE_FIELD[self.spec.name]
        if name not in self.columns or self.n == 0:
            return set()
        text = pc.utf8_lower(pc.utf8_trim_whitespace(nfkc(self.cells(name))))
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
