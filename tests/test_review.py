"""Targets, statuses, scores, narrative, follow-ups and submissions on a tiny inline store.

Three communities, October 2025 reviewed with the shipped monthly weights:
resolution_rate 30, overdue_cases 20, median_days_to_resolve 15, fulfillment_rate 20,
wishes_unclaimed_overdue 15; points 达标 100, 接近 60, 未达标 0.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from metrics import targets
from metrics.periods import Period, local_tz
from metrics.review import review
from metrics.schemas import DATASETS
from metrics.store import Store

COMMUNITIES = """\
A01,甲社区,一街道,400,10000,20,1,1,1
A02,乙社区,一街道,350,10000,17,1,1,1
A03,丙社区,一街道,600,5000,8,1,1,1
"""
GRIDS = """\
A01-G1,A01,第一网格,400,false
A02-G1,A02,第一网格,350,false
A03-G1,A03,第一网格,600,false
"""
# October 2025 per community (period end 10-31):
#   A01: K1 4 days, K2 10 days, both resolved  -> rate 2/2, median 7, overdue 0
#   A02: K3 resolved in 20 days, K4 open       -> rate 1/2; median 20; K5 open since 09-01
#        is 60 days old at 10-31                -> overdue 1
#   A03: K6 resolved in 19 days                -> rate 1/1, median 19, overdue 0
# K7 (September) and K8, K9 (October 2024) are there for 环比 and 同比 of disputes.
CASES = """\
K1,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-10-02,2025-10-06,已化解
K2,A01,A01-G1,急难愁盼,路灯维修,网格走访,false,2025-10-10,2025-10-20,已化解
K3,A02,A02-G1,矛盾纠纷,物业纠纷,板凳会,false,2025-10-05,2025-10-25,已化解
K4,A02,A02-G1,矛盾纠纷,噪音扰民,敲门队,false,2025-10-08,,办理中
K5,A02,A02-G1,急难愁盼,供暖供水,民情督办单,true,2025-09-01,,办理中
K6,A03,A03-G1,矛盾纠纷,停车纠纷,板凳会,false,2025-10-01,2025-10-20,已化解
K7,A01,A01-G1,矛盾纠纷,家庭纠纷,板凳会,false,2025-09-10,2025-09-12,已化解
K8,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2024-10-03,2024-10-05,已化解
K9,A02,A02-G1,矛盾纠纷,邻里纠纷,板凳会,false,2024-10-07,2024-10-09,已化解
"""
# A01: W1 fulfilled -> rate 1/1. A02: W2 fulfilled, W3 waiting -> rate 1/2; W4 unclaimed
# since 08-15 is 77 days old at 10-31 -> unclaimed overdue 1. A03: no wishes -> no rate.
WISHES = """\
W1,A01,A01-G1,困难老人,生活用品,2025-10-03,2025-10-04,党员,2025-10-10,已实现
W2,A02,A02-G1,留守儿童,学习用品,2025-10-05,2025-10-06,企业,2025-10-15,已实现
W3,A02,A02-G1,残疾人,家电维修,2025-10-20,,,,待认领
W4,A02,A02-G1,低保家庭,医疗康复,2025-08-15,,,,待认领
"""
RATINGS = """\
2025Q4,A01,春华苑,宁安物业,92,90,94,88,91,91.0,5,无
2025Q4,A02,秋华苑,塞上物业,60,64,62,66,63,63.0,2,约谈整改
"""
EMPLOYMENT = """\
A01,2025-10-01,3,2,4,1,2
"""
OCTOBER = Period.parse("2025-10")


def header(dataset: str) -> str:
    """The contract's columns in order; a row may stop before the optional last ones."""
    return ",".join(DATASETS[dataset].field_names) + "\n"


def table(dataset: str, text: str) -> pa.Table:
    frame = pd.read_csv(io.StringIO(header(dataset) + text), dtype=str)
    return pa.Table.from_pandas(frame, preserve_index=False)


def upload(store: Store, dataset: str, text: str, community: str, period: str) -> None:
    """One community's upload, with the metadata the upload page records."""
    rows = table(dataset, text).to_pandas()
    rows = rows[rows["community_id"] == community]
    meta = {"user": f"{community}-clerk", "community_id": community, "dataset": dataset}
    meta["period"] = period
    store.upsert(
        dataset,
        pa.Table.from_pandas(rows, preserve_index=False),
        community_id=community,
        meta=meta,
    )


