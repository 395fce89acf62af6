"""需督办事项 a meeting can act on: grouped by community and kind with counts, in age bands
(30–60 days, 60–180, over 180 = 长期未解决), oldest first, cut to FOLLOW_UP_CAP items a
group with "及其他 N 项" on the page and in the PDF, every item in the XLSX.

October 2025 (period end 10-31, follow_up_days 30). Ages are 10-31 less the date:
    A01 wishes, unclaimed at 10-31
        X6 2023-03-01  975 days  (to 2024-03-01 366, to 2025-03-01 365, then 244)
        X5 2025-05-03  181       over 180: 长期未解决
        X4 2025-05-04  180       60–180 (180 itself)
        X3 2025-08-31   61       60–180
        X2 2025-09-01   60       30–60 (60 itself)
        X1 2025-09-30   31       30–60
        X7 2025-10-15   16       not listed (30 days or less)
        X8 2025-09-30, claimed 10-05: not listed
    A02 cases, open at 10-31
        C2 2024-01-10  660 days  (to 2025-01-10 366, then 294): 长期未解决
        C1 2025-06-01  152       60–180
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.periods import Period
from metrics.review import Review, capped, groups, review
from metrics.store import Store
from tests.test_review import COMMUNITIES, GRIDS, table

WISHES = """\
X1,A01,A01-G1,困难老人,生活用品,2025-09-30,,,,待认领
X2,A01,A01-G1,困难老人,生活用品,2025-09-01,,,,待认领
X3,A01,A01-G1,困难老人,生活用品,2025-08-31,,,,待认领
X4,A01,A01-G1,困难老人,生活用品,2025-05-04,,,,待认领
X5,A01,A01-G1,困难老人,生活用品,2025-05-03,,,,待认领
X6,A01,A01-G1,困难老人,生活用品,2023-03-01,,,,待认领
X7,A01,A01-G1,困难老人,生活用品,2025-10-15,,,,待认领
X8,A01,A01-G1,困难老人,生活用品,2025-09-30,2025-10-05,党员,,已认领
"""
CASES = """\
C1,A02,A02-G1,急难愁盼,路灯维修,网格走访,false,2025-06-01,,办理中
C2,A02,A02-G1,急难愁盼,供暖供水,民情督办单,true,2024-01-10,,办理中
"""


@pytest.fixture(scope="module")
def october(tmp_path_factory: pytest.TempPathFactory) -> Review:
    store = Store(tmp_path_factory.mktemp("followups") / "data")
    for dataset, text in (
        ("communities", COMMUNITIES),
        ("grids", GRIDS),
        ("wishes", WISHES),
        ("cases", CASES),
    ):
        store.replace_all(dataset, table(dataset, text), meta={"user": "admin"})
    return review(store, Period.parse("2025-10"))


def items(data: Review, community: str, kind: str) -> list[tuple[str, int, str, bool]]:
    f = data.follow_ups
    rows = f[(f["community_id"] == community) & (f["kind"] == kind)]
    return list(zip(rows["item"], rows["age_days"], rows["band"], rows["long_open"], strict=True))


def test_items_come_in_age_bands_oldest_first(october: Review) -> None:
    assert items(october, "A01", "wish") == [
        ("X6", 975, "b3", True),
        ("X5", 181, "b3", True),
        ("X4", 180, "b2", False),
        ("X3", 61, "b2", False),
        ("X2", 60, "b1", False),
        ("X1", 31, "b1", False),
    ]
    assert items(october, "A02", "case") == [("C2", 660, "b3", True), ("C1", 152, "b2", False)]
    f = october.follow_ups.set_index("item")
    assert f.loc["X5", "band_label"] == "180天以上（长期未解决）"
    assert f.loc["X4", "band_label"] == "60–180天"
    assert f.loc["X2", "band_label"] == "30–60天"
    # 长期未解决 is said in the status and coloured red; the others amber.
    assert f.loc["X5", "cue"] == "❌ 超期未认领·长期未解决"
    assert f.loc["X5", "status"] == "red"
    assert (f.loc["X4", "cue"], f.loc["X4", "status"]) == ("⏳ 超期未认领", "amber")
    assert f.loc["C2", "reason"] == "超期未办结·长期未解决"


def test_grouped_by_community_and_kind_with_counts(october: Review) -> None:
    summary = groups(october.follow_ups).set_index(["community_id", "kind"])
    wishes = summary.loc[("A01", "wish")]
    # X1 X2 | X3 X4 | X5 X6
    assert (wishes["count"], wishes["b1"], wishes["b2"], wishes["b3"]) == (6, 2, 2, 2)
    assert wishes["long_open"] == 2
    cases = summary.loc[("A02", "case")]
    assert (cases["count"], cases["b1"], cases["b2"], cases["b3"]) == (2, 0, 1, 1)
    # A metric item has no age: no bands, one "—" on the page.
    assert pd.isna(summary.loc[("A01", "metric"), "b1"])
    # The community with most items first. Every scored metric of October is short of
    # target in all three (5 each; 缺报 where nothing of October came: A01's and A02's
    # cases, A02's and A03's wishes), so: A01 6 wishes + 5 = 11, A02 2 cases + 5 = 7,
    # A03 5.
    counts = october.follow_ups["community_id"].value_counts().to_dict()
    assert counts == {"A01": 11, "A02": 7, "A03": 5}
    assert list(dict.fromkeys(october.follow_ups["community_id"])) == ["A01", "A02", "A03"]


def test_each_group_is_cut_to_the_oldest_few_with_the_rest_counted(october: Review) -> None:
    shown = capped(october.follow_ups, 5)
    wishes = shown[(shown["community_id"] == "A01") & (shown["kind"] == "wish")]
    # Six wishes, five shown (the oldest), then one line for the sixth (X1).
    assert list(wishes["item"]) == ["X6", "X5", "X4", "X3", "X2", "及其他 1 项"]
    assert list(wishes["more"]) == [0, 0, 0, 0, 0, 1]
    cases = shown[(shown["community_id"] == "A02") & (shown["kind"] == "case")]
    assert list(cases["item"]) == ["C2", "C1"]  # two: nothing left out
    assert capped(october.follow_ups, 2, "en").query("more > 0")["item"].tolist()[0] == (
        "and 4 more"
    )
    # The narrative counts 长期未解决: X5, X6 and C2.
    assert any(s.endswith("其中长期未解决（超过180天）3项。") for s in october.narrative)
