"""Early warnings (issue 14, point 3): each rule on a real store (`init`, then clerks'
uploads through ingest) read on 10 December 2025 (GOVDASH_NOW), values worked out by hand.

On 10 December the latest closed month is November (its ledgers were due 5 December) and
the latest closed quarter 2025Q3 (Q4's ratings are due 5 January). The city:

    A01  cases K1 (10-10, resolved 10-12), K2 (10-15, open), K3 (11-05, resolved 11-06),
         K4 (11-10, open); property ratings of 2025Q3: 宁安物业 春华苑 2★, 金域物业 夏华苑
         1★, 塞上物业 秋华苑 3★, and of 2025Q2: 宁安物业 冬华苑 2★
    A02  cases per grid and month, all resolved the day they came (their history: May to
         October 2025, six months the community sent):
             G1  May 1, Jun 5, Jul 2, Aug 8, Sep 3, Oct 9;  November 12
             G2  May 0, Jun 2, Jul 1, Aug 1, Sep 2, Oct 1;  November 5
    A03  cases: G1 1 a month from June to October (five months), November 9, all resolved
         the same day; wishes, none claimed: W1 11-09, W2 11-10, W3 10-10, W4 10-11
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from app_helpers import AUTH
from streamlit.testing.v1 import AppTest

from metrics import access, alerts, ingest
from metrics.__main__ import main
from metrics.access import Principal
from metrics.i18n import t
from metrics.periods import add_months
from metrics.schemas import DATASETS
from metrics.store import REPO_ROOT, Store

NOW = "2025-12-10T10:00:00"
COMMUNITIES = (
    "community_id,name,street,households,residents,community_workers,"
    + ("grid_party_branches,party_groups,party_member_households\n")
    + "".join(f"{c},{c}社区,一街道,400,10000,20,1,1,1\n" for c in ("A01", "A02", "A03"))
)
GRIDS = "grid_id,community_id,name,households,is_micro\n" + "".join(
    f"{g},{g[:3]},{g}网格,400,false\n" for g in ("A01-G1", "A02-G1", "A02-G2", "A03-G1")
)


def case(cid: str, grid: str, received: str, resolved: str = "") -> str:
    status = "已化解" if resolved else "办理中"
    return (
        f"{cid},{grid[:3]},{grid},矛盾纠纷,邻里纠纷,板凳会,false,{received},{resolved},{status},\n"
    )


def monthly(grid: str, counts: list[int], first: dt.date) -> str:
    """`counts[i]` cases in the month `first` + i, each resolved the day it came."""
    rows = []
    for i, n in enumerate(counts):
        month = add_months(first, i)
        for k in range(n):
            day = month.replace(day=1 + k).isoformat()
            rows.append(case(f"{grid}-{month:%Y%m}-{k}", grid, day, day))
    return "".join(rows)


CASES = {
    "A01": case("K1", "A01-G1", "2025-10-10", "2025-10-12")
    + case("K2", "A01-G1", "2025-10-15")
    + case("K3", "A01-G1", "2025-11-05", "2025-11-06")
    + case("K4", "A01-G1", "2025-11-10"),
    "A02": monthly("A02-G1", [1, 5, 2, 8, 3, 9, 12], dt.date(2025, 5, 1))
    + monthly("A02-G2", [0, 2, 1, 1, 2, 1, 5], dt.date(2025, 5, 1)),
    "A03": monthly("A03-G1", [1, 1, 1, 1, 1, 9], dt.date(2025, 6, 1)),
}
UNCLAIMED = {"W1": "2025-11-09", "W2": "2025-11-10", "W3": "2025-10-10", "W4": "2025-10-11"}
WISHES = "".join(
    f"{w},A03,A03-G1,困难老人,生活用品,{day},,,,待认领\n" for w, day in UNCLAIMED.items()
)
RATING = (
    "{q},A01,{compound},{company},"
    + "{score},{score},{score},{score},{score},{score}.0,{stars},无\n"
)
SCORES = {1: 50, 2: 65, 3: 75}  # total scores in the bands of 1, 2 and 3 stars
RATINGS = "".join(
    RATING.format(q=q, compound=compound, company=company, stars=stars, score=SCORES[stars])
    for q, compound, company, stars in [
        ("2025Q3", "春华苑", "宁安物业", 2),
        ("2025Q3", "夏华苑", "金域物业", 1),
        ("2025Q3", "秋华苑", "塞上物业", 3),
        ("2025Q2", "冬华苑", "宁安物业", 2),
    ]
)


def upload(store: Store, dataset: str, community: str, rows: str) -> None:
    data = (",".join(DATASETS[dataset].field_names) + "\n" + rows).encode()
    checked = ingest.validate(
        data, "upload.csv", dataset, community, store, today=dt.date(2025, 12, 10)
    )
    assert not checked.problems, [p.key for p in checked.problems]
    ingest.commit(store, checked, user=f"{community}-clerk")


def build_city(root: Path) -> Store:
    """The real store above: `init` with the registers, then the clerks' uploads, the
    clock on 10 December."""
    with pytest.MonkeyPatch.context() as clock:
        clock.setenv("GOVDASH_NOW", NOW)
        return _build(root)


def _build(root: Path) -> Store:
    root.mkdir(parents=True, exist_ok=True)
    (root / "communities.csv").write_text(COMMUNITIES, encoding="utf-8")
    (root / "grids.csv").write_text(GRIDS, encoding="utf-8")
    files = ["--communities", str(root / "communities.csv"), "--grids", str(root / "grids.csv")]
    assert main(["--data-dir", str(root / "data"), "init", *files]) == 0
    store = Store(root / "data")
    for community, rows in CASES.items():
        upload(store, "cases", community, rows)
    upload(store, "wishes", "A03", WISHES)
    upload(store, "property_ratings", "A01", RATINGS)
    return store


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_city(tmp_path_factory.mktemp("alerts"))


@pytest.fixture
def found(city: Store, monkeypatch: pytest.MonkeyPatch) -> list[alerts.Warning]:
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    return alerts.evaluate(city)


def of(found: list[alerts.Warning], rule: str) -> dict[tuple[str, ...], str]:
    """(community, grid or record) -> level, of one rule's warnings."""
    return {(w.community_id, w.grid_id or w.record or ""): w.level for w in found if w.rule == rule}