def build_store(root: Path) -> Store:
    store = Store(root)
    store.replace_all("communities", table("communities", COMMUNITIES), meta={"user": "admin"})
    store.replace_all("grids", table("grids", GRIDS), meta={"user": "admin"})
    for community in ("A01", "A02", "A03"):
        upload(store, "cases", CASES, community, "2024-10..2025-10")
    for community in ("A01", "A02"):  # A03 has sent no wishes ledger
        upload(store, "wishes", WISHES, community, "2025-08..2025-10")
    for community in ("A01", "A02"):
        upload(store, "property_ratings", RATINGS, community, "2025Q4")
    # A whole-table load (no community): it counts for the periods its rows cover, here
    # A01's October only; A02 and A03 sent no employment report.
    store.replace_all("employment", table("employment", EMPLOYMENT), meta={"user": "demo"})
    return store


@pytest.fixture
def tiny(tmp_path: Path) -> Store:
    return build_store(tmp_path / "data")


# -- targets -------------------------------------------------------------------------------


def test_status_up_down_and_range_with_boundaries() -> None:
    tg = targets.defaults()
    assert targets.status("resolution_rate", 19 / 20, tg) == "green"  # exactly 95 %
    assert targets.status("resolution_rate", 0.90, tg) == "amber"
    assert targets.status("resolution_rate", 0.899, tg) == "red"
    assert targets.status("overdue_cases", 0, tg) == "green"
    assert targets.status("overdue_cases", 2, tg) == "amber"
    assert targets.status("overdue_cases", 3, tg) == "red"
    assert targets.status("households_per_grid", 300, tg) == "green"
    assert targets.status("households_per_grid", 520, tg) == "amber"
    assert targets.status("households_per_grid", 251, tg) == "red"
    assert targets.status("mean_stars", 4.0, tg) == "green"
    assert targets.status("workers_per_10k", 17.9, tg) == "amber"
    assert targets.status("resolution_rate", None, tg) is None
    assert targets.status("cases_received", 12, tg) is None  # no target


def test_cues_carry_text_not_only_colour() -> None:
    assert targets.cue("green") == "✅ 达标"
    assert targets.cue("amber", "en") == "⚠️ Near target"
    assert targets.cue("red", plain=True) == "× 未达标"
    assert targets.defaults().metrics["households_per_grid"].text() == "300–500"
    assert targets.defaults().metrics["resolution_rate"].text() == "≥95.0%"


def test_targets_are_versioned_in_the_store_with_the_editor(tiny: Store) -> None:
    assert targets.load(tiny).version is None  # nothing saved: the shipped defaults
    frame = targets.to_frame(targets.defaults())
    # Shares are edited in percent: 80 is 80 %.
    frame.loc[frame["metric"] == "resolution_rate", ["green_low", "amber_low"]] = [80, 70]
    v0 = targets.save(tiny, targets.from_frame(frame, targets.defaults()), user="admin")
    frame.loc[frame["metric"] == "resolution_rate", "green_low"] = 85
    v1 = targets.save(tiny, targets.from_frame(frame, targets.defaults()), user="chen")
    assert (v0, v1) == (0, 1)
    assert targets.load(tiny).metrics["resolution_rate"].green == (0.85, None)
    assert targets.load(tiny, 0).metrics["resolution_rate"].green == (0.8, None)
    assert [h["user"] for h in targets.history(tiny)] == ["chen", "admin"]
    # Not a dataset: the data version does not see it.
    assert "_targets" not in tiny.version().token


