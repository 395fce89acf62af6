"""Upload templates: the contract's headers, one example row, and notes on every column.

CSV is UTF-8 with a BOM so Chinese Excel opens it cleanly; XLSX adds a notes sheet listing
each column's format, whether it is required, its allowed values, accepted spellings and
the rules across columns, and on the data sheet: a drop-down list (data validation) on
every column with allowed values (yes/no columns too), a date format on date columns, each
column's rule as a comment on its header, and the header row frozen. The template is made
for one community: its code and one of its grids, so rows copied from the example pass.
The example row itself is marked (its id, month or name starts with 示例 / EXAMPLE) and
validation refuses it, so an unchanged template can never overwrite real records
(schemas.EXAMPLE_FIELD).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Literal

import pandas as pd
import xlsxwriter

from metrics import export
from metrics.i18n import t
from metrics.schemas import (
    DATASETS,
    DATE_ORDER,
    EXAMPLE_FIELD,
    MIN_DATE,
    SCORE_PARTS,
    STAR_BANDS,
    STATUS_RULES,
    TOTAL_TOLERANCE,
    Dataset,
)
from metrics.store import Store

TemplateFormat = Literal["csv", "xlsx"]
DEFAULT_COMMUNITY = "QTX01"

# The example row of each dataset; {community} and {grid} are the template's community and
# one of its grids, {mark} is 示例 (EXAMPLE in English) on the field named in EXAMPLE_FIELD.
EXAMPLES: dict[str, dict[str, object]] = {
    "communities": {
        "community_id": "{community}",
        "name": "{mark}社区",
        "street": "裕民街道",
        "households": 5200,
        "residents": 15600,
        "community_workers": 30,
        "grid_party_branches": 4,
        "party_groups": 8,
        "party_member_households": 20,
    },
    "grids": {
        "grid_id": "{mark}-{community}-G01",
        "community_id": "{community}",
        "name": "第一网格",
        "households": 420,
        "is_micro": "否",
    },
    "cases": {
        "case_id": "{mark}-AJ202510-00001",
        "community_id": "{community}",
        "grid_id": "{grid}",
        "case_type": "矛盾纠纷",
        "category": "邻里纠纷",
        "channel": "板凳会",
        "is_supervised": "否",
        "reported_on": "2025-10-08",
        "resolved_on": "2025-10-15",
        "status": "已化解",
        "note": "经板凳会协商，双方达成一致",
    },
    "wishes": {
        "wish_id": "{mark}-XY202510-00001",
        "community_id": "{community}",
        "grid_id": "{grid}",
        "beneficiary_group": "困难老人",
        "wish_category": "生活用品",
        "registered_on": "2025-10-03",
        "claimed_on": "2025-10-06",
        "claimed_by": "党员",
        "fulfilled_on": "2025-10-12",
        "status": "已实现",
    },
    "employment": {
        "community_id": "{community}",
        "month": "{mark}-2025-10",
        "seekers_registered": 12,
        "job_postings": 20,
        "positions_offered": 25,
        "placed_stable": 2,
        "placed_flexible": 30,
    },
    "property_ratings": {
        "quarter": "2025Q3",
        "community_id": "{community}",
        "compound": "{mark}小区",
        "company": "宁安物业",
        "score_party": 92,
        "score_service": 90,
        "score_satisfaction": 94,
        "score_safety": 88,
        "score_environment": 91,
        "total_score": 91,
        "stars": 5,
        "outcome": "无",
    },
}


def headers(spec: Dataset, lang: str = "zh") -> list[str]:
    return [f.zh if lang == "zh" else f.name for f in spec.fields]


def example_grid(store: Store, community_id: str) -> str | None:
    """One registered grid of the community (the first by code), or None."""
    con = store.connect(rollups=False)
    try:
        found = con.execute(
            "SELECT min(grid_id) FROM grids WHERE community_id = $community",
            {"community": community_id},
        ).fetchone()
    except Exception:  # no grid register yet (duckdb raises CatalogException)
        return None
    finally:
        con.close()
    return str(found[0]) if found and found[0] is not None else None


def example_row(
    dataset: str, lang: str = "zh", community_id: str | None = None, grid_id: str | None = None
) -> dict[str, object]:
    """The example row for `community_id` (and `grid_id`, default <community>-G01)."""
    community = community_id or DEFAULT_COMMUNITY
    values = {
        "community": community,
        "grid": grid_id or f"{community}-G01",
        "mark": t("template_example_mark", lang),
    }
    return {
        name: value.format(**values) if isinstance(value, str) else value
        for name, value in EXAMPLES[dataset].items()
    }


def example_frame(
    dataset: str, lang: str = "zh", community_id: str | None = None, grid_id: str | None = None
) -> pd.DataFrame:
    spec = DATASETS[dataset]
    row = example_row(dataset, lang, community_id, grid_id)
    return pd.DataFrame([[row[f.name] for f in spec.fields]], columns=headers(spec, lang))


def field_rules(
    dataset: str, lang: str = "zh", community_id: str | None = None, grid_id: str | None = None
) -> dict[str, list[str]]:
    """The checks an upload makes on each column, beyond its format, as sentences."""
    spec = DATASETS[dataset]
    community = community_id or DEFAULT_COMMUNITY
    grid = grid_id or f"{community}-G01"
    rules: dict[str, list[str]] = {f.name: [] for f in spec.fields}

    def label(name: str) -> str:
        return spec.field(name).zh

    if dataset != "communities":
        rules["community_id"].append(t("template_rule_community", lang, community=community))
    if spec.has_grid and dataset != "grids":
        rules["grid_id"].append(t("template_rule_grid", lang, community=community, grid=grid))
    if len(spec.key) == 1 and spec.key[0] != "community_id":
        rules[spec.key[0]].append(t("template_rule_key", lang))
    elif len(spec.key) > 1:
        fields = "、".join(label(k) for k in spec.key)
        rules[spec.key[-1]].append(t("template_rule_key_fields", lang, fields=fields))
    for f in spec.fields:
        if f.type in ("date", "month", "quarter"):
            rules[f.name].append(t(f"template_rule_{f.type}_range", lang, first=MIN_DATE))
    for earlier, later in DATE_ORDER.get(dataset, ()):
        rules[later].append(t("template_rule_not_before", lang, other=label(earlier)))
    needs: dict[str, list[str]] = {}
    forbids: dict[str, list[str]] = {}
    for status, (needed, forbidden) in STATUS_RULES.get(dataset, {}).items():
        for name in needed:
            needs.setdefault(name, []).append(status)
        for name in forbidden:
            forbids.setdefault(name, []).append(status)
    for name, statuses in needs.items():
        rules[name].append(t("template_rule_status_needs", lang, status="、".join(statuses)))
    for name, statuses in forbids.items():
        rules[name].append(t("template_rule_status_forbids", lang, status="、".join(statuses)))
    if dataset == "property_ratings":
        parts = "、".join(label(p) for p in SCORE_PARTS)
        rules["total_score"].append(
            t("template_rule_total", lang, parts=parts, tolerance=f"{TOTAL_TOLERANCE:g}")
        )
        bands = "，".join(
            t("template_rule_band", lang, lower=f"{low:g}", stars=stars)
            for low, stars in STAR_BANDS
            if low > 0
        )
        rules["stars"].append(t("template_rule_stars", lang, bands=bands))
    return rules


def notes_frame(
    dataset: str, lang: str = "zh", community_id: str | None = None, grid_id: str | None = None
) -> pd.DataFrame:
    """One row per column (format, required, allowed values, spellings, rules), then the
    rules that concern the whole row."""
    spec = DATASETS[dataset]
    yes, no = t("template_yes", lang), t("template_no", lang)
    rules = field_rules(dataset, lang, community_id, grid_id)
    columns = {
        t("template_col_header", lang): [f.zh for f in spec.fields],
        t("template_col_name", lang): [f.name for f in spec.fields],
        t("template_col_type", lang): [t(f"template_type_{f.type}", lang) for f in spec.fields],
        t("template_col_required", lang): [
            yes if f.required and not f.nullable else no for f in spec.fields
        ],
        t("template_col_allowed", lang): ["、".join(f.allowed) for f in spec.fields],
        t("template_col_aliases", lang): ["、".join(f.aliases) for f in spec.fields],
        t("template_col_rules", lang): [" ".join(rules[f.name]) for f in spec.fields],
    }
    frame = pd.DataFrame(columns)
    marked = spec.field(EXAMPLE_FIELD[dataset]).zh
    whole_row = [
        t("template_rule_example", lang, column=marked),
        t("template_rule_apostrophe", lang),
    ]
    extra = pd.DataFrame({name: [""] * len(whole_row) for name in columns})
    extra[t("template_col_header", lang)] = [t("template_rule_row", lang)] * len(whole_row)
    extra[t("template_col_rules", lang)] = whole_row
    return pd.concat([frame, extra], ignore_index=True)


def template(
    dataset: str,
    fmt: TemplateFormat = "xlsx",
    lang: str = "zh",
    *,
    community_id: str | None = None,
    grid_id: str | None = None,
) -> bytes:
    """The upload template for `dataset` and `community_id` (and one of its grids)."""
    if dataset not in DATASETS:
        raise KeyError(t("ingest_unknown_dataset", "en", dataset=dataset))
    example = example_frame(dataset, lang, community_id, grid_id)
    if fmt == "csv":
        return export.to_csv_bytes(example)
    if fmt == "xlsx":
        notes = notes_frame(dataset, lang, community_id, grid_id)
        return _xlsx(dataset, lang, example, notes)
    raise ValueError(f"unknown template format {fmt!r} (csv or xlsx)")


def template_filename(dataset: str, fmt: TemplateFormat, lang: str = "zh") -> str:
    """An ASCII-safe download name, e.g. template-cases.xlsx."""
    return f"template-{DATASETS[dataset].name}.{fmt}"


TEMPLATE_ROWS = 1000  # rows below the header that carry the drop-downs and date formats
_DATE_FORMATS = {"date": "yyyy-mm-dd", "month": "yyyy-mm"}


def allowed_values(dataset: str, name: str) -> tuple[str, ...]:
    """What a column's drop-down offers: its allowed values, 是/否 for a yes/no column."""
    f = DATASETS[dataset].field(name)
    return ("是", "否") if f.type == "bool" else f.allowed


