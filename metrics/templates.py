"""Upload templates: the contract's headers, one example row, and notes on every column.

CSV is UTF-8 with a BOM so Chinese Excel opens it cleanly; XLSX adds a notes sheet listing
each column's format, whether it is required, its allowed values and accepted spellings.
The example rows pass validation for 北苑社区 (QTX01) with the demo grids.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from metrics import export
from metrics.i18n import t
from metrics.schemas import DATASETS, Dataset

TemplateFormat = Literal["csv", "xlsx"]

EXAMPLES: dict[str, dict[str, object]] = {
    "communities": {
        "community_id": "QTX01",
        "name": "北苑社区",
        "street": "裕民街道",
        "households": 5200,
        "residents": 15600,
        "community_workers": 30,
        "grid_party_branches": 4,
        "party_groups": 8,
        "party_member_households": 20,
    },
    "grids": {
        "grid_id": "QTX01-G01",
        "community_id": "QTX01",
        "name": "第一网格",
        "households": 420,
        "is_micro": "否",
    },
    "cases": {
        "case_id": "AJ202510-00001",
        "community_id": "QTX01",
        "grid_id": "QTX01-G01",
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
        "wish_id": "XY202510-00001",
        "community_id": "QTX01",
        "grid_id": "QTX01-G01",
        "beneficiary_group": "困难老人",
        "wish_category": "生活用品",
        "registered_on": "2025-10-03",
        "claimed_on": "2025-10-06",
        "claimed_by": "党员",
        "fulfilled_on": "2025-10-12",
        "status": "已实现",
    },
    "employment": {
        "community_id": "QTX01",
        "month": "2025-10",
        "seekers_registered": 12,
        "job_postings": 20,
        "positions_offered": 25,
        "placed_stable": 2,
        "placed_flexible": 30,
    },
    "property_ratings": {
        "quarter": "2025Q3",
        "community_id": "QTX01",
        "compound": "春华苑1期",
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


def example_frame(dataset: str, lang: str = "zh") -> pd.DataFrame:
    spec = DATASETS[dataset]
    row = EXAMPLES[dataset]
    return pd.DataFrame([[row[f.name] for f in spec.fields]], columns=headers(spec, lang))


def notes_frame(dataset: str, lang: str = "zh") -> pd.DataFrame:
    spec = DATASETS[dataset]
    yes, no = t("template_yes", lang), t("template_no", lang)
    return pd.DataFrame(
        {
            t("template_col_header", lang): [f.zh for f in spec.fields],
            t("template_col_name", lang): [f.name for f in spec.fields],
            t("template_col_type", lang): [t(f"template_type_{f.type}", lang) for f in spec.fields],
            t("template_col_required", lang): [
                yes if f.required and not f.nullable else no for f in spec.fields
            ],
            t("template_col_allowed", lang): ["、".join(f.allowed) for f in spec.fields],
            t("template_col_aliases", lang): ["、".join(f.aliases) for f in spec.fields],
        }
    )


def template(dataset: str, fmt: TemplateFormat = "xlsx", lang: str = "zh") -> bytes:
    """The upload template for `dataset` as CSV or XLSX bytes."""
    if dataset not in DATASETS:
        raise KeyError(t("ingest_unknown_dataset", "en", dataset=dataset))
    example = example_frame(dataset, lang)
    if fmt == "csv":
        return export.to_csv_bytes(example)
    if fmt == "xlsx":
        spec = DATASETS[dataset]
        sheet = spec.zh if lang == "zh" else spec.en
        return export.to_xlsx_bytes(
            {sheet: example, t("template_notes_sheet", lang): notes_frame(dataset, lang)}
        )
    raise ValueError(f"unknown template format {fmt!r} (csv or xlsx)")


def template_filename(dataset: str, fmt: TemplateFormat, lang: str = "zh") -> str:
    """An ASCII-safe download name, e.g. template-cases.xlsx."""
    return f"template-{DATASETS[dataset].name}.{fmt}"