def test_bad_targets_are_refused() -> None:
    doc = targets.defaults().to_document()
    doc["metrics"]["resolution_rate"]["amber"] = 0.99  # amber above green, higher is better
    with pytest.raises(ValueError, match="amber"):
        targets.from_document(doc)
    doc = targets.defaults().to_document()
    doc["metrics"]["resolution_rate"]["green"] = 95  # meant 95 %: would be ≥9500.0 %
    with pytest.raises(targets.TargetsError) as refused:
        targets.from_document(doc)
    assert refused.value.message("zh") == "化解率：比例应在 0% 到 100% 之间，不能是 9500%。"
    assert "resolution_rate" in str(refused.value)
    frame = targets.to_frame(targets.defaults())
    row = frame["metric"] == "fulfillment_rate"
    assert frame.loc[row, ["green_low", "amber_low", "unit"]].values.tolist() == [[90, 80, "%"]]
    frame.loc[row, ["green_low", "amber_low"]] = [0.9, 0.8]  # typed as fractions: 0.9 %
    assert targets.from_frame(frame, targets.defaults()).metrics["fulfillment_rate"].green == (
        pytest.approx(0.009),
        None,
    )
    frame.loc[row, ["green_low", "amber_low"]] = [900, 80]
    with pytest.raises(targets.TargetsError) as refused:
        targets.from_frame(frame, targets.defaults())
    assert refused.value.message("en") == (
        "Fulfilment rate: a share is between 0% and 100%, not 900%."
    )
    doc = targets.defaults().to_document()
    doc["metrics"]["no_such_metric"] = {"direction": "up", "green": 1, "amber": 0}
    with pytest.raises(ValueError, match="unknown metric"):
        targets.from_document(doc)


# -- scores and league ----------------------------------------------------------------------


def test_scores_statuses_and_ranks_by_hand(tiny: Store) -> None:
    r = review(tiny, OCTOBER)
    league = r.league.set_index("community_id")
    # A01: everything 达标 -> 100.
    # A02: rate 50 % 未达标 0×30, overdue 1 接近 60×20, median 20 接近 60×15,
    #      fulfilment 50 % 未达标 0×20, unclaimed 1 接近 60×15 -> (1200+900+900)/100 = 30.0
    # A03 sent no wishes ledger (缺报): fulfilment and unclaimed are 未达标 with their full
    #      weight, not left out or counted as 0 unclaimed (达标).
    #      rate 100 % 100×30, overdue 0 100×20, median 19 接近 60×15, fulfilment 缺报 0×20,
    #      unclaimed 缺报 0×15 -> (3000+2000+900)/100 = 59.0
    assert league["score"].to_dict() == {"A01": 100.0, "A03": 59.0, "A02": 30.0}
    assert list(r.league["community_id"]) == ["A01", "A03", "A02"]
    assert league["rank"].to_dict() == {"A01": 1, "A03": 2, "A02": 3}
    # September (A03's wishes ledger is missing then too): A01 100 (no wishes registered,
    # fulfilment left out); A02 (0×30 + 100×20 + 60×15)/65 = 44.6 (no cases resolved, no
    # wishes registered); A03 only overdue 0 has a value, plus the two 缺报:
    # (100×20 + 0×20 + 0×15)/55 = 36.4 -> ranks 1, 3, 2.
    assert league["previous_rank"].to_dict() == {"A01": 1, "A03": 3, "A02": 2}
    assert league["rank_change"].to_dict() == {"A01": 0, "A03": 1, "A02": -1}
    assert league.loc["A02", "resolution_rate_status"] == "red"
    assert league.loc["A02", "overdue_cases_status"] == "amber"
    assert league.loc["A02", "below_target"] == ["化解率", "心愿实现率"]
    assert league.loc["A03", "below_target"] == ["心愿实现率", "超30天未认领"]
    # The employment table was loaded whole with A01's October row only: A02 and A03 sent
    # no October report (it has no weight in a month's score, so the scores stand).
    assert league.loc["A03", "missing_ledgers"] == ["微心愿台账", "就业服务月报"]
    assert league.loc["A02", "missing_ledgers"] == ["就业服务月报"]
    assert league.loc["A01", "missing_ledgers"] == []
    assert not league["tied"].any()

    a03 = r.breakdown[r.breakdown["community_id"] == "A03"].set_index("metric")
    assert a03.loc["fulfillment_rate", "share"] == pytest.approx(0.20)
    assert a03.loc["fulfillment_rate", "status"] == "red"
    assert bool(a03.loc["fulfillment_rate", "missing"]) is True
    assert pd.isna(a03.loc["wishes_unclaimed_overdue", "value"])  # not the 0 of "no rows"
    assert a03.loc["resolution_rate", "share"] == pytest.approx(0.30)
    assert a03.loc["median_days_to_resolve", "contribution"] == pytest.approx(60 * 15 / 100)
    assert a03.loc["median_days_to_resolve", "explanation"] == (
        "办结天数中位数 19（目标≤15，⚠️ 接近）：60分 × 权重15.0% = 9.0分"
    )
    assert a03.loc["wishes_unclaimed_overdue", "explanation"] == (
        "超30天未认领：微心愿台账缺报，按未达标计0分 × 权重15.0% = 0.0分"
    )


