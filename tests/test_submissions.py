"""Submission status (按时 / 逾期 / 缺报 / 未到期) for every community × ledger × period, by
the deadline rule, from uploads made the way clerks make them (metrics.ingest: validate,
then commit, with or without a named period); and what it does to the league.

Four communities, October 2025 (deadline 2025-11-05, end of day, Beijing time). Delta
stamps each commit with the wall clock, so `landed` says when each one is taken to have
come in (a test seam on Store.history, nothing else changes).

    A01  cases K11 (10-03 → 10-05) and wish W11 (10-02, fulfilled 10-06): everything 达标
         cases in at 11-05 23:59:59 (the deadline day itself: 按时), no period named;
         a correction on 11-20 (still 按时: the first commit decides); wishes 11-01
    A02  the same figures (K21, W21), both ledgers in on 11-07, no period named (逾期):
         its figures count, it is not 缺报
    A03  poor figures, in on 11-04 (按时): K31 open since 10-02 (rate 0/1); K32, K33, K34
         open since August (3 overdue at 10-31); W31 unclaimed since 10-03 (fulfilled 0/1);
         W32, W33, W34 unclaimed since August (3 over 30 days) → every metric 未达标
    A04  sends nothing
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metrics import ingest
from metrics.periods import Period, local_tz
from metrics.review import review
from metrics.schemas import DATASETS
from metrics.store import Store
from tests.test_review import table

COMMUNITIES = "".join(
    f"{c},{c}社区,一街道,400,10000,20,1,1,1\n" for c in ("A01", "A02", "A03", "A04")
)
GRIDS = "".join(f"{c}-G1,{c},第一网格,400,false\n" for c in ("A01", "A02", "A03", "A04"))
CASES = {
    "A01": "K11,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-10-03,2025-10-05,已化解,\n",
    "A02": "K21,A02,A02-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-10-03,2025-10-05,已化解,\n",
    "A03": "K31,A03,A03-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-10-02,,办理中,\n"
    + "".join(
        f"K3{i},A03,A03-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-08-0{i},,办理中,\n"
        for i in (2, 3, 4)
    ),
}
WISHES = {
    "A01": "W11,A01,A01-G1,困难老人,生活用品,2025-10-02,2025-10-03,党员,2025-10-06,已实现\n",
    "A02": "W21,A02,A02-G1,困难老人,生活用品,2025-10-02,2025-10-03,党员,2025-10-06,已实现\n",
    "A03": "W31,A03,A03-G1,困难老人,生活用品,2025-10-03,,,,待认领\n"
    + "".join(f"W3{i},A03,A03-G1,困难老人,生活用品,2025-08-0{i},,,,待认领\n" for i in (2, 3, 4)),
}
OCTOBER = Period.parse("2025-10")
BEFORE_MEETING = dt.datetime(2025, 12, 1, 9, 0, tzinfo=local_tz())


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=local_tz())


Landed = dict[tuple[str, int], dt.datetime]


def patch_history(monkeypatch: pytest.MonkeyPatch, times: Landed) -> None:
    """Store.history with each commit's time as `times` says it landed."""
    original: Callable[..., list[dict[str, Any]]] = Store.history

    def history(self: Store, dataset: str, *args: Any, **kw: Any) -> list[dict[str, Any]]:
        rows = original(self, dataset, *args, **kw)
        return [
            {**r, "committed_at": times.get((dataset, r["version"]), r["committed_at"])}
            for r in rows
        ]

    monkeypatch.setattr(Store, "history", history)