def test_a_target_missed_two_closed_months_running(found: list[alerts.Warning]) -> None:
    # A01's resolution rate: October K1 of K1, K2 resolved by 10-31 = 1/2 = 50%; November
    # K3 of K3, K4 = 1/2 = 50%: below 90% (red) both months. A03's fulfilment rate: October
    # W3, W4 (over 30 days on 12-10) unfulfilled 0/2 = 0%; November W1 (31 days) 0/1 = 0%
    # (W2, 30 days, not yet due): red both months. A02: every case resolved, 100%.
    # A01's overdue cases: 0 at 10-31 (K2 16 days old), 1 at 11-30 (K2, 46 days): amber
    # in November, never red twice; A03's unclaimed wishes over 30 days: 0 at 10-31,
    # 2 at 11-30 (W3, W4): amber.
    assert of(found, "target_missed") == {
        ("A01", "resolution_rate"): "red",
        ("A03", "fulfillment_rate"): "red",
    }
    a01 = next(w for w in found if w.rule == "target_missed" and w.community_id == "A01")
    assert a01.period == "2025-11"
    assert a01.reason("zh") == (
        "A01社区“化解率”连续两个月未达标：2025年10月 50.0%，2025年11月 50.0%（目标 ≥95.0%）。"
    )
    assert a01.link == "/cases?community=A01&period=2025-11"


def test_the_grid_baseline_is_its_median_plus_3_mad() -> None:
    # G1's six months: sorted 1 2 3 5 8 9, median (3+5)/2 = 4; deviations 3 1 2 4 1 5,
    # sorted 1 1 2 3 4 5, MAD (2+3)/2 = 2.5; threshold 4 + 3 × 2.5 = 11.5.
    assert alerts.baseline([1, 5, 2, 8, 3, 9]) == (4, 2.5, 11.5)
    # G2: sorted 0 1 1 1 2 2, median 1; deviations 1 1 0 0 1 0, MAD (0+1)/2 = 0.5, taken as
    # 1 (the floor): threshold 1 + 3 × 1 = 4.
    assert alerts.baseline([0, 2, 1, 1, 2, 1]) == (1, 0.5, 4)
    # Five months are too few.
    assert alerts.baseline([1, 1, 1, 1, 1]) is None


def test_a_grid_above_its_own_baseline(found: list[alerts.Warning]) -> None:
    # A02-G1: 12 in November > 11.5; A02-G2: 5 > 4 (its May counts as 0: A02 sent cases
    # that month). A03-G1: 9 in November, but only five months of history (June-October).
    # A01-G1: two months of data.
    assert of(found, "grid_cases") == {("A02", "A02-G1"): "amber", ("A02", "A02-G2"): "amber"}
    g1 = next(w for w in found if w.grid_id == "A02-G1")
    assert g1.detail == {"cases": 12, "median": 4, "mad": 2.5, "threshold": 11.5}
    assert "11.5" in g1.reason("zh") and "12" in g1.reason("zh")
    assert g1.link == "/cases?community=A02&grid=A02-G1&period=2025-11"


def test_a_wish_unclaimed_over_30_days(found: list[alerts.Warning]) -> None:
    # On 12-10: W1 (11-09) 21 + 10 = 31 days > 30: amber; W2 (11-10) 30 days: not over;
    # W3 (10-10) 21 + 30 + 10 = 61 > 60: red; W4 (10-11) 60 days: amber.
    assert {w.record: w.level for w in found if w.rule == "wish_unclaimed"} == {
        "W1": "amber",
        "W3": "red",
        "W4": "amber",
    }
    w3 = next(w for w in found if w.record == "W3")
    assert w3.reason("zh") == "A03社区心愿 W3（2025-10-10 登记）已 61 天未认领。"
    assert w3.link == "/wishes?community=A03&grid=A03-G1&period=2025-10"