def test_no_data_without_a_missing_ledger_is_left_out(tiny: Store) -> None:
    # A01 sent its wishes ledger, but registered no wish in September: its fulfilment rate
    # has no value and is left out, the other weights scaled up (30+20+15+15 = 80).
    september = review(tiny, Period.parse("2025-09"))
    a01 = september.breakdown[september.breakdown["community_id"] == "A01"].set_index("metric")
    assert a01.loc["fulfillment_rate", "share"] == 0.0
    assert a01.loc["resolution_rate", "share"] == pytest.approx(30 / 80)
    assert a01.loc["fulfillment_rate", "explanation"].startswith("心愿实现率：本期无数据")
    assert september.league.set_index("community_id").loc["A03", "score"] == pytest.approx(
        2000 / 55
    )


def test_headline_with_mom_and_yoy(tiny: Store) -> None:
    head = review(tiny, OCTOBER).headline.set_index("metric")
    # Disputes: October K1 K3 K4 K6 = 4, September K7 = 1, October 2024 K8 K9 = 2.
    assert head.loc["disputes_handled", ["value", "previous", "year_ago"]].tolist() == [4, 1, 2]
    assert head.loc["disputes_handled", "mom"] == pytest.approx(3.0)
    assert head.loc["disputes_handled", "yoy"] == pytest.approx(1.0)
    # Five cases received in October, four resolved.
    assert head.loc["resolution_rate", "value"] == pytest.approx(0.8)
    assert head.loc["resolution_rate", "cue"] == "❌ 未达标"
    # A share changes in percentage points: September K5 open, K7 resolved -> 50 %, so
    # +30.0 points; October 2024 K8, K9 both resolved -> 100 %, so -20.0 points.
    assert head.loc["resolution_rate", "mom"] == pytest.approx(30.0)
    assert head.loc["resolution_rate", "yoy"] == pytest.approx(-20.0)
    assert head.loc["mean_stars", "value"] == pytest.approx(3.5)  # (5 + 2) / 2
    assert head.loc["mean_stars", "status"] == "amber"


def test_a_month_of_quarterly_ratings_is_compared_with_the_quarter_before(tiny: Store) -> None:
    upload(
        tiny,
        "property_ratings",
        "2025Q3,A01,春华苑,宁安物业,80,80,80,80,80,80.0,4,无\n",
        "A01",
        "2025Q3",
    )
    head = review(tiny, Period.parse("2025-11")).headline.set_index("metric")
    # November's ratings are 2025Q4's (5★ and 2★ = 3.5). October is the same quarter, so
    # 环比 compares with 2025Q3 (one rating, 4★): −0.5 stars, not ±0.
    assert head.loc["mean_stars", ["value", "previous"]].tolist() == [3.5, 4.0]
    assert head.loc["mean_stars", "mom"] == pytest.approx(-0.5)
    # Disputes still compare month with month: November has none, October four.
    assert head.loc["disputes_handled", "previous"] == 4


def test_narrative_exact(tiny: Store) -> None:
    assert review(tiny, OCTOBER).narrative == [
        "2025年10月全市受理矛盾纠纷4起，环比上升300.0%，同比上升100.0%；"
        "共受理事项5件，化解率80.0%，环比上升30.0个百分点，未达到目标（≥95.0%）。",
        "期末超期未办结事项1件，接近目标（≤0）。",
        "圆梦微心愿2个，心愿实现率66.7%，未达到目标（≥90.0%）；超30天未认领心愿1个。",
        "物业企业平均星级3.5星，接近目标（≥4.0）。",
        "综合考核得分排名前列的是甲社区（100.0分）、丙社区（59.0分）；"
        "排名最后的是乙社区（30.0分）。",
        "2个社区有考核指标未达标：乙社区（化解率、心愿实现率）、丙社区（心愿实现率、超30天未认领）。",
        # 缺报: 丙's wishes; 乙's and 丙's employment (the whole-table load had A01's only).
        "乙社区（就业服务月报）、丙社区（微心愿台账、就业服务月报）缺报，"
        "相关考核指标按未达标计0分。",
        "需督办事项11项：超期未办结事项1件，超期未认领心愿1个，物业企业1家次，"
        "社区考核指标未达标4项、接近目标4项。",
        # 3 communities × 3 monthly ledgers = 9: all sent after 2025-11-05 (the tests run
        # later), so cases 3 + wishes 2 (甲, 乙) + employment 1 (甲) = 6 逾期; 缺报 丙's
        # wishes, 乙's and 丙's employment = 3; none 按时.
        "2025年10月台账报送：按时0项，逾期6项，缺报3项，未到期0项。",
    ]
    english = review(tiny, OCTOBER, lang="en").narrative
    assert english[0].startswith("In Oct 2025 the city took in 4 disputes, up 300.0%")


