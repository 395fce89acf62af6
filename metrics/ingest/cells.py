"""Typed values from text cells, a column at a time: trimmed, NFKC text (None for empty) →
(values, bad mask). Every file type's cells go through these same parsers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from metrics.schemas import CODE_PATTERN

TRUE_WORDS = ["是", "y", "yes", "1", "true", "t", "对", "√"]
FALSE_WORDS = ["否", "n", "no", "0", "false", "f", "不", "×"]
EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (1900 date system)
# Only numbers from 36526 (2000-01-01, schemas.MIN_DATE) on are read as Excel serial dates:
# '2026' as an Excel serial would be 1905-07-18.
EXCEL_MIN_SERIAL = 36526

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

ParseResult = tuple[pa.Array, pa.Array]


def nfkc(text: pa.Array) -> pa.Array:
    """NFKC-normalised text; a column of plain ASCII (codes, ISO dates) is that already."""
    if pc.all(pc.string_is_ascii(text)).as_py() is not False:
        return text
    return pc.utf8_normalize(text, "NFKC")


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


# Field type (schemas.FieldType) → its parser.
PARSERS: dict[str, Callable[[pa.Array], ParseResult]] = {
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