def send(
    store: Store,
    landed: Landed,
    dataset: str,
    community: str,
    rows: str,
    when: str,
    period: str | None = None,
) -> int:
    """A clerk's upload through ingest (validate, then commit), landing at `when`."""
    data = (",".join(DATASETS[dataset].field_names) + "\n" + rows).encode()
    named = Period.parse(period) if period else None
    checked = ingest.validate(
        data, "upload.csv", dataset, community, store, period=named, today=dt.date(2025, 11, 30)
    )
    assert not checked.problems, [p.key for p in checked.problems]
    version = ingest.commit(store, checked, user=f"{community}-clerk").version
    landed[(dataset, version)] = local(when)
    return version


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Landed]:
    """The city's store, built once (the uploads take a while), and when each commit landed."""
    store = Store(tmp_path_factory.mktemp("city") / "data")
    times: Landed = {}
    store.replace_all("communities", table("communities", COMMUNITIES), meta={"user": "admin"})
    store.replace_all("grids", table("grids", GRIDS), meta={"user": "admin"})
    send(store, times, "cases", "A01", CASES["A01"], "2025-11-05T23:59:59")
    send(store, times, "wishes", "A01", WISHES["A01"], "2025-11-01T10:00")
    send(store, times, "cases", "A02", CASES["A02"], "2025-11-07T10:00")
    send(store, times, "wishes", "A02", WISHES["A02"], "2025-11-07T10:05")
    send(store, times, "cases", "A03", CASES["A03"], "2025-11-04T16:00", "2025-10")
    send(store, times, "wishes", "A03", WISHES["A03"], "2025-11-04T16:10", "2025-10")
    # A01 corrects a note after the deadline: its October ledger stays 按时.
    fixed = CASES["A01"].replace("已化解,\n", "已化解,补充说明\n")
    send(store, times, "cases", "A01", fixed, "2025-11-20T09:00")
    return store.root, times


@pytest.fixture
def landed(built: tuple[Path, Landed], monkeypatch: pytest.MonkeyPatch) -> Landed:
    times = dict(built[1])
    patch_history(monkeypatch, times)
    return times


@pytest.fixture
def city(built: tuple[Path, Landed], landed: Landed, tmp_path: Path) -> Store:
    """A copy of the city's store for one test, free to write to."""
    shutil.copytree(built[0], tmp_path / "data")
    return Store(tmp_path / "data")


def statuses(store: Store, period: Period, as_of: dt.datetime) -> dict[tuple[str, str], str]:
    subs = review(store, period, as_of=as_of).submissions
    return {(r.dataset, r.community_id): r.status for r in subs.itertuples()}


def test_every_community_and_ledger_by_the_deadline(city: Store) -> None:
    found = statuses(city, OCTOBER, BEFORE_MEETING)
    assert {k: v for k, v in found.items() if k[0] != "employment"} == {
        ("cases", "A01"): "on_time",  # 11-05 23:59:59: the deadline day itself
        ("cases", "A02"): "late",  # 11-07, no period named: 逾期, not 缺报
        ("cases", "A03"): "on_time",  # 11-04
        ("cases", "A04"): "missing",
        ("wishes", "A01"): "on_time",  # 11-01
        ("wishes", "A02"): "late",  # 11-07
        ("wishes", "A03"): "on_time",
        ("wishes", "A04"): "missing",
    }
    # Nobody sent an employment report: 缺报 for all four, never a blanket 按时.
    assert {v for k, v in found.items() if k[0] == "employment"} == {"missing"}
    subs = review(city, OCTOBER, as_of=BEFORE_MEETING).submissions
    a01 = subs[(subs["dataset"] == "cases") & (subs["community_id"] == "A01")].iloc[0]
    # The first commit that carried October: its local time, not the correction's.
    assert a01["submitted_at"] == dt.datetime(2025, 11, 5, 23, 59, 59)
    narrative = review(city, OCTOBER, as_of=BEFORE_MEETING).narrative
    # cases 2 on time (A01 A03), 1 late (A02), 1 missing (A04); wishes the same; employment
    # 4 missing: on time 4, late 2, missing 6.
    assert narrative[-1] == "2025年10月台账报送：按时4项，逾期2项，缺报6项，未到期0项。"