def test_follow_up_list(tiny: Store) -> None:
    follow = review(tiny, OCTOBER).follow_ups
    rows = follow[["kind", "community", "owner", "item", "since", "age_days", "status"]]
    # Grouped by community, the one with most items first (乙 8: K5, W4, 塞上物业 and five
    # metrics; 丙 3 metrics), then kind (case, wish, property, metric), oldest first; every
    # scored metric short of 达标 (接近 as well as 未达标) in weight order; 丙社区's two
    # wish metrics are 缺报. An item open too long is amber, a failing company red.
    assert rows.astype(object).where(rows.notna(), None).values.tolist() == [
        ["case", "乙社区", "乙社区 第一网格", "K5", "2025-09-01", 60, "amber"],  # 10-31 less 09-01
        ["wish", "乙社区", "乙社区 第一网格", "W4", "2025-08-15", 77, "amber"],  # 10-31 less 08-15
        ["property", "乙社区", "乙社区", "塞上物业", "2025Q4", None, "red"],
        ["metric", "乙社区", "乙社区", "化解率", "2025-10", None, "red"],
        ["metric", "乙社区", "乙社区", "超期未办结", "2025-10", None, "amber"],
        ["metric", "乙社区", "乙社区", "办结天数中位数", "2025-10", None, "amber"],
        ["metric", "乙社区", "乙社区", "心愿实现率", "2025-10", None, "red"],
        ["metric", "乙社区", "乙社区", "超30天未认领", "2025-10", None, "amber"],
        ["metric", "丙社区", "丙社区", "办结天数中位数", "2025-10", None, "amber"],
        ["metric", "丙社区", "丙社区", "心愿实现率", "2025-10", None, "red"],
        ["metric", "丙社区", "丙社区", "超30天未认领", "2025-10", None, "red"],
    ]
    # Age bands: K5 is 60 days old (30–60, the upper bound included), W4 77 (60–180).
    assert follow["band_label"].tolist()[:3] == ["30–60天", "60–180天", ""]
    assert not follow["long_open"].any()
    # The status column says why each item is listed; a metric's is its status cue.
    assert follow["cue"].tolist()[:5] == [
        "⏳ 超期未办结",
        "⏳ 超期未认领",
        "❌ 评星不合格或受处理",
        "❌ 未达标",
        "⚠️ 接近",
    ]
    assert follow["reason"].tolist()[:5] == [
        "超期未办结",
        "超期未认领",
        "评星不合格或受处理",
        "未达标",
        "接近",
    ]
    assert follow["detail"].tolist()[:4] == [
        "急难愁盼·供暖供水（督办）",
        "低保家庭·医疗康复",
        "秋华苑，2星，约谈整改",
        "50.0%，目标≥95.0%",  # 乙's rate: K3 of K3, K4
    ]
    assert follow["detail"].tolist()[9] == "微心愿台账缺报，按未达标计（目标≥90.0%）"