def test_a_ledger_not_in_by_its_deadline(found: list[alerts.Warning]) -> None:
    # November's ledgers were due 5 December. Cases: all three sent November rows.
    # Wishes: only A03 (W1, W2). Employment: nobody. November ends no quarter.
    assert {(w.community_id, w.record) for w in found if w.rule == "ledger_missing"} == {
        ("A01", "wishes"),
        ("A02", "wishes"),
        ("A01", "employment"),
        ("A02", "employment"),
        ("A03", "employment"),
    }
    assert {w.level for w in found if w.rule == "ledger_missing"} == {"red"}


def test_a_property_company_at_two_stars_or_below(found: list[alerts.Warning]) -> None:
    # 2025Q3: 宁安物业 2★ amber, 金域物业 1★ red, 塞上物业 3★ none; 2025Q2's 2★ is not
    # the latest closed quarter.
    assert of(found, "property_stars") == {
        ("A01", "宁安物业/春华苑"): "amber",
        ("A01", "金域物业/夏华苑"): "red",
    }


def test_red_first_ids_stable_and_a_clerk_sees_their_own(
    city: Store, found: list[alerts.Warning], monkeypatch: pytest.MonkeyPatch
) -> None:
    levels = [w.level for w in found]
    assert levels == sorted(levels, key=["red", "amber"].index)
    # 2 + 2 + 3 + 5 + 2 warnings; the same ones (ids) when evaluated again.
    assert len(found) == 14
    assert [w.id for w in alerts.evaluate(city)] == [w.id for w in found]
    clerk = Principal("a02@x.cn", "clerk", "A02")
    token = city.version().token
    seen = access.visible_warnings(access.all_warnings(city, token), clerk)
    assert {w.community_id for w in seen} == {"A02"}
    assert len(seen) == 4  # two grids, two ledgers
    # A day later nothing changes but the wishes' ages; a month later (6 January) December
    # is the latest closed month and November's warnings are gone.
    monkeypatch.setenv("GOVDASH_NOW", "2026-01-06T09:00:00")
    later = alerts.evaluate(city)
    assert not [w for w in later if w.rule == "grid_cases"]


# -- the 预警 page and the overview's count, signed in ------------------------------------------
LEADER, CLERK = "leader@qtx.gov.cn", "clerk@qtx.gov.cn"


@pytest.fixture
def shown(city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A copy of the city as the app's store, with a leader and A02's clerk on the list."""
    shutil.copytree(city.root, tmp_path / "data")
    store = Store(tmp_path / "data")
    users = [
        {"user": LEADER, "role": "leader"},
        {"user": CLERK, "role": "clerk", "community_id": "A02"},
    ]
    access.save_roles(store, {"users": users}, Principal("admin@qtx.gov.cn", "admin"))
    monkeypatch.setenv("GOVDASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GOVDASH_NOW", NOW)
    monkeypatch.delenv("GOVDASH_LOCAL_MODE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield store
    st.cache_resource.clear()
    st.cache_data.clear()


def signed_in(page: str, user: str) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": user, "email_verified": True, "sub": user, "iat": 1}
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_warnings_page_red_first_and_a_clerks_own(shown: Store) -> None:
    at = signed_in("warnings", LEADER)
    assert at.title[0].value == "预警"
    # Red: 2 targets missed, W3, 5 ledgers, 金域物业 1★ = 9; amber: 2 grids, W1, W4,
    # 宁安物业 2★ = 5.
    assert any("当前预警：红色 9 条，黄色 5 条" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert len(table) == 14
    assert list(table["level"]) == ["🔴 红色预警"] * 9 + ["🟠 黄色预警"] * 5
    assert table["link"].iloc[0] == "/cases?community=A01&period=2025-11"
    clerk = signed_in("warnings", CLERK).dataframe[0].value
    assert set(clerk["community"]) == {"A02社区"} and len(clerk) == 4
    overview = signed_in("overview", CLERK)
    assert any("当前预警：红色 2 条，黄色 2 条" in m.value for m in overview.markdown)


def test_a_warning_becomes_a_tracked_item_in_one_form(shown: Store) -> None:
    at = signed_in("warnings", LEADER)
    # The first warning (red first): A01's resolution rate, prefilled into the form.
    assert at.text_input[0].value.startswith("A01社区“化解率”连续两个月未达标")
    owner = next(i for i in at.text_input if i.label == t("track_col_owner", "zh"))
    owner.input("北苑社区书记")
    at.button[[b.label for b in at.button].index("交办")].click().run()
    assert not at.exception and not at.error
    leader = Principal(LEADER, "leader")
    (item,) = access.tracked_items(shown, leader)
    assert (item.community_id, item.title) == ("A01", at.text_input[0].value)
    assert item.owner == "北苑社区书记"
    # A clerk gets no form (only leaders and administrators assign items).
    clerk = signed_in("warnings", CLERK)
    assert "交办" not in [b.label for b in clerk.button]