def _xlsx(dataset: str, lang: str, example: pd.DataFrame, notes: pd.DataFrame) -> bytes:
    """The data sheet written cell by cell (drop-downs, formats, comments, frozen header),
    then the notes sheet."""
    spec = DATASETS[dataset]
    out = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True}
    with xlsxwriter.Workbook(out, options) as book:
        ws = book.add_worksheet(spec.zh if lang == "zh" else spec.en)
        bold = book.add_format({"bold": True})
        ws.freeze_panes(1, 0)
        for col, (f, header) in enumerate(zip(spec.fields, example.columns, strict=True)):
            ws.write_string(0, col, str(header), bold)
            ws.write_comment(0, col, _comment(notes, col), {"x_scale": 2.5, "y_scale": 2.5})
            value = example.iloc[0, col]
            if f.type in _DATE_FORMATS:
                cell = book.add_format({"num_format": _DATE_FORMATS[f.type]})
                ws.set_column(col, col, 12, cell)
                day = _as_date(value)
                if day is not None:
                    ws.write_datetime(1, col, dt.datetime.combine(day, dt.time()), cell)
                else:
                    ws.write_string(1, col, str(value))
            else:
                ws.set_column(col, col, max(10, 2 * len(str(header)) + 2))
                ws.write(1, col, value if not isinstance(value, str) else str(value))
            values = allowed_values(dataset, f.name)
            if values:
                ws.data_validation(
                    1,
                    col,
                    TEMPLATE_ROWS,
                    col,
                    {
                        "validate": "list",
                        "source": list(values),
                        "error_title": t("template_list_title", lang),
                        "error_message": t("template_list_error", lang, values="、".join(values)),
                    },
                )
        _write_frame(book, t("template_notes_sheet", lang), notes, bold)
    return out.getvalue()


def _comment(notes: pd.DataFrame, index: int) -> str:
    """A column's notes (format, required, allowed values, spellings, rules) as its header's
    comment, one "格式：日期" line each."""
    row = notes.iloc[index]
    return "\n".join(f"{name}：{row[name]}" for name in notes.columns[2:] if str(row[name]))


def _as_date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _write_frame(book: Any, name: str, frame: pd.DataFrame, bold: Any) -> None:
    ws = book.add_worksheet(name)
    for col, header in enumerate(frame.columns):
        ws.write_string(0, col, str(header), bold)
        for row, value in enumerate(frame.iloc[:, col], start=1):
            ws.write_string(row, col, str(value))