def test_submission_status(tiny: Store) -> None:
    subs = review(tiny, OCTOBER).submissions
    status = subs.set_index(["dataset", "community_id"])["status"].to_dict()
    # Uploads were committed today, long after the deadline of 2025-11-05.
    assert status[("cases", "A01")] == "late"
    assert status[("wishes", "A02")] == "late"
    assert status[("wishes", "A03")] == "missing"
    # The whole-table load of employment carried A01's October row only: A01 sent it (late,
    # like every commit of this store), A03 did not. Never a blanket "on time".
    assert status[("employment", "A01")] == "late"
    assert status[("employment", "A03")] == "missing"
    notes = subs.set_index(["dataset", "community_id"])["note"]
    assert notes[("employment", "A01")] == "整表导入（不分社区）"
    assert set(subs["dataset"]) == {"cases", "wishes", "employment"}  # October ends no quarter
    assert subs["deadline"].iloc[0] == dt.date(2025, 11, 5)
    first = subs.set_index(["dataset", "community_id"]).loc[("cases", "A02")]
    assert first["user"] == "A02-clerk"
    assert first["version"] == 1  # A01's upload made the table, A02's was version 1


def test_submission_on_time_and_not_yet_due(tiny: Store) -> None:
    future = Period.parse("2099-01")
    row = "K99,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2099-01-05,,办理中\n"
    upload(tiny, "cases", row, "A01", "2099-01")
    subs = review(tiny, future).submissions.set_index(["dataset", "community_id"])
    assert subs.loc[("cases", "A01"), "status"] == "on_time"
    assert subs.loc[("cases", "A02"), "status"] == "pending"
    later = dt.datetime(2099, 3, 1, tzinfo=local_tz())
    subs = review(tiny, future, as_of=later).submissions.set_index(["dataset", "community_id"])
    assert subs.loc[("cases", "A02"), "status"] == "missing"
    assert subs.loc[("cases", "A02"), "cue"] == "❌ 缺报"


def test_token_pins_data_and_targets(tiny: Store) -> None:
    before = review(tiny, OCTOBER)
    # The shipped defaults were saved as targets version 0 when first used, so a release
    # that changes targets_default.yaml cannot change what this token names.
    assert before.token.endswith(",_targets@0")
    assert targets.history(tiny)[0]["user"] == "system"
    doc = targets.defaults().to_document()
    doc["metrics"]["resolution_rate"]["green"] = 0.5
    doc["metrics"]["resolution_rate"]["amber"] = 0.4
    assert targets.save(tiny, targets.from_document(doc), user="admin") == 1
    resolved = "K4,A02,A02-G1,矛盾纠纷,噪音扰民,敲门队,false,2025-10-08,2025-10-30,已化解\n"
    upload(tiny, "cases", resolved, "A02", "2025-10")
    after = review(tiny, OCTOBER)
    assert after.token.endswith(",_targets@1")
    assert after.league.set_index("community_id").loc["A02", "score"] != 30.0
    again = review(tiny, OCTOBER, version=before.token)
    pd.testing.assert_frame_equal(again.league, before.league)
    pd.testing.assert_frame_equal(again.headline, before.headline)
    assert again.narrative[:-1] == before.narrative[:-1]


def test_defaults_frozen_on_first_use_survive_a_change_of_defaults(
    tiny: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = review(tiny, OCTOBER).token
    doc = targets.defaults().to_document()
    doc["metrics"]["resolution_rate"]["green"] = 0.4  # a later release's defaults
    doc["metrics"]["resolution_rate"]["amber"] = 0.3
    monkeypatch.setattr(targets, "defaults", lambda: targets.from_document(doc))
    again = review(tiny, OCTOBER, version=token)
    assert again.targets.metrics["resolution_rate"].green == (0.95, None)
    assert again.league.set_index("community_id").loc["A02", "score"] == 30.0


def test_bad_version_token_is_refused(tiny: Store) -> None:
    token = review(tiny, OCTOBER).token  # ...,cases@2,...,_targets@0
    with pytest.raises(ValueError, match="不是有效的版本标识"):
        review(tiny, OCTOBER, version="cases@x")
    with pytest.raises(ValueError, match="未知的表：nonsense"):
        review(tiny, OCTOBER, version=token + ",nonsense@1")
    with pytest.raises(ValueError, match="没有这个版本：cases@99（现有版本 -1 至 2）"):
        review(tiny, OCTOBER, version=token.replace("cases@2", "cases@99"))
    with pytest.raises(ValueError, match="_targets@5"):
        review(tiny, OCTOBER, version=token.replace("_targets@0", "_targets@5"))
    # A partial token would read the other tables at their current versions: refused.
    with pytest.raises(ValueError, match="缺少这些表：communities、grids"):
        review(tiny, OCTOBER, version="cases@1")