def test_a_late_ledger_counts_and_one_never_sent_ranks_last(city: Store) -> None:
    league = review(city, OCTOBER, as_of=BEFORE_MEETING).league.set_index("community_id")
    # A02's ledgers came in late without a named period: its figures count (rate 1/1,
    # fulfilment 1/1), it is not 缺报, and it scores like A01: 100.
    assert league.loc["A02", "resolution_rate"] == 1.0
    assert league.loc["A02", "missing_ledgers"] == ["就业服务月报"]
    # A03: rate 0/1 未达标 0×30, overdue 3 (K32-K34 open since August) 未达标 0×20,
    # median (nothing resolved) left out, fulfilment 0/1 未达标 0×20, unclaimed 3 未达标
    # 0×15 → 0. A04 sent nothing: every metric 缺报 → 0 as well. Equal scores, but a
    # community that sent nothing never outranks, nor shares a place with, one that did.
    assert league["score"].to_dict() == {"A01": 100.0, "A02": 100.0, "A03": 0.0, "A04": 0.0}
    assert league["rank"].to_dict() == {"A01": 1, "A02": 1, "A03": 3, "A04": 4}
    assert league["tied"].to_dict() == {"A01": True, "A02": True, "A03": False, "A04": False}
    assert league["sent_nothing"].to_dict() == {
        "A01": False,
        "A02": False,
        "A03": False,
        "A04": True,
    }
    assert list(league.index) == ["A01", "A02", "A03", "A04"]


def test_a_month_before_its_deadline_is_not_yet_due(city: Store, landed: Landed) -> None:
    november = Period.parse("2025-11")
    k12 = "K12,A01,A01-G1,矛盾纠纷,邻里纠纷,板凳会,false,2025-11-03,2025-11-04,已化解,\n"
    send(city, landed, "cases", "A01", k12, "2025-12-02T09:00")
    # 3 December: November's ledgers are due on the 5th. A01's cases are in (按时), the
    # rest 未到期, none 缺报.
    early = statuses(city, november, local("2025-12-03T12:00"))
    assert early[("cases", "A01")] == "on_time"
    assert early[("cases", "A02")] == "pending"
    assert "missing" not in early.values()
    # 6 December 00:00: the deadline has passed; what did not come is 缺报.
    late = statuses(city, november, local("2025-12-06T00:00"))
    assert late[("cases", "A02")] == "missing"
    assert late[("cases", "A01")] == "on_time"


def test_a_commit_undone_by_a_rollback_sent_nothing(city: Store, landed: Landed) -> None:
    version = max(v for (d, v) in landed if d == "wishes")  # A03's wishes
    ingest.rollback(city, "wishes", version - 1, user="admin")
    found = statuses(city, OCTOBER, BEFORE_MEETING)
    assert found[("wishes", "A03")] == "missing"
    assert found[("wishes", "A01")] == "on_time"


def test_the_meeting_page_writes_ties_and_gaps_as_every_ranking_does(
    city: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GOVDASH_DATA_DIR", str(city.root))
    monkeypatch.setenv("GOVDASH_LOCAL_MODE", "1")
    monkeypatch.setenv("GOVDASH_NOW", "2025-12-01T09:00")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).parent.parent / "app.py"), default_timeout=90)
    at.switch_page("pages/meeting.py")
    at.query_params["period"] = "2025-10"
    at.run()
    assert not at.exception and not at.error
    league = at.dataframe[0].value.set_index("社区")
    # A01 and A02 share first place (1=), A03 is 3rd, A04 (sent nothing) 4th: "3=" style.
    assert league["名次"].tolist() == ["1=", "1=", "3", "4"]
    # A03 resolved nothing: its median has no value, one "—" (no status mark beside it);
    # A04's metrics are 缺报.
    assert league.loc["A03社区", "办结天数中位数"] == "—"
    assert league.loc["A04社区", "办结天数中位数"] == "❌\u00a0缺报"
    st.cache_data.clear()
    st.cache_resource.clear()
