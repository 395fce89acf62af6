"""The data contract in code: datasets, their fields, types, allowed values and keys.

`docs/data-contract.md` is the prose version of this module; a test keeps the two in step.
"""

from __future__ import annotations

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

_COMMUNITY_ID = Field("community_id", "社区编码", "code", aliases=("社区代码", "社区ID"))
_GRID_ID = Field("grid_id", "网格编码", "code", aliases=("网格代码", "网格ID"))

COMMUNITIES = Dataset(
    name="communities",
    zh="社区名册",
    en="Communities",
    key=("community_id",),
    fields=(
        _COMMUNITY_ID,
        Field("name", "社区名称", "text"),
        Field("street", "所属街道", "text", aliases=("街道",)),
        Field("households", "户数", "int", min_value=0),
        Field("residents", "常住人口", "int", min_value=0),
        Field("community_workers", "社区工作者人数", "int", min_value=0),
        Field("grid_party_branches", "网格党支部数", "int", min_value=0),
        Field("party_groups", "党小组数", "int", min_value=0),
        Field("party_member_households", "党员中心户数", "int", min_value=0),
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
        Field("name", "网格名称", "text"),
        Field("households", "户数", "int", min_value=0),
        Field("is_micro", "是否微网格", "bool"),
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
        Field("case_id", "编号", "code", aliases=("案件编号", "事项编号")),
        _COMMUNITY_ID,
        _GRID_ID,
        Field("case_type", "类型", "text", allowed=CASE_TYPES, aliases=("事项类型",)),
        Field("category", "类别", "text"),
        Field("channel", "来源渠道", "text", allowed=CHANNELS, aliases=("渠道", "来源")),
        Field("is_supervised", "是否督办", "bool"),
        Field("reported_on", "受理日期", "date"),
        Field("resolved_on", "办结日期", "date", nullable=True),
        Field("status", "状态", "text", allowed=CASE_STATUSES),
        Field("note", "备注", "text", required=False, nullable=True),
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
        Field("wish_id", "编号", "code", aliases=("心愿编号",)),
        _COMMUNITY_ID,
        _GRID_ID,
        Field("beneficiary_group", "对象类别", "text"),
        Field("wish_category", "心愿类别", "text"),
        Field("registered_on", "登记日期", "date"),
        Field("claimed_on", "认领日期", "date", nullable=True),
        Field("claimed_by", "认领方类型", "text", nullable=True, allowed=CLAIMANTS),
        Field("fulfilled_on", "实现日期", "date", nullable=True),
        Field("status", "状态", "text", allowed=WISH_STATUSES),
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
        Field("month", "月份", "month"),
        Field("seekers_registered", "采集就业需求人员数", "int", min_value=0),
        Field("job_postings", "发布用工信息条数", "int", min_value=0),
        Field("positions_offered", "提供岗位数", "int", min_value=0),
        Field("placed_stable", "稳定就业人数", "int", min_value=0),
        Field("placed_flexible", "灵活就业人数", "int", min_value=0),
    ),
)

PROPERTY_RATINGS = Dataset(
    name="property_ratings",
    zh="红色物业评星定级",
    en="Property-management ratings",
    key=("quarter", "community_id", "compound", "company"),
    period_field="quarter",
    fields=(
        Field("quarter", "季度", "quarter"),
        _COMMUNITY_ID,
        Field("compound", "小区名称", "text", aliases=("小区",)),
        Field("company", "物业企业", "text", aliases=("物业公司", "物业服务企业")),
        Field("score_party", "党建引领", "float", min_value=0, max_value=100),
        Field("score_service", "服务质量", "float", min_value=0, max_value=100),
        Field("score_satisfaction", "居民满意度", "float", min_value=0, max_value=100),
        Field("score_safety", "安全管理", "float", min_value=0, max_value=100),
        Field("score_environment", "环境卫生", "float", min_value=0, max_value=100),
        Field("total_score", "综合得分", "float", min_value=0, max_value=100),
        Field("stars", "星级", "int", min_value=1, max_value=5),
        Field("outcome", "处理结果", "text", allowed=OUTCOMES),
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
