"""A deterministic synthetic store for 2023-01..2025-12 that tells the article's story.

City totals over the whole period equal the figures published for Qingtongxia (see
shared/domain/glossary.md): DEMO_TOTALS below, checked by tests/test_demo.py. 北苑社区 and
南苑社区 are named in the article; the other ten communities are invented and say so.
Everything else (months, grids, categories) is drawn from a seeded generator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from metrics.geo import demo as geo_demo
from metrics.location import S3Path
from metrics.periods import Period, add_months, local_tz, month_end
from metrics.store import DEMO_DIR, Store, StoreError

log = logging.getLogger(__name__)

SEED = 20231
FIRST_DAY = dt.date(2023, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
# The ledgers are as updated on this day: December's cases and wishes have had a few weeks
# to be closed, as they would have by the January review meeting.
AS_OF = dt.date(2026, 1, 20)
MONTHS = [add_months(FIRST_DAY, i) for i in range(36)]

# The article's cumulative figures, which the demo reproduces exactly.
DEMO_TOTALS = {
    "communities": 12,
    "grids": 178,
    "disputes_handled": 964,
    "supervision_orders": 183,
    "problems_resolved": 685,
    "wishes_fulfilled": 8046,
    "job_seekers_registered": 684,
    "job_postings": 1204,
    "positions_offered": 1530,
    "placed_stable": 90,
    "placed_flexible": 1920,
    "community_workers": 303,
    "grid_party_branches": 37,
    "party_groups": 81,
    "party_member_households": 230,
}

# id, name, street, grids, quality (1 = the leader, low = the laggard)
COMMUNITIES = [
    ("QTX01", "北苑社区", "裕民街道", 18, 1.00),
    ("QTX02", "南苑社区", "裕民街道", 16, 0.85),
    ("QTX03", "东湖社区（示例）", "裕民街道", 15, 0.70),
    ("QTX04", "西园社区（示例）", "裕民街道", 15, 0.65),
    ("QTX05", "文化社区（示例）", "裕民街道", 14, 0.72),
    ("QTX06", "汉坝社区（示例）", "小坝镇", 15, 0.68),
    ("QTX07", "新华社区（示例）", "小坝镇", 14, 0.62),
    ("QTX08", "富康社区（示例）", "小坝镇", 15, 0.66),
    ("QTX09", "朝阳社区（示例）", "小坝镇", 14, 0.70),
    ("QTX10", "嘉宝社区（示例）", "小坝镇", 14, 0.64),
    ("QTX11", "利民社区（示例）", "裕民街道", 14, 0.60),
    ("QTX12", "滨河社区（示例）", "小坝镇", 14, 0.25),  # the laggard
]
GRID_NAMES = "一二三四五六七八九十"
MICRO_GRIDS = {"QTX01": 2, "QTX02": 2, "QTX05": 1, "QTX09": 1}

DISPUTE_CATEGORIES = ["邻里纠纷", "物业纠纷", "家庭纠纷", "劳资纠纷", "噪音扰民", "停车纠纷"]
PROBLEM_CATEGORIES = ["就医就学", "老旧小区改造", "路灯维修", "供暖供水", "养老服务", "环境整治"]
CHANNEL_WEIGHTS = {"板凳会": 5, "红色议事园": 3, "敲门队": 3, "网格走访": 4, "其他": 1}
NOTES = [
    "经板凳会协商，双方达成一致",
    "网格员上门走访调解",
    "已协调相关部门处理",
    "居民代表会议议定解决方案",
    None,
    None,
]
BENEFICIARIES = ["困难老人", "留守儿童", "残疾人", "低保家庭", "困难党员"]
WISH_CATEGORIES = ["生活用品", "学习用品", "家电维修", "医疗康复", "陪伴服务", "文体活动"]
CLAIMANT_WEIGHTS = {"党员": 5, "机关单位": 3, "企业": 2, "志愿者": 3}
COMPANIES = ["宁安物业", "金域物业", "塞上物业", "惠民物业", "黄河物业", "祥泰物业"]


def month_weights() -> np.ndarray:
    """Seasonality: the consultation month (September) and the year end run high,
    the Spring Festival months low, and the work grows a little year by year."""
    by_month = {1: 0.75, 2: 0.7, 9: 1.6, 11: 1.15, 12: 1.45}
    w = np.array([by_month.get(m.month, 1.0) * (1 + 0.12 * (m.year - 2023)) for m in MONTHS])
    out: np.ndarray = w / w.sum()
    return out


def _split(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    return rng.multinomial(total, weights / weights.sum())


def _day_in(rng: np.random.Generator, month: dt.date) -> dt.date:
    return month.replace(day=int(rng.integers(1, month_end(month.year, month.month).day + 1)))


def build() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(SEED)
    quality = {cid: q for cid, _, _, _, q in COMMUNITIES}
    ids = [c[0] for c in COMMUNITIES]

    # -- registry ----------------------------------------------------------------------
    grids = []
    for cid, _name, _street, n_grids, _q in COMMUNITIES:
        micro = MICRO_GRIDS.get(cid, 0)
        for i in range(n_grids):
            is_micro = i >= n_grids - micro
            grid_households = (
                int(rng.integers(50, 101))
                if is_micro
                else int(np.clip(rng.normal(410, 55), 240, 580))
            )
            number = i + 1
            label = GRID_NAMES[number - 1] if number <= 10 else f"十{GRID_NAMES[number - 11]}"
            grids.append(
                {
                    "grid_id": f"{cid}-G{number:02d}",
                    "community_id": cid,
                    "name": f"第{label}网格" + ("（微网格）" if is_micro else ""),
                    "households": grid_households,
                    "is_micro": is_micro,
                }
            )
    grids_df = pd.DataFrame(grids)
    per_community = grids_df.groupby("community_id")["households"].sum()
    households = {cid: int(per_community[cid]) for cid in ids}
    residents = {cid: int(households[cid] * rng.uniform(2.25, 2.45)) for cid in ids}
    # Staff in proportion to residents and quality, scaled to the article's 303.
    need = np.array([residents[c] * (0.75 + 0.3 * quality[c]) for c in ids])
    workers = _largest_remainder(need, DEMO_TOTALS["community_workers"])
    branches = _largest_remainder(np.array([c[3] for c in COMMUNITIES], float), 37)
    groups = _largest_remainder(np.array([c[3] for c in COMMUNITIES], float), 81)
    centre = _largest_remainder(np.array([c[3] for c in COMMUNITIES], float), 230)
    communities_df = pd.DataFrame(
        {
            "community_id": ids,
            "name": [c[1] for c in COMMUNITIES],
            "street": [c[2] for c in COMMUNITIES],
            "households": [households[c] for c in ids],
            "residents": [residents[c] for c in ids],
            "community_workers": workers,
            "grid_party_branches": branches,
            "party_groups": groups,
            "party_member_households": centre,
        }
    )

    grids_of = {cid: grids_df.loc[grids_df.community_id == cid, "grid_id"].tolist() for cid in ids}
    size = np.array([residents[c] for c in ids], float)
    cases_df = _cases(rng, ids, grids_of, quality, size)
    wishes_df = _wishes(rng, ids, grids_of, quality, size)
    employment_df = _employment(rng, ids, size)
    ratings_df = _ratings(rng, ids, quality)
    return {
        "communities": communities_df,
        "grids": grids_df,
        "cases": cases_df,
        "wishes": wishes_df,
        "employment": employment_df,
        "property_ratings": ratings_df,
    }


def _largest_remainder(weights: np.ndarray, total: int) -> list[int]:
    """Integers in proportion to `weights` that add up to exactly `total`."""
    exact = weights / weights.sum() * total
    floors = np.floor(exact).astype(int)
    order = np.argsort(-(exact - floors), kind="stable")
    floors[order[: total - floors.sum()]] += 1
    return [int(x) for x in floors]


def _cases(
    rng: np.random.Generator,
    ids: list[str],
    grids_of: dict[str, list[str]],
    quality: dict[str, float],
    size: np.ndarray,
) -> pd.DataFrame:
    n_disputes = DEMO_TOTALS["disputes_handled"]
    n_problems = 722
    rows: list[dict[str, Any]] = []
    weights = month_weights()
    for case_type, n in (("矛盾纠纷", n_disputes), ("急难愁盼", n_problems)):
        per_month = _split(rng, n, weights)
        for month, count in zip(MONTHS, per_month, strict=True):
            # The laggard community reports more trouble than its size suggests.
            w = size * np.array([1.6 if quality[c] < 0.3 else 1.0 for c in ids])
            per_community = _split(rng, int(count), w)
            for cid, k in zip(ids, per_community, strict=True):
                for _ in range(int(k)):
                    reported = _day_in(rng, month)
                    if month.month == 9 and rng.random() < 0.55:
                        channel = "协商月"
                    else:
                        channel = str(
                            rng.choice(list(CHANNEL_WEIGHTS), p=_p(CHANNEL_WEIGHTS.values()))
                        )
                    categories = (
                        DISPUTE_CATEGORIES if case_type == "矛盾纠纷" else PROBLEM_CATEGORIES
                    )
                    rows.append(
                        {
                            "community_id": cid,
                            "grid_id": str(rng.choice(grids_of[cid])),
                            "case_type": case_type,
                            "category": str(rng.choice(categories)),
                            "channel": channel,
                            "is_supervised": False,
                            "reported_on": reported,
                            "resolved_on": None,
                            "status": "办理中",
                            "note": rng.choice(np.array(NOTES, dtype=object)),
                        }
                    )
    df = pd.DataFrame(rows).sort_values(["reported_on", "community_id"], kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "case_id", [f"AJ{d:%Y%m}-{i + 1:05d}" for i, d in enumerate(df["reported_on"])])
    _close_cases(rng, df, quality)
    return df


def _close_cases(rng: np.random.Generator, df: pd.DataFrame, quality: dict[str, float]) -> None:
    """Outcomes and supervision orders, in place."""
    # Slower communities take longer and leave more open and unresolved.
    q = df["community_id"].map(quality).to_numpy()
    mean_days = 4 + 22 * (1 - q)
    days = np.ceil(rng.exponential(mean_days)).astype(int) + 1
    resolved_on = [r + dt.timedelta(days=int(d)) for r, d in zip(df.reported_on, days, strict=True)]
    closes_in_time = np.array([d <= LAST_DAY for d in resolved_on])
    unresolved = rng.random(len(df)) < 0.06 * (1.2 - q)
    # Urgent problems: exactly the article's 685 resolved by the end of 2025. The best-run
    # communities' problems are picked first, so the laggard keeps the open ones.
    problem = (df["case_type"] == "急难愁盼").to_numpy()
    candidates = np.where(problem & closes_in_time)[0]
    priority = q[candidates] + rng.random(len(candidates)) * 0.9
    chosen = set(
        candidates[np.argsort(-priority, kind="stable")][: DEMO_TOTALS["problems_resolved"]]
    )
    status, resolved = [], []
    for i in range(len(df)):
        closes_by_as_of = resolved_on[i] <= AS_OF
        if problem[i]:
            # Resolved after the year end does not count towards the article's 685.
            ok = i in chosen or (not closes_in_time[i] and closes_by_as_of)
            fail = (not ok) and closes_in_time[i]
        else:
            ok = closes_by_as_of and not unresolved[i]
            fail = closes_by_as_of and unresolved[i]
        status.append("已化解" if ok else "未化解" if fail else "办理中")
        resolved.append(resolved_on[i] if (ok or fail) else None)
    df["status"] = status
    df["resolved_on"] = resolved

    # Supervision orders: the article's 183, more often on slow and problem cases.
    w = (1.3 - q) * np.where(problem, 1.5, 1.0)
    picked = rng.choice(
        len(df), size=DEMO_TOTALS["supervision_orders"], replace=False, p=w / w.sum()
    )
    df.loc[picked, "is_supervised"] = True
    df.loc[picked[::2], "channel"] = "民情督办单"


def _wishes(
    rng: np.random.Generator,
    ids: list[str],
    grids_of: dict[str, list[str]],
    quality: dict[str, float],
    size: np.ndarray,
) -> pd.DataFrame:
    n = 8420
    rows = []
    per_month = _split(rng, n, month_weights())
    for month, count in zip(MONTHS, per_month, strict=True):
        for cid, k in zip(ids, _split(rng, int(count), size), strict=True):
            for _ in range(int(k)):
                rows.append(
                    {
                        "community_id": cid,
                        "grid_id": str(rng.choice(grids_of[cid])),
                        "beneficiary_group": str(rng.choice(BENEFICIARIES)),
                        "wish_category": str(rng.choice(WISH_CATEGORIES)),
                        "registered_on": _day_in(rng, month),
                    }
                )
    df = pd.DataFrame(rows).sort_values(["registered_on", "community_id"], kind="stable")
    df = df.reset_index(drop=True)
    df.insert(0, "wish_id", [f"XY{d:%Y%m}-{i + 1:05d}" for i, d in enumerate(df["registered_on"])])
    q = df["community_id"].map(quality).to_numpy()
    claim_days = np.ceil(rng.exponential(3 + 25 * (1 - q))).astype(int)
    fulfil_days = np.ceil(rng.exponential(6 + 10 * (1 - q))).astype(int) + 1
    claimed_on = [
        r + dt.timedelta(days=int(d)) for r, d in zip(df.registered_on, claim_days, strict=True)
    ]
    fulfilled_on = [
        c + dt.timedelta(days=int(d)) for c, d in zip(claimed_on, fulfil_days, strict=True)
    ]
    in_time = np.array([f <= LAST_DAY for f in fulfilled_on])
    candidates = np.where(in_time)[0]
    priority = q[candidates] + rng.random(len(candidates)) * 1.2
    chosen = set(
        candidates[np.argsort(-priority, kind="stable")][: DEMO_TOTALS["wishes_fulfilled"]]
    )
    # A wish not fulfilled is still claimed if it was claimed by the end, else waiting;
    # in the laggard community some wait well past 30 days.
    status: list[str] = []
    claimed: list[dt.date | None] = []
    fulfilled: list[dt.date | None] = []
    by: list[str | None] = []
    claimant_p = _p(CLAIMANT_WEIGHTS.values())
    for i in range(len(df)):
        who = str(rng.choice(list(CLAIMANT_WEIGHTS), p=claimant_p))
        if i in chosen or LAST_DAY < fulfilled_on[i] <= AS_OF:
            status.append("已实现")
            claimed.append(claimed_on[i])
            fulfilled.append(fulfilled_on[i])
            by.append(who)
        elif claimed_on[i] <= AS_OF and rng.random() < 0.6:
            status.append("已认领")
            claimed.append(claimed_on[i])
            fulfilled.append(None)
            by.append(who)
        else:
            status.append("待认领")
            claimed.append(None)
            fulfilled.append(None)
            by.append(None)
    df["claimed_on"] = claimed
    df["claimed_by"] = by
    df["fulfilled_on"] = fulfilled
    df["status"] = status
    return df


def _employment(rng: np.random.Generator, ids: list[str], size: np.ndarray) -> pd.DataFrame:
    cells = [(cid, m) for m in MONTHS for cid in ids]
    # Hiring peaks after the Spring Festival and before the year end.
    season = {2: 1.5, 3: 1.6, 4: 1.2, 10: 1.1, 11: 1.2}
    w = np.array(
        [
            size[ids.index(c)] * season.get(m.month, 1.0) * (1 + 0.15 * (m.year - 2023))
            for c, m in cells
        ]
    )
    df = pd.DataFrame({"community_id": [c for c, _ in cells], "month": [m for _, m in cells]})
    for column in (
        "seekers_registered",
        "job_postings",
        "positions_offered",
        "placed_stable",
        "placed_flexible",
    ):
        key = "job_seekers_registered" if column == "seekers_registered" else column
        df[column] = _split(rng, DEMO_TOTALS[key], w)
    return df


def _ratings(rng: np.random.Generator, ids: list[str], quality: dict[str, float]) -> pd.DataFrame:
    from metrics.schemas import stars_for

    rows = []
    compounds: list[list[Any]] = []  # community, compound, company serving it, base score
    for k, cid in enumerate(ids):
        for j in range(3):
            company = COMPANIES[(k + j * 2) % len(COMPANIES)]
            base = 72 + 22 * quality[cid] + rng.normal(0, 4)
            if cid == "QTX12" and j == 0:
                base = 58.0  # the failing company the laggard must deal with
            compounds.append([cid, f"{'春夏秋'[j]}华苑{k + 1}期", company, base])
    for year in (2023, 2024, 2025):
        for qn in (1, 2, 3, 4):
            for entry in compounds:
                cid, compound, company, base = entry
                drift = 1.5 * (year - 2023) + rng.normal(0, 3)
                parts = np.clip(rng.normal(base + drift, 4, size=5), 35, 100).round(1)
                total = round(float(parts.mean()), 1)
                stars = stars_for(total)
                outcome = "无"
                if stars == 2:
                    outcome = "约谈整改"
                elif stars == 1:
                    outcome = "降低收费标准" if rng.random() < 0.7 else "取消服务资格"
                if outcome == "取消服务资格":
                    # From the next quarter another company serves the compound: somewhat
                    # better, not yet good.
                    entry[2] = COMPANIES[(COMPANIES.index(company) + 1) % len(COMPANIES)]
                    entry[3] = max(base, 66.0)
                rows.append(
                    {
                        "quarter": f"{year}Q{qn}",
                        "community_id": cid,
                        "compound": compound,
                        "company": company,
                        "score_party": parts[0],
                        "score_service": parts[1],
                        "score_satisfaction": parts[2],
                        "score_safety": parts[3],
                        "score_environment": parts[4],
                        "total_score": total,
                        "stars": stars,
                        "outcome": outcome,
                    }
                )
    return pd.DataFrame(rows)


def _p(weights: Any) -> np.ndarray:
    w = np.array(list(weights), float)
    out: np.ndarray = w / w.sum()
    return out


def store_at(root: Path | S3Path | str | None = None) -> Store:
    """The demo store of a data directory (default $GOVDASH_DATA_DIR): its own directory,
    `demo/`, beside the real store, never in it."""
    return Store(root, DEMO_DIR)


def write(store: Store) -> dict[str, int]:
    """Replace every table of the demo store `store` with the demo data (refused for a real
    store); returns rows written per dataset."""
    frames = build()
    counts = {}
    with store.lock("demo"):
        if store.kind == "real":
            raise StoreError("store_demo_over_real", path=str(store.tables_dir))
        if store.kind is None:
            store.create(
                "demo",
                "demo",
                seed=SEED,
                first_month=FIRST_DAY.isoformat(),
                last_month=LAST_DAY.isoformat(),
                as_of=AS_OF.isoformat(),
            )
        for name, frame in frames.items():
            store.replace_all(
                name,
                pa.Table.from_pandas(frame, preserve_index=False),
                meta={"user": "demo", "source": "python -m metrics demo"},
                refresh=False,
            )
            counts[name] = len(frame)
        geo_demo.write(store, frames["grids"])  # schematic boundaries (示意) for the map
        store.refresh_all()
    log.info("demo store written to %s: %s", store.tables_dir, counts)
    return counts


def ensure(store: Store) -> bool:
    """Build the demo store `store` if it does not exist yet; True if it was built now."""
    if store.exists():
        return False
    with store.lock("demo"):
        if Store(store.root, store.tables_dir.name).exists():  # built while we waited
            return False
        write(store)
        return True


def submitted_at(community_id: str, dataset: str, reporting: str) -> dt.datetime:
    """When the demo's community is taken to have sent `dataset` for `reporting` (a month
    like 2025-10, or a quarter like 2025Q3 for property ratings): in office hours between
    the 1st and the 12th of the next month, mostly by the 5th; the weaker the community,
    the more often after it (滨河社区, the laggard, about one ledger in five). The demo is loaded in
    one go, so its commits carry no such times; review.reporting asks here instead, and
    judges each time by the deadline rule like any upload. Drawn from a hash of the three
    keys, so the history stays the same without touching the seeded draws of build().
    """
    quality = {cid: q for cid, _, _, _, q in COMMUNITIES}.get(community_id, 1.0)
    digest = hashlib.sha256(f"{community_id}|{dataset}|{reporting}".encode()).digest()
    late, day, minute = (int.from_bytes(digest[i : i + 4], "big") for i in (0, 4, 8))
    after = add_months(Period.parse(reporting).end, 1)
    if late / 2**32 < 0.36 * (1 - quality) ** 2:
        sent = after.replace(day=6 + day % 7)  # 6th to 12th: after the 5th, late
    else:
        sent = after.replace(day=1 + day % 5)  # 1st to 5th
    clock = dt.time(8 + minute % 10, minute // 10 % 60)  # office hours
    return dt.datetime.combine(sent, clock, tzinfo=local_tz())
