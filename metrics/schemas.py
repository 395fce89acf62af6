"""The data contract in code: datasets, their fields, types, allowed values and keys, and
the rules across a row's fields (validation checks them, the template states them).

`docs/data-contract.md` is the prose version of this module; a test keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

# Logical types. "month" is stored as the first day of the month (DATE); "quarter" as text
# such as 2025Q3; "code" is an id restricted to CODE_PATTERN so it can never carry SQL.
FieldType = Literal["code", "text", "int", "float", "date", "month", "quarter", "bool"]

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
QUARTER_PATTERN = r"^\d{4}Q[1-4]$"

ARROW_TYPES: dict[str, pa.DataType] = {
    "code": pa.string(),
    "text": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "month": pa.date32(),
    "quarter": pa.string(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    type: FieldType
    required: bool = True  # the column must be present in an upload
    nullable: bool = False  # a present column may have empty cells
    allowed: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    aliases: tuple[str, ...] = ()  # further header spellings accepted on upload
    description: str = ""
    en: str = ""  # the English header shown to readers (the code name is no label)

    def label(self, lang: str = "zh") -> str:
        """The field's header in the reader's language."""
        return self.zh if lang == "zh" else self.en or self.zh

    def value_label(self, value: str, lang: str = "zh") -> str:
        """One of the field's allowed values in the reader's language (stored in Chinese)."""
        return value if lang == "zh" or value not in self.allowed else VALUE_EN[value]


@dataclass(frozen=True)
class Dataset:
    name: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    period_field: str | None = None  # what "replace this period" ranges over
    has_grid: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(f.name, ARROW_TYPES[f.type], nullable=True) for f in self.fields]
        )


CASE_TYPES = ("矛盾纠纷", "急难愁盼")
CHANNELS = ("板凳会", "红色议事园", "敲门队", "网格走访", "协商月", "民情督办单", "其他")
CASE_STATUSES = ("办理中", "已化解", "未化解")
CLAIMANTS = ("党员", "机关单位", "企业", "志愿者")
WISH_STATUSES = ("待认领", "已认领", "已实现")
OUTCOMES = ("无", "约谈整改", "降低收费标准", "取消服务资格")
# The English label of every allowed value: what English pages, downloads (lang=en) and
# reports show. Stored values, uploads and templates stay Chinese. docs/data-contract.md
# lists them; tests/test_english_values.py holds every allowed value to a label here.
VALUE_EN: dict[str, str] = {
    "矛盾纠纷": "Dispute",
    "急难愁盼": "Urgent problem",
    "板凳会": "Bench meeting",
    "红色议事园": "Red deliberation garden",
    "敲门队": "Door-knocking team",
    "网格走访": "Grid visit",
    "协商月": "Consultation month",
    "民情督办单": "Supervision order",
    "其他": "Other",
    "办理中": "Open",
    "已化解": "Resolved",
    "未化解": "Not resolved",
    "党员": "Party member",
    "机关单位": "Government office",
    "企业": "Company",
    "志愿者": "Volunteer",
    "待认领": "Waiting",
    "已认领": "Claimed",
    "已实现": "Fulfilled",
    "无": "No action",
    "约谈整改": "Talks and rectification",
    "降低收费标准": "Fee reduced",
    "取消服务资格": "Qualification withdrawn",
}

_COMMUNITY_ID = Field(
    "community_id", "社区编码", "code", aliases=("社区代码", "社区ID"), en="Community code"
)
_GRID_ID = Field("grid_id", "网格编码", "code", aliases=("网格代码", "网格ID"), en="Grid code")

COMMUNITIES = Dataset(
    name="communities",
    zh="社区名册",
    en="Communities",
    key=("community_id",),
    fields=(
        _COMMUNITY_ID,
        Field("name", "社区名称", "text", en="Community"),
        Field("street", "所属街道", "text", aliases=("街道",), en="Street"),
        Field("households", "户数", "int", min_value=0, en="Households"),
        Field("residents", "常住人口", "int", min_value=0, en="Residents"),
        Field("community_workers", "社区工作者人数", "int", min_value=0, en="Community workers"),
        Field("grid_party_branches", "网格党支部数", "int", min_value=0, en="Grid party branches"),
        Field("party_groups", "党小组数", "int", min_value=0, en="Party groups"),
        Field(
            "party_member_households",
            "党员中心户数",
            "int",
            min_value=0,
            en="Party-member households",
        ),
    ),
)

GRIDS = Dataset(
    name="grids",
    zh="网格名册",
    en="Grids",
    key=("grid_id",),
    has_grid=True,
    fields=(
        _GRID_ID,
        _COMMUNITY_ID,
        Field("name", "网格名称", "text", en="Grid"),
        Field("households", "户数", "int", min_value=0, en="Households"),
        Field("is_micro", "是否微网格", "bool", en="Micro-grid"),
    ),
)

CASES = Dataset(
    name="cases",
    zh="矛盾纠纷与诉求台账",
    en="Disputes and urgent problems",
    key=("case_id",),
    period_field="reported_on",
    has_grid=True,
    fields=(
        Field("case_id", "编号", "code", aliases=("案件编号", "事项编号"), en="Case no."),
        _COMMUNITY_ID,
        _GRID_ID,
        Field("case_type", "类型", "text", allowed=CASE_TYPES, aliases=("事项类型",), en="Type"),
        Field("category", "类别", "text", en="Category"),
        Field(
            "channel", "来源渠道", "text", allowed=CHANNELS, aliases=("渠道", "来源"), en="Channel"
        ),
        Field("is_supervised", "是否督办", "bool", en="Supervision order"),
        Field("reported_on", "受理日期", "date", en="Received"),
        Field("resolved_on", "办结日期", "date", nullable=True, en="Closed"),
        Field("status", "状态", "text", allowed=CASE_STATUSES, en="Status"),
        Field("note", "备注", "text", required=False, nullable=True, en="Note"),
    ),
)

WISHES = Dataset(
    name="wishes",
    zh="微心愿台账",
    en="Micro-wishes",
    key=("wish_id",),
    period_field="registered_on",
    has_grid=True,
    fields=(
        Field("wish_id", "编号", "code", aliases=("心愿编号",), en="Wish no."),
        _COMMUNITY_ID,
        _GRID_ID,
        Field("beneficiary_group", "对象类别", "text", en="Beneficiary group"),
        Field("wish_category", "心愿类别", "text", en="Wish category"),
        Field("registered_on", "登记日期", "date", en="Registered"),
        Field("claimed_on", "认领日期", "date", nullable=True, en="Claimed"),
        Field(
            "claimed_by", "认领方类型", "text", nullable=True, allowed=CLAIMANTS, en="Claimed by"
        ),
        Field("fulfilled_on", "实现日期", "date", nullable=True, en="Fulfilled"),
        Field("status", "状态", "text", allowed=WISH_STATUSES, en="Status"),
    ),
)

EMPLOYMENT = Dataset(
    name="employment",
    zh="就业服务月报",
    en="Employment service",
    key=("community_id", "month"),
    period_field="month",
    fields=(
        _COMMUNITY_ID,
        Field("month", "月份", "month", en="Month"),
        Field(
            "seekers_registered",
            "采集就业需求人员数",
            "int",
            min_value=0,
            en="Job seekers registered",
        ),
        Field("job_postings", "发布用工信息条数", "int", min_value=0, en="Job postings"),
        Field("positions_offered", "提供岗位数", "int", min_value=0, en="Positions offered"),
        Field("placed_stable", "稳定就业人数", "int", min_value=0, en="Placed in stable jobs"),
        Field("placed_flexible", "灵活就业人数", "int", min_value=0, en="Placed in flexible work"),
    ),
)

PROPERTY_RATINGS = Dataset(
    name="property_ratings",
    zh="红色物业评星定级",
    en="Property-management ratings",
    key=("quarter", "community_id", "compound", "company"),
    period_field="quarter",
    fields=(
        Field("quarter", "季度", "quarter", en="Quarter"),
        _COMMUNITY_ID,
        Field("compound", "小区名称", "text", aliases=("小区",), en="Residential compound"),
        Field(
            "company",
            "物业企业",
            "text",
            aliases=("物业公司", "物业服务企业"),
            en="Property company",
        ),
        Field("score_party", "党建引领", "float", min_value=0, max_value=100, en="Party building"),
        Field(
            "score_service", "服务质量", "float", min_value=0, max_value=100, en="Service quality"
        ),
        Field(
            "score_satisfaction",
            "居民满意度",
            "float",
            min_value=0,
            max_value=100,
            en="Resident satisfaction",
        ),
        Field("score_safety", "安全管理", "float", min_value=0, max_value=100, en="Safety"),
        Field(
            "score_environment", "环境卫生", "float", min_value=0, max_value=100, en="Cleanliness"
        ),
        Field("total_score", "综合得分", "float", min_value=0, max_value=100, en="Total score"),
        Field("stars", "星级", "int", min_value=1, max_value=5, en="Stars"),
        Field("outcome", "处理结果", "text", allowed=OUTCOMES, en="Outcome"),
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (COMMUNITIES, GRIDS, CASES, WISHES, EMPLOYMENT, PROPERTY_RATINGS)
}

# Property ratings: the total is the plain mean of the five part scores (checked to within
# TOTAL_TOLERANCE), and the stars follow from the total by these lower bounds.
SCORE_PARTS = (
    "score_party",
    "score_service",
    "score_satisfaction",
    "score_safety",
    "score_environment",
)
TOTAL_TOLERANCE = 0.5
STAR_BANDS = ((90.0, 5), (80.0, 4), (70.0, 3), (60.0, 2), (0.0, 1))


def stars_for(total_score: float) -> int:
    for lower, stars in STAR_BANDS:
        if total_score >= lower:
            return stars
    return 1


# -- rules across the fields of a row, and the example row ------------------------------
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
# No ledger holds a date before 2000: an earlier one is a typo or a number taken for a
# date ('2026' as an Excel serial is 1905-07-18), so it is refused.
MIN_DATE = dt.date(2000, 1, 1)
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
